import type { Octokit } from '@octokit/rest';
import { GitHubApiError } from '../core/errors.js';
import { LOGIN_PATTERN, teamKey, type Memberships } from '../core/identity.js';
import type { Review } from '../core/review.js';
import type {
  AddCollaboratorResult,
  CheckRunInput,
  Comparison,
  Collaborator,
  Dated,
  DirectoryEntry,
  Invitation,
  IssueComment,
  IssueInfo,
  MembershipCheck,
  MergeMethod,
  MergeResult,
  PullRequestFile,
  PullRequestInfo,
  RepoFile,
  RepoPermission,
  TeamMembershipInfo,
  TeamRole,
  AppGitHub,
} from '../core/ports.js';
import { toRepoPermission } from '../core/permission.js';
import { redactTokens } from '../core/redact.js';

/**
 * What the client needs from an Octokit. Ours (`createOctokit`) and Probot's `context.octokit`
 * both fit; callers never see Octokit through this class.
 */
export type OctokitLike = Pick<Octokit, 'request' | 'paginate'>;

export interface RepoRef {
  owner: string;
  repo: string;
}

export type {
  AddCollaboratorResult,
  CheckRunInput,
  Comparison,
  CheckRunState,
  Collaborator,
  Dated,
  DirectoryEntry,
  Invitation,
  IssueComment,
  IssueInfo,
  MembershipCheck,
  MergeMethod,
  MergeResult,
  PullRequestFile,
  PullRequestInfo,
  RepoFile,
  RepoPermission,
  TeamMembershipInfo,
  TeamRole,
} from '../core/ports.js';
export { REPO_PERMISSIONS, permissionRank, toRepoPermission } from '../core/permission.js';

/** An error the caller may act on (conflict, not found...): status, or undefined. */
export const errorStatus = (e: unknown): number | undefined =>
  e instanceof GitHubApiError ? e.status : undefined;

export { redactTokens };

const statusOf = (e: unknown): number | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { status?: unknown }).status === 'number'
    ? (e as { status: number }).status
    : undefined;

const isNotFound = (e: unknown): boolean => statusOf(e) === 404;

function splitTeam(team: string): { org: string; team_slug: string } {
  const [org, team_slug, ...rest] = team.split('/');
  if (!org || !team_slug || rest.length > 0) {
    throw new GitHubApiError(`not a team (expected org/slug): ${JSON.stringify(team)}`);
  }
  return { org, team_slug };
}

function splitRepo(fullName: string): RepoRef {
  const [owner, repo, ...rest] = fullName.split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new GitHubApiError(`not a repository (expected owner/name): ${JSON.stringify(fullName)}`);
  }
  return { owner, repo };
}

/** The installation of the app on `repo`, asked with the app's own (JWT) client. */
export async function installationIdFor(appOctokit: OctokitLike, repo: RepoRef): Promise<number> {
  try {
    const { data } = await appOctokit.request('GET /repos/{owner}/{repo}/installation', {
      ...repo,
    });
    return data.id;
  } catch (e) {
    throw new GitHubApiError(
      redactTokens(
        `GitHub API: find the app's installation on ${repo.owner}/${repo.repo} failed${statusOf(e) ? ` (HTTP ${statusOf(e)})` : ''}`,
      ),
      statusOf(e),
    );
  }
}

/**
 * The GitHub API in gatepass's terms (release-please's `Scm`): domain types in and out, every
 * list fully paginated, every failure a `GitHubApiError`. Add a method per need; keep Octokit
 * types inside this file.
 */
/** A pull request as GitHub describes it: `GET …/pulls/{n}`, or a delivery's `pull_request`. */
export interface PullRequestShape {
  number: number;
  state: string;
  /** Absent from a review delivery's `pull_request`: `merged_at` tells then. */
  merged?: boolean | null;
  merge_commit_sha: string | null;
  merged_at: string | null;
  head: { sha: string; ref: string };
  base: { ref: string };
  user: { login: string; id: number | bigint; type?: string } | null;
  labels?: { name: string }[];
}

