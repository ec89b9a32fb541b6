import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { GitHubApiError } from '../../src/core/errors.js';
import { GitHubClient } from '../../src/github/github-client.js';
import { countApiCalls, createOctokit } from '../../src/github/octokit.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  comparison,
  collaboratorPermission,
  invitation,
  prFile,
  publicKey,
  pullRequest,
  review,
  simpleUser,
  teamMembership,
} from '../helpers/github-fixtures.js';

const API = 'https://api.github.com';
const TOKEN = 'ghs_abcdefghijklmnopqrstuvwxyz0123456789';
const repoRef = { owner: 'acme', repo: 'access' };
const client = () =>
  new GitHubClient(createOctokit({ token: TOKEN, retry: false, throttle: false }), repoRef);
const next = (url: string) => ({ link: `<${API}${url}>; rel="next"` });

enableContractChecks();
beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('GitHubClient reads', () => {
  it('lists every public key of a user, across pages', async () => {
    nock(API)
      .get('/users/alice/keys')
      .query({ per_page: '100' })
      .reply(
        200,
        [publicKey(1, 'ssh-ed25519 AAAA1')],
        next('/users/alice/keys?per_page=100&page=2'),
      )
      .get('/users/alice/keys')
      .query({ per_page: '100', page: '2' })
      .reply(200, [publicKey(2, 'ssh-rsa AAAA2')]);
    expect(await client().userKeys('alice')).toEqual(['ssh-ed25519 AAAA1', 'ssh-rsa AAAA2']);
  });

  it('gives the member ids of a team, and an empty set for a team that does not exist', async () => {
    nock(API)
      .get('/orgs/acme/teams/sre/members')
      .query(true)
      .reply(200, [simpleUser('alice', 1), simpleUser('bob', 2)])
      .get('/orgs/acme/teams/ghost/members')
      .query(true)
      .reply(404, { message: 'Not Found' });
    expect(await client().teamMemberIds('acme/sre')).toEqual(new Set([1, 2]));
    expect(await client().teamMemberIds('acme/ghost')).toEqual(new Set());
  });

  it('looks each distinct team up once, whatever the letter case', async () => {
    const scope = nock(API)
      .get('/orgs/acme/teams/sre/members')
      .query(true)
      .once()
      .reply(200, [simpleUser('alice', 1)])
      .get('/orgs/acme/teams/dba/members')
      .query(true)
      .once()
      .reply(200, [simpleUser('carol', 3)]);
    const m = await client().memberships(['acme/sre', 'ACME/SRE', 'acme/dba']);
    expect(scope.isDone()).toBe(true);
    expect([...m.keys()].sort()).toEqual(['acme/dba', 'acme/sre']);
    expect(m.get('acme/sre')).toEqual(new Set([1]));
  });

  it('checks memberships one person at a time: active counts, pending and 404 do not', async () => {
    const scope = nock(API)
      .get('/orgs/acme/teams/sre/memberships/alice')
      .once()
      .reply(200, teamMembership('member', 'active'))
      .get('/orgs/acme/teams/sre/memberships/bob')
      .once()
      .reply(200, teamMembership('member', 'pending'))
      .get('/orgs/acme/teams/sre/memberships/mallory')
      .once()
      .reply(404, { message: 'Not Found' })
      .get('/orgs/acme/teams/dba/memberships/alice')
      .once()
      .reply(404, { message: 'Not Found' });
    const m = await client().membershipsOf([
      { team: 'acme/sre', person: { login: 'alice', id: 1 } },
      { team: 'ACME/SRE', person: { login: 'alice', id: 1 } }, // asked twice, looked up once
      { team: 'acme/sre', person: { login: 'bob', id: 2 } },
      { team: 'acme/sre', person: { login: 'mallory', id: 666 } },
      { team: 'acme/dba', person: { login: 'alice', id: 1 } },
    ]);
    expect(scope.isDone()).toBe(true);
    expect(m.get('acme/sre')).toEqual(new Set([1]));
    expect(m.get('acme/dba')).toEqual(new Set());
  });

  it('fails a membership check GitHub cannot answer, rather than deciding on it', async () => {
    nock(API).get('/orgs/acme/teams/sre/memberships/alice').reply(500, { message: 'boom' });
    await expect(
      client().membershipsOf([{ team: 'acme/sre', person: { login: 'alice', id: 1 } }]),
    ).rejects.toBeInstanceOf(GitHubApiError);
  });

  it('maps a pull request, its reviews and its files to domain types', async () => {
    nock(API)
      .get('/repos/acme/access/pulls/7')
      .reply(
        200,
        pullRequest({
          number: 7,
          head_sha: 'a'.repeat(40),
          author: { login: 'gatepass[bot]', id: 99, type: 'Bot' },
        }),
      )
      .get('/repos/acme/access/pulls/7/reviews')
      .query({ per_page: '100' })
      .reply(
        200,
        [
          review({
            id: 11,
            user: { login: 'bob', id: 2 },
            state: 'APPROVED',
            commit_id: 'a'.repeat(40),
          }),
        ],
        next('/repos/acme/access/pulls/7/reviews?per_page=100&page=2'),
      )
      .get('/repos/acme/access/pulls/7/reviews')
      .query({ per_page: '100', page: '2' })
      .reply(200, [review({ id: 12, user: null, state: 'COMMENTED', commit_id: 'b'.repeat(40) })])
      .get('/repos/acme/access/pulls/7/files')
      .query(true)
      .reply(200, [prFile('grants/prod-db/g1.yaml')]);
    const c = client();
    expect(await c.pullRequest(7)).toEqual({
      number: 7,
      state: 'open',
      merged: false,
      merge_commit_sha: null,
      head_sha: 'a'.repeat(40),
      base_ref: 'main',
      user: { login: 'gatepass[bot]', id: 99, type: 'Bot' },
      merged_at: null,
      head_ref: 'new-topic',
      // The OpenAPI example's label: relabelling keeps it.
      labels: ['bug'],
    });
    expect(await c.reviews(7)).toEqual([
      {
        id: 11,
        user: { login: 'bob', id: 2, type: 'User' },
        state: 'APPROVED',
        commit_id: 'a'.repeat(40),
        submitted_at: '2025-01-02T03:04:05Z',
      },
      {
        id: 12,
        user: null,
        state: 'COMMENTED',
        commit_id: 'b'.repeat(40),
        submitted_at: '2025-01-02T03:04:05Z',
      },
    ]);
    expect(await c.pullRequestFiles(7)).toEqual([
      { filename: 'grants/prod-db/g1.yaml', status: 'added' },
    ]);
  });
});

