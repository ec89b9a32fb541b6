/**
 * Builders for GitHub API payloads, starting from the examples in GitHub's own OpenAPI
 * description so every field a real answer has is there.
 */
import { exampleResponse } from './openapi.js';

type Json = Record<string, unknown>;

const first = (method: string, template: string, status = 200): Json => {
  const v = exampleResponse(method, template, status);
  return (Array.isArray(v) ? v[0] : v) as Json;
};

export function simpleUser(login: string, id: number, type = 'User'): Json {
  const base = first('GET', '/orgs/{org}/teams/{team_slug}/members');
  return {
    ...base,
    login,
    id,
    type,
    node_id: `U_${id}`,
    url: `https://api.github.com/users/${login}`,
    html_url: `https://github.com/${login}`,
  };
}

export const publicKey = (id: number, key: string): Json => ({ id, key });

export function teamMembership(role: 'member' | 'maintainer', state: 'active' | 'pending'): Json {
  return { ...first('GET', '/orgs/{org}/teams/{team_slug}/memberships/{username}'), role, state };
}

export function invitation(id: number, invitee: { login: string; id: number }, repo: string): Json {
  const base = first('GET', '/repos/{owner}/{repo}/invitations');
  const repository = base.repository as Json;
  return {
    ...base,
    id,
    invitee: simpleUser(invitee.login, invitee.id),
    repository: { ...repository, full_name: repo, name: repo.split('/')[1] },
    permissions: 'write',
  };
}

export function collaboratorPermission(permission: string, role_name: string, user: Json): Json {
  const base = first('GET', '/repos/{owner}/{repo}/collaborators/{username}/permission');
  return {
    ...base,
    permission,
    role_name,
    user: { ...(base.user as Json), login: user.login, id: user.id, role_name },
  };
}

export function collaborator(login: string, id: number, role_name: string): Json {
  return {
    ...first('GET', '/repos/{owner}/{repo}/collaborators'),
    ...simpleUser(login, id),
    role_name,
  };
}

export function pullRequest(o: {
  number: number;
  head_sha: string;
  author: { login: string; id: number; type?: string };
  state?: 'open' | 'closed';
  merged?: boolean;
  merge_commit_sha?: string | null;
  merged_at?: string | null;
  head_ref?: string;
}): Json {
  const base = first('GET', '/repos/{owner}/{repo}/pulls/{pull_number}');
  const head = base.head as Json;
  const baseRef = base.base as Json;
  return {
    ...base,
    number: o.number,
    state: o.state ?? 'open',
    merged: o.merged ?? false,
    merge_commit_sha: o.merge_commit_sha ?? null,
    merged_at: o.merged_at ?? null,
    user: simpleUser(o.author.login, o.author.id, o.author.type),
    head: { ...head, sha: o.head_sha, ...(o.head_ref ? { ref: o.head_ref } : {}) },
    base: { ...baseRef, ref: 'main' },
    requested_teams: [],
  };
}

export function review(o: {
  id: number;
  user: { login: string; id: number; type?: string } | null;
  state: string;
  commit_id: string;
  submitted_at?: string;
}): Json {
  return {
    ...first('GET', '/repos/{owner}/{repo}/pulls/{pull_number}/reviews'),
    id: o.id,
    user: o.user ? simpleUser(o.user.login, o.user.id, o.user.type) : null,
    state: o.state,
    commit_id: o.commit_id,
    submitted_at: o.submitted_at ?? '2025-01-02T03:04:05Z',
  };
}

export const prFile = (filename: string, status = 'added'): Json => ({
  ...first('GET', '/repos/{owner}/{repo}/pulls/{pull_number}/files'),
  filename,
  status,
});

/** `GET /repos/{o}/{r}/compare/{basehead}`: the head's commits and the files they changed. */
export function comparison(
  files: Json[],
  commits: {
    sha: string;
    author: { login: string; id: number; type?: string } | null;
    verified: boolean;
    message?: string;
  }[],
): Json {
  const base = first('GET', '/repos/{owner}/{repo}/compare/{basehead}');
  const c0 = (base.commits as Json[])[0]!;
  return {
    ...base,
    ahead_by: commits.length,
    behind_by: 0,
    total_commits: commits.length,
    files,
    commits: commits.map((c) => ({
      ...c0,
      sha: c.sha,
      author: c.author ? simpleUser(c.author.login, c.author.id, c.author.type) : null,
      committer: c.author ? simpleUser(c.author.login, c.author.id, c.author.type) : null,
      commit: {
        ...(c0.commit as Json),
        message: c.message ?? 'request',
        verification: {
          verified: c.verified,
          reason: c.verified ? 'valid' : 'unsigned',
          signature: null,
          payload: null,
          verified_at: null,
        },
      },
    })),
  };
}

/** `GET /repos/{o}/{r}/issues/{n}`: an issue and who opened it. */
export function issue(n: number, author: { login: string; id: number; type?: string }): Json {
  const { pull_request: _pr, ...base } = first(
    'GET',
    '/repos/{owner}/{repo}/issues/{issue_number}',
  );
  return {
    ...base,
    number: n,
    state: 'open',
    user: simpleUser(author.login, author.id, author.type),
  };
}

/** `GET /user/{account_id}`: the account as it is called now. */
export function account(login: string, id: number): Json {
  return { ...first('GET', '/user/{account_id}'), login, id };
}
