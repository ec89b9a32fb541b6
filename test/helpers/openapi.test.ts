import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import nock from 'nock';
import { createOctokit } from '../../src/github/octokit.js';
import {
  checkRequest,
  checkResponse,
  checkWebhook,
  contractProblems,
  exampleResponse,
  findOperation,
  installContractChecks,
  resetContractProblems,
} from './openapi.js';

const API = 'https://api.github.com';
const octokit = () => createOctokit({ token: 'ghs_test', retry: false, throttle: false });

describe('findOperation', () => {
  it('matches templated paths and extracts parameters', () => {
    const op = findOperation('GET', '/repos/acme/access/pulls/12/reviews?per_page=100');
    expect(op?.template).toBe('/repos/{owner}/{repo}/pulls/{pull_number}/reviews');
    expect(op?.operationId).toBe('pulls/list-reviews');
    expect(op?.params).toEqual({ owner: 'acme', repo: 'access', pull_number: '12' });
  });

  it('prefers literal segments over parameters', () => {
    expect(
      findOperation('GET', '/repos/acme/access/collaborators/alice/permission')?.template,
    ).toBe('/repos/{owner}/{repo}/collaborators/{username}/permission');
    expect(findOperation('GET', '/user/42')?.template).toBe('/user/{account_id}');
  });

  it('knows no operation for a made-up path or a wrong method', () => {
    expect(findOperation('GET', '/repos/acme/access/grants')).toBeUndefined();
    expect(findOperation('PATCH', '/users/alice/keys')).toBeUndefined();
  });
});