/**
 * What a decision uses of a pull request, from the API's answer or a signed delivery alike (a
 * review event's payload carries its PR, so it is not read again).
 */
export function pullRequestInfo(pr: PullRequestShape): PullRequestInfo {
  return {
    number: pr.number,
    state: pr.state === 'open' ? 'open' : 'closed',
    merged: typeof pr.merged === 'boolean' ? pr.merged : pr.merged_at !== null,
    merge_commit_sha: pr.merge_commit_sha,
    head_sha: pr.head.sha,
    base_ref: pr.base.ref,
    // A deleted account: nobody, so no requester can match it.
    user: pr.user
      ? { login: pr.user.login, id: Number(pr.user.id), type: pr.user.type ?? 'User' }
      : { login: 'ghost', id: 0, type: 'User' },
    merged_at: pr.merged_at,
    head_ref: pr.head.ref,
    ...(pr.labels ? { labels: pr.labels.map((l) => l.name) } : {}),
  };
}

export class GitHubClient implements AppGitHub {
  constructor(
    private readonly octokit: OctokitLike,
    readonly repoRef: RepoRef,
  ) {}

  /** Public SSH keys the user published on GitHub. */
  async userKeys(login: string): Promise<string[]> {
    const keys = await this.call(`list keys of ${login}`, () =>
      this.octokit.paginate('GET /users/{username}/keys', { username: login, per_page: 100 }),
    );
    return keys.map((k) => k.key);
  }

  /** The current login of a user id (logins are renamed and re-registered; ids are not). */
  async loginForId(id: number): Promise<string | null> {
    try {
      const res = await this.call(`look up user ${id}`, () =>
        this.octokit.request('GET /user/{account_id}', { account_id: id }),
      );
      return res.data.login;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Ids of a team's members (child teams included, as GitHub lists them); unknown team → empty. */
  async teamMemberIds(team: string): Promise<Set<number>> {
    const { org, team_slug } = splitTeam(team);
    try {
      const members = await this.call(`list members of ${team}`, () =>
        this.octokit.paginate('GET /orgs/{org}/teams/{team_slug}/members', {
          org,
          team_slug,
          per_page: 100,
        }),
      );
      return new Set(members.map((m) => m.id));
    } catch (e) {
      // A team that does not exist (or that the token cannot see) names nobody: deny by default.
      if (isNotFound(e)) return new Set();
      throw e;
    }
  }

  /** Team memberships for the decision: one call per distinct team, in parallel. */
  async memberships(teams: readonly string[]): Promise<Memberships> {
    const keys = [...new Set(teams.map(teamKey))];
    const sets = await Promise.all(keys.map((k) => this.teamMemberIds(k)));
    return new Map(keys.map((k, i) => [k, sets[i] ?? new Set<number>()]));
  }

  /** One `GET …/memberships/{username}` per check, all in parallel; 404 is "not a member". */
  async membershipsOf(checks: readonly MembershipCheck[]): Promise<Memberships> {
    const unique = new Map<string, MembershipCheck>();
    for (const c of checks)
      unique.set(`${teamKey(c.team)}\n${c.person.id}`, { ...c, team: teamKey(c.team) });
    const out = new Map<string, Set<number>>();
    for (const c of unique.values())
      if (!out.has(teamKey(c.team))) out.set(teamKey(c.team), new Set<number>());
    await Promise.all(
      [...unique.values()].map(async (c) => {
        if (!LOGIN_PATTERN.test(c.person.login)) return;
        // Pending is an invitation not yet accepted: not a member (yet).
        if ((await this.teamMembership(c.team, c.person.login)) === 'active')
          out.get(teamKey(c.team))!.add(c.person.id);
      }),
    );
    return out;
  }

  async pullRequest(pull_number: number): Promise<PullRequestInfo> {
    const { data } = await this.call(`get pull request #${pull_number}`, () =>
      this.octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
        ...this.repoRef,
        pull_number,
      }),
    );
    return pullRequestInfo(data);
  }

