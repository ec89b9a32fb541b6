import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { GitHubClient } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import {
  expectNoContractProblems,
  startGitHubStandIn,
  type GitHubStandIn,
} from './github-standin.js';

let gh: GitHubStandIn;
const asApp = () =>
  new GitHubClient(
    createOctokit({ token: gh.appToken, baseUrl: gh.apiUrl, retry: false, throttle: false }),
    { owner: 'acme', repo: 'access' },
  );

beforeEach(async () => {
  gh = await startGitHubStandIn({
    owner: 'acme',
    repo: 'access',
    users: [
      { login: 'alice', id: 101 },
      { login: 'bob', id: 102 },
    ],
    teams: { 'acme/engineering': ['alice'] },
    app: { id: 7, slug: 'gatepass', botId: 9007, webhookSecret: 'shh' },
    files: {
      'policies/prod.yaml': 'resources: {}\n',
      '.github/workflows/gatepass.yml': 'on: workflow_dispatch\n',
    },
  });
});
afterEach(async () => {
  await gh.stop();
});

describe('the stand-in for the deadline timer and offboarding', () => {
  it('accepts a workflow_dispatch of a workflow on a branch, and refuses what GitHub refuses', async () => {
    await asApp().dispatchWorkflow('gatepass.yml', 'main', { 'verify-audit': 'true' });
    expect(gh.dispatches).toEqual([
      expect.objectContaining({
        workflow: 'gatepass.yml',
        ref: 'main',
        inputs: { 'verify-audit': 'true' },
        actor: 'gatepass[bot]',
      }),
    ]);
    await expect(asApp().dispatchWorkflow('nope.yml', 'main')).rejects.toThrow(/HTTP 404/);
    await expect(asApp().dispatchWorkflow('gatepass.yml', 'no-such-branch')).rejects.toThrow(
      /HTTP 422/,
    );
    expect(gh.dispatches).toHaveLength(1);
    expectNoContractProblems(gh);
  });

  it('sends membership.removed and organization.member_removed as GitHub does, and removes the member', async () => {
    await gh.removeFromTeam('acme/engineering', 'alice', 'bob');
    expect(await asApp().teamMemberIds('acme/engineering')).toEqual(new Set());
    await gh.removeFromOrganization('alice', 'bob');
    expect(gh.events.map((e) => `${e.name}.${String(e.payload.action)}`)).toEqual([
      'membership.removed',
      'organization.member_removed',
    ]);
    expect(gh.events[0]!.payload).toMatchObject({
      scope: 'team',
      member: { login: 'alice', id: 101 },
      team: { slug: 'engineering' },
      organization: { login: 'acme' },
    });
    expectNoContractProblems(gh);
  });
});