describe('GitHubClient comparisons', () => {
  it('gives the files and commits of a head against a base, with who wrote them, whether GitHub verified it, and the commit the base named', async () => {
    const head = 'c'.repeat(40);
    nock(API)
      .get(`/repos/acme/access/compare/main...${head}`)
      .query({ per_page: '100' })
      .reply(
        200,
        comparison(
          [prFile('grants/prod-db/g1.yaml')],
          [
            {
              sha: 'a'.repeat(40),
              author: { login: 'gatepass[bot]', id: 99, type: 'Bot' },
              verified: true,
              message: 'Request',
            },
            { sha: head, author: null, verified: false, message: 'push' },
          ],
        ),
      );
    expect(await client().compareCommits('main', head)).toEqual({
      // main's head when GitHub answered (the OpenAPI example's base_commit): the policy commit.
      baseSha: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
      files: [{ filename: 'grants/prod-db/g1.yaml', status: 'added' }],
      commits: [
        {
          sha: 'a'.repeat(40),
          author: { login: 'gatepass[bot]', id: 99, type: 'Bot' },
          verified: true,
          message: 'Request',
        },
        { sha: head, author: null, verified: false, message: 'push' },
      ],
      complete: true,
    });
  });

  it('says when GitHub cut the commits short', async () => {
    const body = comparison([prFile('grants/prod-db/g1.yaml')], []);
    nock(API)
      .get(/\/repos\/acme\/access\/compare\/.*/)
      .query(true)
      .reply(200, { ...body, total_commits: 300 });
    expect((await client().compareCommits('main', 'd'.repeat(40))).complete).toBe(false);
  });
});

describe('GitHubClient team membership', () => {
  it('adds a member with a role and reports an invitation as pending', async () => {
    nock(API)
      .put('/orgs/acme/teams/sre/memberships/alice', { role: 'maintainer' })
      .reply(200, teamMembership('maintainer', 'pending'));
    expect(await client().addTeamMember('acme/sre', 'alice', 'maintainer')).toEqual({
      state: 'pending',
      role: 'maintainer',
    });
  });

  it('treats removing a non-member as nothing to do', async () => {
    nock(API)
      .delete('/orgs/acme/teams/sre/memberships/alice')
      .reply(204)
      .delete('/orgs/acme/teams/sre/memberships/bob')
      .reply(404, { message: 'Not Found' });
    expect(await client().removeTeamMember('acme/sre', 'alice')).toBe(true);
    expect(await client().removeTeamMember('acme/sre', 'bob')).toBe(false);
  });

  it('reads a membership state, null when there is none', async () => {
    nock(API)
      .get('/orgs/acme/teams/sre/memberships/alice')
      .reply(200, teamMembership('member', 'active'))
      .get('/orgs/acme/teams/sre/memberships/bob')
      .reply(404, { message: 'Not Found' });
    expect(await client().teamMembership('acme/sre', 'alice')).toBe('active');
    expect(await client().teamMembership('acme/sre', 'bob')).toBeNull();
  });
});