  async reviews(pull_number: number): Promise<Review[]> {
    const reviews = await this.call(`list reviews of #${pull_number}`, () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
        ...this.repoRef,
        pull_number,
        per_page: 100,
      }),
    );
    return reviews.map((r) => ({
      id: r.id,
      user: r.user ? { login: r.user.login, id: r.user.id, type: r.user.type } : null,
      state: r.state as Review['state'],
      commit_id: r.commit_id,
      submitted_at: r.submitted_at ?? null,
    }));
  }

  async pullRequestFiles(pull_number: number): Promise<PullRequestFile[]> {
    const files = await this.call(`list files of #${pull_number}`, () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', {
        ...this.repoRef,
        pull_number,
        per_page: 100,
      }),
    );
    return files.map((f) => ({ filename: f.filename, status: f.status }));
  }

  async compareCommits(base: string, head: string): Promise<Comparison> {
    const { data } = await this.call(`compare ${base.slice(0, 12)}...${head.slice(0, 12)}`, () =>
      this.octokit.request('GET /repos/{owner}/{repo}/compare/{basehead}', {
        ...this.repoRef,
        basehead: `${base}...${head}`,
        per_page: 100,
      }),
    );
    const files = (data.files ?? []).map((f) => ({ filename: f.filename, status: f.status }));
    const commits = data.commits.map((c) => ({
      sha: c.sha,
      author: c.author
        ? { login: c.author.login, id: Number(c.author.id), type: c.author.type }
        : null,
      verified: c.commit.verification?.verified === true,
      message: c.commit.message,
    }));
    return {
      files,
      commits,
      // GitHub lists at most 300 files, and the first page of commits.
      complete: commits.length >= data.total_commits && files.length < 300,
      ...(data.base_commit?.sha ? { baseSha: data.base_commit.sha } : {}),
    };
  }

  /** Adds or updates a membership; a non-member of the org gets an invitation (`pending`). */
  async addTeamMember(team: string, login: string, role: TeamRole): Promise<TeamMembershipInfo> {
    const { org, team_slug } = splitTeam(team);
    const { data } = await this.call(`add ${login} to ${team}`, () =>
      this.octokit.request('PUT /orgs/{org}/teams/{team_slug}/memberships/{username}', {
        org,
        team_slug,
        username: login,
        role,
      }),
    );
    return { state: data.state, role: data.role === 'maintainer' ? 'maintainer' : 'member' };
  }

  /** Removes a membership or pending invitation; false when there was none. */
  async removeTeamMember(team: string, login: string): Promise<boolean> {
    const { org, team_slug } = splitTeam(team);
    try {
      await this.call(`remove ${login} from ${team}`, () =>
        this.octokit.request('DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}', {
          org,
          team_slug,
          username: login,
        }),
      );
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async teamMembershipInfo(team: string, login: string): Promise<TeamMembershipInfo | null> {
    const { org, team_slug } = splitTeam(team);
    try {
      const { data } = await this.call(`get membership of ${login} in ${team}`, () =>
        this.octokit.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
          org,
          team_slug,
          username: login,
        }),
      );
      return { state: data.state, role: data.role === 'maintainer' ? 'maintainer' : 'member' };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async teamMembership(team: string, login: string): Promise<'active' | 'pending' | null> {
    return (await this.teamMembershipInfo(team, login))?.state ?? null;
  }

  /** Team members with their ids (both roles, or only those with `role`). */
  async teamMembers(
    team: string,
    role: 'all' | TeamRole = 'all',
  ): Promise<{ login: string; id: number }[]> {
    const { org, team_slug } = splitTeam(team);
    const members = await this.call(`list members of ${team}`, () =>
      this.octokit.paginate('GET /orgs/{org}/teams/{team_slug}/members', {
        org,
        team_slug,
        per_page: 100,
        ...(role === 'all' ? {} : { role }),
      }),
    );
    return members.map((m) => ({ login: m.login, id: m.id }));
  }

  /**
   * Adds a collaborator. GitHub answers 201 with an invitation for someone not yet a
   * collaborator, and 204 when it only changed an existing collaborator's permission.
   */
  async addCollaborator(
    repoFullName: string,
    login: string,
    permission: RepoPermission,
  ): Promise<AddCollaboratorResult> {
    const res = await this.call(`add ${login} to ${repoFullName}`, () =>
      this.octokit.request('PUT /repos/{owner}/{repo}/collaborators/{username}', {
        ...splitRepo(repoFullName),
        username: login,
        permission,
      }),
    );
    if (res.status === 201 && res.data && typeof res.data === 'object' && 'id' in res.data) {
      return { kind: 'invited', invitationId: Number(res.data.id) };
    }
    return { kind: 'updated' };
  }

  /**
   * Removes a collaborator and any pending invitation of theirs (an unaccepted invitation
   * would otherwise grant the access whenever it is accepted). Returns whether anything went.
   */
  async removeCollaborator(repoFullName: string, login: string): Promise<boolean> {
    const ref = splitRepo(repoFullName);
    let removed = false;
    try {
      await this.call(`remove ${login} from ${repoFullName}`, () =>
        this.octokit.request('DELETE /repos/{owner}/{repo}/collaborators/{username}', {
          ...ref,
          username: login,
        }),
      );
      removed = true;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    for (const inv of await this.invitations(repoFullName)) {
      if (inv.invitee && inv.invitee.login.toLowerCase() === login.toLowerCase()) {
        await this.deleteInvitation(repoFullName, inv.id);
        removed = true;
      }
    }
    return removed;
  }

  /** The user's effective permission (direct, team or org base), or null when they have none. */
  async collaboratorPermission(
    repoFullName: string,
    login: string,
  ): Promise<RepoPermission | null> {
    try {
      const { data } = await this.call(`get permission of ${login} on ${repoFullName}`, () =>
        this.octokit.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', {
          ...splitRepo(repoFullName),
          username: login,
        }),
      );
      return toRepoPermission(data.role_name) ?? toRepoPermission(data.permission);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Direct collaborators (not those with access through a team or the organisation). */
  async directCollaborators(repoFullName: string): Promise<Collaborator[]> {
    const list = await this.call(`list collaborators of ${repoFullName}`, () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/collaborators', {
        ...splitRepo(repoFullName),
        affiliation: 'direct',
        per_page: 100,
      }),
    );
    return list.map((c) => ({
      login: c.login,
      id: c.id,
      permission: toRepoPermission(c.role_name),
    }));
  }

  async invitations(repoFullName: string): Promise<Invitation[]> {
    const list = await this.call(`list invitations of ${repoFullName}`, () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/invitations', {
        ...splitRepo(repoFullName),
        per_page: 100,
      }),
    );
    return list.map((i) => ({
      id: i.id,
      invitee: i.invitee ? { login: i.invitee.login, id: i.invitee.id } : null,
      permission: i.permissions,
      created_at: i.created_at,
      ...(i.inviter ? { inviter: i.inviter.login } : {}),
    }));
  }

  /** A repository's deploy keys, with when each was added. */
  async deployKeys(repoFullName: string): Promise<Dated[]> {
    const list = await this.call(`list deploy keys of ${repoFullName}`, () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/keys', {
        ...splitRepo(repoFullName),
        per_page: 100,
      }),
    );
    return list.map((k) => ({ id: k.id, name: k.title, created_at: k.created_at }));
  }

  /** A repository's webhooks, named by the host they deliver to (never the secret). */
  async webhooks(repoFullName: string): Promise<Dated[]> {
    const list = await this.call(`list webhooks of ${repoFullName}`, () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/hooks', {
        ...splitRepo(repoFullName),
        per_page: 100,
      }),
    );
    return list.map((h) => {
      let host = h.name;
      try {
        if (h.config.url) host = new URL(h.config.url).host;
      } catch {
        // Not a URL: keep the hook's name.
      }
      return { id: h.id, name: host, created_at: h.created_at };
    });
  }

  /** Pending invitations to a team, with when each was sent. */
  async teamInvitations(team: string): Promise<Dated[]> {
    const { org, team_slug } = splitTeam(team);
    const list = await this.call(`list invitations to ${team}`, () =>
      this.octokit.paginate('GET /orgs/{org}/teams/{team_slug}/invitations', {
        org,
        team_slug,
        per_page: 100,
      }),
    );
    return list.map((i) => ({
      id: i.id,
      name: i.login ?? i.email ?? `invitation ${i.id}`,
      created_at: i.created_at,
    }));
  }

  async deleteInvitation(repoFullName: string, invitation_id: number): Promise<void> {
    try {
      await this.call(`delete invitation ${invitation_id} on ${repoFullName}`, () =>
        this.octokit.request('DELETE /repos/{owner}/{repo}/invitations/{invitation_id}', {
          ...splitRepo(repoFullName),
          invitation_id,
        }),
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** The commit a branch points at, or null when there is no such branch. */
  async branchSha(branch: string): Promise<string | null> {
    try {
      const { data } = await this.call(`get branch ${branch}`, () =>
        this.octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
          ...this.repoRef,
          ref: `heads/${branch}`,
        }),
      );
      return data.object.sha;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Branch names starting with `prefix` (e.g. `gatepass/req-7-ext-`). */
  async branchesWithPrefix(prefix: string): Promise<string[]> {
    const refs = await this.call(`list branches ${prefix}*`, () =>
      this.octokit.request('GET /repos/{owner}/{repo}/git/matching-refs/{ref}', {
        ...this.repoRef,
        ref: `heads/${prefix}`,
      }),
    );
    return refs.data.map((r) => r.ref.replace(/^refs\/heads\//, ''));
  }

  /** Creates a branch at `sha`; false when it already exists (a redelivery got there first). */
  async createBranch(branch: string, sha: string): Promise<boolean> {
    try {
      await this.call(`create branch ${branch}`, () =>
        this.octokit.request('POST /repos/{owner}/{repo}/git/refs', {
          ...this.repoRef,
          ref: `refs/heads/${branch}`,
          sha,
        }),
      );
      return true;
    } catch (e) {
      if (statusOf(e) === 422) return false;
      throw e;
    }
  }

  /** Deletes a branch; false when it was already gone. */
  async deleteBranch(branch: string): Promise<boolean> {
    try {
      await this.call(`delete branch ${branch}`, () =>
        this.octokit.request('DELETE /repos/{owner}/{repo}/git/refs/{ref}', {
          ...this.repoRef,
          ref: `heads/${branch}`,
        }),
      );
      return true;
    } catch (e) {
      const status = statusOf(e);
      if (status === 404 || status === 422) return false;
      throw e;
    }
  }

  /** A file's text and blob sha at `ref`, or null when there is no file there. */
  async file(path: string, ref: string): Promise<RepoFile | null> {
    try {
      const { data } = await this.call(`read ${path} at ${ref}`, () =>
        this.octokit.request('GET /repos/{owner}/{repo}/contents/{path}', {
          ...this.repoRef,
          path,
          ref,
        }),
      );
      if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) return null;
      return { path, text: Buffer.from(data.content, 'base64').toString('utf8'), sha: data.sha };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** The entries of a directory at `ref`; a missing directory is empty. */
  async directory(path: string, ref: string): Promise<DirectoryEntry[]> {
    try {
      const { data } = await this.call(`list ${path} at ${ref}`, () =>
        this.octokit.request('GET /repos/{owner}/{repo}/contents/{path}', {
          ...this.repoRef,
          path,
          ref,
        }),
      );
      if (!Array.isArray(data)) return [];
      return data.map((e) => ({ name: e.name, path: e.path, type: e.type, sha: e.sha }));
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
  }

  /**
   * Creates or updates one file in one commit. With `sha` (the blob being replaced) GitHub
   * refuses (409) if the file changed meanwhile. Returns the new commit's sha.
   */
  async putFile(o: {
    path: string;
    branch: string;
    message: string;
    text: string;
    sha?: string;
  }): Promise<string> {
    const { data } = await this.call(`write ${o.path} on ${o.branch}`, () =>
      this.octokit.request('PUT /repos/{owner}/{repo}/contents/{path}', {
        ...this.repoRef,
        path: o.path,
        branch: o.branch,
        message: o.message,
        content: Buffer.from(o.text, 'utf8').toString('base64'),
        ...(o.sha ? { sha: o.sha } : {}),
      }),
    );
    return data.commit.sha ?? '';
  }

  /** The PR (open or closed) from `branch` of this repository, newest first; null when none. */
  async pullRequestForBranch(branch: string): Promise<PullRequestInfo | null> {
    const { data } = await this.call(`find the pull request of ${branch}`, () =>
      this.octokit.request('GET /repos/{owner}/{repo}/pulls', {
        ...this.repoRef,
        head: `${this.repoRef.owner}:${branch}`,
        state: 'all',
        per_page: 10,
      }),
    );
    const pr = data[0];
    if (!pr) return null;
    return {
      number: pr.number,
      state: pr.state === 'open' ? 'open' : 'closed',
      merged: pr.merged_at !== null,
      merge_commit_sha: pr.merge_commit_sha,
      head_sha: pr.head.sha,
      base_ref: pr.base.ref,
      user: pr.user
        ? { login: pr.user.login, id: Number(pr.user.id), type: pr.user.type }
        : { login: 'ghost', id: 0, type: 'User' },
      merged_at: pr.merged_at,
      head_ref: pr.head.ref,
    };
  }

  async createPullRequest(o: {
    title: string;
    head: string;
    base: string;
    body: string;
  }): Promise<number> {
    const { data } = await this.call(`open a pull request from ${o.head}`, () =>
      this.octokit.request('POST /repos/{owner}/{repo}/pulls', {
        ...this.repoRef,
        ...o,
        maintainer_can_modify: false,
      }),
    );
    return data.number;
  }

  /**
   * Asks for reviews. GitHub refuses (422) reviewers who cannot review (not collaborators);
   * reviews are a courtesy here, not the control, so that is not an error.
   */
  async requestReviewers(pull_number: number, users: string[], teams: string[]): Promise<boolean> {
    if (users.length === 0 && teams.length === 0) return true;
    try {
      await this.call(`request reviews on #${pull_number}`, () =>
        this.octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', {
          ...this.repoRef,
          pull_number,
          reviewers: users,
          team_reviewers: teams,
        }),
      );
      return true;
    } catch (e) {
      if (statusOf(e) === 422) return false;
      throw e;
    }
  }

  async closePullRequest(pull_number: number): Promise<void> {
    await this.call(`close #${pull_number}`, () =>
      this.octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        ...this.repoRef,
        pull_number,
        state: 'closed',
      }),
    );
  }

  /** Merges at exactly `sha`; a refusal (head moved, not mergeable) is a value, not an error. */
  async mergePullRequest(o: {
    pull_number: number;
    sha: string;
    title: string;
    message: string;
    method: MergeMethod;
  }): Promise<MergeResult> {
    try {
      const { data } = await this.call(`merge #${o.pull_number}`, () =>
        this.octokit.request('PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge', {
          ...this.repoRef,
          pull_number: o.pull_number,
          sha: o.sha,
          commit_title: o.title,
          commit_message: o.message,
          merge_method: o.method,
        }),
      );
      return { merged: true, sha: data.sha };
    } catch (e) {
      const status = statusOf(e);
      if (status === 405 || status === 409 || status === 422)
        return { merged: false, status, message: e instanceof Error ? e.message : String(e) };
      throw e;
    }
  }

  async addLabels(issue_number: number, labels: string[]): Promise<void> {
    await this.call(`label #${issue_number}`, () =>
      this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        ...this.repoRef,
        issue_number,
        labels,
      }),
    );
  }

  /** Replaces all labels of an issue or PR with `labels` (one call instead of DELETE + POST). */
  async setLabels(issue_number: number, labels: string[]): Promise<void> {
    await this.call(`label #${issue_number}`, () =>
      this.octokit.request('PUT /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        ...this.repoRef,
        issue_number,
        labels,
      }),
    );
  }

  /** Removes a label; false when the issue did not have it. */
  async removeLabel(issue_number: number, name: string): Promise<boolean> {
    try {
      await this.call(`unlabel #${issue_number}`, () =>
        this.octokit.request('DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}', {
          ...this.repoRef,
          issue_number,
          name,
        }),
      );
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async issueComments(issue_number: number): Promise<IssueComment[]> {
    const list = await this.call(`list comments of #${issue_number}`, () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...this.repoRef,
        issue_number,
        per_page: 100,
      }),
    );
    return list.map((c) => ({
      id: c.id,
      body: c.body ?? '',
      user: c.user ? { login: c.user.login, id: c.user.id, type: c.user.type } : null,
    }));
  }

  /** Posts a comment on an issue or pull request of the access repo; returns the comment id. */
  async createComment(issue_number: number, body: string): Promise<number> {
    const { data } = await this.call(`comment on #${issue_number}`, () =>
      this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...this.repoRef,
        issue_number,
        body,
      }),
    );
    return Number(data.id);
  }

  async updateComment(comment_id: number, body: string): Promise<void> {
    await this.call(`edit comment ${comment_id}`, () =>
      this.octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
        ...this.repoRef,
        comment_id,
        body,
      }),
    );
  }

  /** An issue of the access repo; null when there is none, or GitHub no longer knows its author. */
  async issue(issue_number: number): Promise<IssueInfo | null> {
    try {
      const { data } = await this.call(`get issue #${issue_number}`, () =>
        this.octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
          ...this.repoRef,
          issue_number,
        }),
      );
      // A deleted account leaves `user: null`: nobody can be shown to be its author.
      if (!data.user) return null;
      return {
        number: data.number,
        user: { login: data.user.login, id: Number(data.user.id), type: data.user.type },
        state: data.state === 'open' ? 'open' : 'closed',
        labels: data.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))),
      };
    } catch (e) {
      // Gone (404) or transferred/deleted (410): there is no author to match.
      const status = statusOf(e);
      if (status === 404 || status === 410) return null;
      throw e;
    }
  }

  /** Opens an issue in the access repo; returns its number. */
  async createIssue(o: {
    title: string;
    body: string;
    labels?: string[];
    assignees?: string[];
  }): Promise<number> {
    const { data } = await this.call(`open an issue "${o.title.slice(0, 60)}"`, () =>
      this.octokit.request('POST /repos/{owner}/{repo}/issues', {
        ...this.repoRef,
        title: o.title,
        body: o.body,
        ...(o.labels?.length ? { labels: o.labels } : {}),
        ...(o.assignees?.length ? { assignees: o.assignees } : {}),
      }),
    );
    return data.number;
  }

  /** Closes an issue (`completed`, or `not_planned`). */
  async closeIssue(issue_number: number, reason: 'completed' | 'not_planned' = 'completed') {
    await this.call(`close #${issue_number}`, () =>
      this.octokit.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
        ...this.repoRef,
        issue_number,
        state: 'closed',
        state_reason: reason,
      }),
    );
  }

  /** Numbers and head branches of the open pull requests into `base`. */
  async openPullRequests(base: string): Promise<{ number: number; head_ref: string }[]> {
    const list = await this.call('list open pull requests', () =>
      this.octokit.paginate('GET /repos/{owner}/{repo}/pulls', {
        ...this.repoRef,
        state: 'open',
        base,
        per_page: 100,
      }),
    );
    return list.map((p) => ({ number: p.number, head_ref: p.head.ref }));
  }

  /** Publishes a check run on a commit; GitHub shows the latest run of each name. */
  async createCheckRun(o: CheckRunInput): Promise<number> {
    const { data } = await this.call(`publish check ${o.name}`, () =>
      this.octokit.request('POST /repos/{owner}/{repo}/check-runs', {
        ...this.repoRef,
        name: o.name,
        head_sha: o.head_sha,
        ...o.state,
        output: { title: o.title, summary: o.summary },
      }),
    );
    return Number(data.id);
  }

  /**
   * Starts a `workflow_dispatch` run of one of the access repo's workflows (by file name) on
   * `ref`. GitHub answers 204 and queues the run; the app's deadline timer calls this.
   */
  async dispatchWorkflow(
    workflow: string,
    ref: string,
    inputs?: Record<string, string>,
  ): Promise<void> {
    await this.call(`dispatch workflow ${workflow} on ${ref}`, () =>
      this.octokit.request(
        'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
        {
          ...this.repoRef,
          workflow_id: workflow,
          ref,
          ...(inputs && Object.keys(inputs).length ? { inputs } : {}),
        },
      ),
    );
  }

  /** The access repo's default branch. */
  async defaultBranch(): Promise<string> {
    const { data } = await this.call('get the repository', () =>
      this.octokit.request('GET /repos/{owner}/{repo}', { ...this.repoRef }),
    );
    return data.default_branch;
  }

  /** Whether `login` names an organization (404 → a user account, or nothing). */
  async isOrganization(login: string): Promise<boolean> {
    try {
      await this.call(`get organization ${login}`, () =>
        this.octokit.request('GET /orgs/{org}', { org: login }),
      );
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /**
   * Whether `username` is an (active or invited) member of `org`: false only on GitHub's 404;
   * undefined when the token may not tell (403), so a missing permission never ends access.
   */
  async orgMember(org: string, username: string): Promise<boolean | undefined> {
    try {
      const { data } = await this.call(`get membership of ${username} in ${org}`, () =>
        this.octokit.request('GET /orgs/{org}/memberships/{username}', { org, username }),
      );
      return data.state === 'active' || data.state === 'pending';
    } catch (e) {
      if (isNotFound(e)) return false;
      if (statusOf(e) === 403) return undefined;
      throw e;
    }
  }

  /** Runs one API call, turning any failure into a GitHubApiError without secrets. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof GitHubApiError) throw e;
      // Octokit gives a network failure (DNS, refused, TLS) status 500 without a response:
      // that is not an answer from GitHub, and must not read as one.
      const answered =
        typeof e === 'object' && e !== null && (e as { response?: unknown }).response !== undefined;
      const status = answered ? statusOf(e) : undefined;
      const detail = e instanceof Error ? e.message : String(e);
      const code = (e as { cause?: { cause?: { code?: unknown }; code?: unknown } }).cause;
      const net = String(code?.cause?.code ?? code?.code ?? '');
      const message = redactTokens(
        answered
          ? `GitHub API: ${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`
          : `GitHub API: ${what} failed: cannot reach GitHub${net ? ` (${net})` : ''}: ${detail}`,
      );
      // The cause (a RequestError) holds the request with headers; Octokit redacts the
      // authorization header in it, but keep only what a message needs.
      throw new GitHubApiError(message, status);
    }
  }
}
