import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { GitHubClient, installationIdFor } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import { enableContractChecks, exampleResponse } from '../helpers/openapi.js';

const API = 'https://api.github.com';
const TOKEN = 'ghs_abcdefghijklmnopqrstuvwxyz0123456789';
const repoRef = { owner: 'acme', repo: 'access' };
const octokit = () => createOctokit({ token: TOKEN, retry: false, throttle: false });
const client = () => new GitHubClient(octokit(), repoRef);
const example = (method: string, path: string, status = 200) =>
  exampleResponse(method, path, status) as Record<string, unknown>;

/** GitHub's example repository (its example omits `language`, which the schema requires). */
function repository(defaultBranch: string) {
  const r = example('GET', '/repos/{owner}/{repo}');
  const { source: _source, parent: _parent, ...rest } = r;
  return { ...rest, language: null, default_branch: defaultBranch };
}

enableContractChecks();
beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('GitHubClient for deadlines and offboarding', () => {
  it('starts a workflow_dispatch run of the action on the default branch, with inputs when given', async () => {
    const bodies: unknown[] = [];
    nock(API)
      .post('/repos/acme/access/actions/workflows/gatepass.yml/dispatches', (b) => {
        bodies.push(b);
        return true;
      })
      .times(2)
      .reply(204);
    await client().dispatchWorkflow('gatepass.yml', 'main');
    await client().dispatchWorkflow('gatepass.yml', 'main', { 'verify-audit': 'true' });
    expect(bodies).toEqual([{ ref: 'main' }, { ref: 'main', inputs: { 'verify-audit': 'true' } }]);
  });

  it('reports a refused dispatch (no actions: write) as an API error', async () => {
    nock(API)
      .post('/repos/acme/access/actions/workflows/gatepass.yml/dispatches')
      .reply(403, { message: 'Resource not accessible by integration', status: '403' });
    await expect(client().dispatchWorkflow('gatepass.yml', 'main')).rejects.toThrow(/HTTP 403/);
  });

  it('tells organization members, people who left, and what the token may not see', async () => {
    const membership = example('GET', '/orgs/{org}/memberships/{username}');
    nock(API)
      .get('/orgs/acme/memberships/alice')
      .reply(200, { ...membership, state: 'active' })
      .get('/orgs/acme/memberships/mallory')
      .reply(404, { message: 'Not Found' })
      .get('/orgs/acme/memberships/bob')
      .reply(403, { message: 'Must have admin rights' });
    expect(await client().orgMember('acme', 'alice')).toBe(true);
    expect(await client().orgMember('acme', 'mallory')).toBe(false);
    expect(await client().orgMember('acme', 'bob')).toBeUndefined();
  });

  it('tells an organization from a user account, and reads the default branch', async () => {
    nock(API)
      .get('/orgs/acme')
      .reply(200, { ...example('GET', '/orgs/{org}'), archived_at: null })
      .get('/orgs/alice')
      .reply(404, { message: 'Not Found' })
      .get('/repos/acme/access')
      .reply(200, repository('trunk'));
    expect(await client().isOrganization('acme')).toBe(true);
    expect(await client().isOrganization('alice')).toBe(false);
    expect(await client().defaultBranch()).toBe('trunk');
  });

  it("finds the app's installation on the access repo", async () => {
    nock(API)
      .get('/repos/acme/access/installation')
      .reply(200, { ...example('GET', '/repos/{owner}/{repo}/installation'), id: 4242 });
    expect(await installationIdFor(octokit(), repoRef)).toBe(4242);
  });
});