describe('checkRequest / checkResponse', () => {
  it('accepts a valid request body and rejects a wrongly typed field', () => {
    const url = '/orgs/acme/teams/sre/memberships/alice';
    expect(checkRequest('PUT', url, JSON.stringify({ role: 'member' }))).toEqual([]);
    const problems = checkRequest('PUT', url, JSON.stringify({ role: 'owner' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/teams\/add-or-update-membership-for-user-in-org.*\/role/);
  });

  it('rejects unknown and ill-typed query parameters', () => {
    expect(checkRequest('GET', '/users/alice/keys?per_page=100&page=2')).toEqual([]);
    expect(checkRequest('GET', '/users/alice/keys?per_page=abc')[0]).toMatch(/per_page/);
    expect(checkRequest('GET', '/users/alice/keys?pagesize=3')[0]).toMatch(/unknown query/);
  });

  it("accepts GitHub's own example and rejects a reply missing a required field", () => {
    const example = exampleResponse('GET', '/users/{username}/keys') as { key?: string }[];
    expect(checkResponse('GET', '/users/alice/keys', 200, example)).toEqual([]);
    delete example[0]!.key;
    expect(checkResponse('GET', '/users/alice/keys', 200, example)[0]).toMatch(
      /\/0 must have required property 'key'/,
    );
  });

  it('allows null only where the description says nullable', () => {
    const pr = exampleResponse('GET', '/repos/{owner}/{repo}/pulls/{pull_number}') as Record<
      string,
      unknown
    >;
    expect(
      checkResponse('GET', '/repos/a/b/pulls/1', 200, {
        ...pr,
        requested_teams: [],
        merged_at: null,
      }),
    ).toEqual([]);
    expect(
      checkResponse('GET', '/repos/a/b/pulls/1', 200, { ...pr, requested_teams: [], head: null }),
    ).not.toEqual([]);
  });

  it('rejects a success status the operation does not document, but allows errors', () => {
    expect(checkResponse('DELETE', '/repos/a/b/collaborators/c', 200, '')[0]).toMatch(
      /status not documented/,
    );
    expect(checkResponse('DELETE', '/repos/a/b/collaborators/c', 204, '')).toEqual([]);
    expect(checkResponse('GET', '/users/alice/keys', 502, 'Bad Gateway')).toEqual([]);
  });
});

describe('nock integration', () => {
  beforeAll(() => installContractChecks());
  beforeEach(() => {
    nock.disableNetConnect();
    resetContractProblems();
  });
  afterEach(() => {
    nock.cleanAll();
    resetContractProblems();
  });

  it('finds nothing wrong with a correct mock', async () => {
    const keys = exampleResponse('GET', '/users/{username}/keys');
    const scope = nock(API)
      .get('/users/alice/keys')
      .query(true)
      .reply(200, keys as object);
    await octokit().request('GET /users/{username}/keys', { username: 'alice' });
    expect(scope.isDone()).toBe(true);
    expect(contractProblems()).toEqual([]);
  });

  it('reports a mock of an endpoint GitHub does not have', async () => {
    nock(API).get('/repos/acme/access/grants').reply(200, []);
    await octokit().request('GET /repos/{owner}/{repo}/grants', { owner: 'acme', repo: 'access' });
    expect(contractProblems()).toEqual([
      "GET /repos/acme/access/grants: no such operation in GitHub's REST API",
      "GET /repos/acme/access/grants → 200: no such operation in GitHub's REST API",
    ]);
  });

  it('reports a request body with a wrongly typed field', async () => {
    nock(API).put('/orgs/acme/teams/sre/memberships/alice').reply(200, {
      url: 'https://api.github.com/organizations/1/team/2/memberships/alice',
      role: 'member',
      state: 'active',
    });
    await octokit().request('PUT /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      org: 'acme',
      team_slug: 'sre',
      username: 'alice',
      role: 42 as unknown as 'member',
    });
    expect(contractProblems()).toHaveLength(1);
    expect(contractProblems()[0]).toMatch(/request body: \/role must be string/);
  });

  it('reports a reply missing a required field, from a static body or a reply function', async () => {
    nock(API)
      .put('/orgs/acme/teams/sre/memberships/alice')
      .reply(200, { role: 'member', state: 'active' })
      .get('/orgs/acme/teams/sre/memberships/bob')
      .reply(() => [200, { url: 'https://x', role: 'member' }]);
    const o = octokit();
    const args = { org: 'acme', team_slug: 'sre' };
    await o.request('PUT /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      ...args,
      username: 'alice',
      role: 'member',
    });
    await o.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      ...args,
      username: 'bob',
    });
    expect(contractProblems()).toEqual([
      expect.stringMatching(/PUT .*→ 200.*must have required property 'url'/),
      expect.stringMatching(/GET .*bob → 200.*must have required property 'state'/),
    ]);
  });

  it('reports a request no mock matched', async () => {
    nock(API).get('/users/alice/keys').reply(200, []);
    await expect(
      octokit().request('GET /users/{username}/keys', { username: 'bob' }),
    ).rejects.toThrow();
    expect(contractProblems()).toEqual([
      expect.stringMatching(/users\/bob\/keys: no mock matched/),
    ]);
  });
});

describe('checkWebhook', () => {
  const example = (name: string, action: string): Record<string, unknown> => {
    const sets = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
      name: string;
      examples: Record<string, unknown>[];
    }[];
    const found = sets.find((e) => e.name === name)?.examples.find((e) => e.action === action);
    if (!found) throw new Error(`no example ${name}.${action}`);
    return structuredClone(found);
  };

  // The examples are community-contributed and some predate fields the description now
  // requires; issues.opened is current.
  it('accepts an example payload that is current', () => {
    expect(checkWebhook('issues', example('issues', 'opened'))).toEqual([]);
  });

  it('rejects a payload missing what GitHub always sends, and events GitHub does not have', () => {
    const payload = example('issues', 'opened');
    delete payload.issue;
    expect(checkWebhook('issues', payload)).toEqual([
      expect.stringContaining(
        "webhook issues.opened: payload: (root) must have required property 'issue'",
      ),
    ]);
    expect(checkWebhook('no_such_event', { action: 'x' })).toEqual([
      expect.stringContaining('no such webhook'),
    ]);
  });

  it('reads overlapping alternatives as any-of: a plain 409 error body is one GitHub sends', () => {
    expect(
      checkResponse('PUT', '/repos/acme/access/contents/a.yaml', 409, {
        message: 'a.yaml does not match abc',
        documentation_url: 'https://docs.github.com/rest',
      }),
    ).toEqual([]);
  });
});