describe('GitHubClient collaborators', () => {
  it('tells an invitation (201) from a permission change (204)', async () => {
    nock(API)
      .put('/repos/acme/app/collaborators/alice', { permission: 'push' })
      .reply(201, invitation(555, { login: 'alice', id: 1 }, 'acme/app'))
      .put('/repos/acme/app/collaborators/bob', { permission: 'push' })
      .reply(204);
    expect(await client().addCollaborator('acme/app', 'alice', 'push')).toEqual({
      kind: 'invited',
      invitationId: 555,
    });
    expect(await client().addCollaborator('acme/app', 'bob', 'push')).toEqual({ kind: 'updated' });
  });

  it('removes the collaborator and also revokes their pending invitation', async () => {
    nock(API)
      .delete('/repos/acme/app/collaborators/alice')
      .reply(404, { message: 'Not Found' })
      .get('/repos/acme/app/invitations')
      .query(true)
      .reply(200, [
        invitation(555, { login: 'Alice', id: 1 }, 'acme/app'),
        invitation(556, { login: 'bob', id: 2 }, 'acme/app'),
      ])
      .delete('/repos/acme/app/invitations/555')
      .reply(204);
    expect(await client().removeCollaborator('acme/app', 'alice')).toBe(true);
  });

  it('reads the effective permission by role name, null for a stranger', async () => {
    nock(API)
      .get('/repos/acme/app/collaborators/alice/permission')
      .reply(200, collaboratorPermission('write', 'maintain', { login: 'alice', id: 1 }))
      .get('/repos/acme/app/collaborators/zed/permission')
      .reply(404, { message: 'Not Found' });
    expect(await client().collaboratorPermission('acme/app', 'alice')).toBe('maintain');
    expect(await client().collaboratorPermission('acme/app', 'zed')).toBeNull();
  });
});

describe('GitHubClient errors and accounting', () => {
  it('throws GitHubApiError with the status and without the token', async () => {
    nock(API)
      .get('/repos/acme/access/pulls/3')
      .reply(500, { message: `server echoed ${TOKEN}` });
    const err = await client()
      .pullRequest(3)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).status).toBe(500);
    expect((err as Error).message).toMatch(/get pull request #3 failed \(HTTP 500\)/);
    expect((err as Error).message).not.toContain(TOKEN);
  });

  it('reports a host it cannot reach as such, not as an HTTP status GitHub never sent', async () => {
    nock(API)
      .get('/repos/acme/access/pulls/4')
      .replyWithError(
        Object.assign(new Error('getaddrinfo ENOTFOUND api.github.com'), { code: 'ENOTFOUND' }),
      );
    const err = await client()
      .pullRequest(4)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).status).toBeUndefined();
    expect((err as Error).message).toMatch(/get pull request #4 failed: cannot reach GitHub/);
    expect((err as Error).message).toMatch(/ENOTFOUND/);
    expect((err as Error).message).not.toMatch(/HTTP 500/);
  });

  it('counts the API calls made through an octokit, per route', async () => {
    nock(API)
      .get('/users/alice/keys')
      .query(true)
      .reply(200, [])
      .get('/orgs/acme/teams/sre/members')
      .query(true)
      .reply(200, []);
    const octokit = createOctokit({ token: TOKEN, retry: false, throttle: false });
    const counter = countApiCalls(octokit);
    const c = new GitHubClient(octokit, repoRef);
    await c.userKeys('alice');
    await c.teamMemberIds('acme/sre');
    expect(counter.calls()).toBe(2);
    expect(counter.byRoute()).toEqual({
      'GET /users/alice/keys': 1,
      'GET /orgs/acme/teams/sre/members': 1,
    });
  });

  it('waits out a rate limit and retries, logging the wait but not the token', async () => {
    const reset = String(Math.floor(Date.now() / 1000));
    nock(API)
      .get('/users/alice/keys')
      .query(true)
      .reply(
        403,
        { message: 'API rate limit exceeded' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      )
      .get('/users/alice/keys')
      .query(true)
      .reply(200, [publicKey(1, 'ssh-ed25519 AAAA1')]);
    const logs: string[] = [];
    const octokit = createOctokit({
      token: TOKEN,
      retry: false,
      retryAfterMs: 1,
      log: (m) => logs.push(m),
    });
    const counter = countApiCalls(octokit);
    expect(await new GitHubClient(octokit, repoRef).userKeys('alice')).toEqual([
      'ssh-ed25519 AAAA1',
    ]);
    expect(counter.calls()).toBe(1); // one request, retried once
    expect(nock.pendingMocks()).toEqual([]);
    // The wait is derived from x-ratelimit-reset and the clock, so only its shape is fixed.
    const waits = logs.filter((l) => l.includes('rate limit'));
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatch(/^GitHub rate limit on GET \/users\/alice\/keys: retrying in [01]s$/);
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('gives up after three rate-limit retries', async () => {
    nock(API)
      .get('/users/alice/keys')
      .query(true)
      .times(4)
      .reply(403, { message: 'You have exceeded a secondary rate limit' }, { 'retry-after': '1' });
    const logs: string[] = [];
    const octokit = createOctokit({
      token: TOKEN,
      retry: false,
      retryAfterMs: 1,
      log: (m) => logs.push(m),
    });
    const err = await new GitHubClient(octokit, repoRef).userKeys('alice').catch((e: unknown) => e);
    expect((err as GitHubApiError).status).toBe(403);
    expect(logs.filter((l) => l.includes('retrying'))).toHaveLength(3);
    expect(logs.at(-1)).toMatch(/giving up after 3 retries/);
  });
});
