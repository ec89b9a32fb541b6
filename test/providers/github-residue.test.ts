/**
 * What a grant with `allow_lasting_access` may leave behind (issue #13): residue made on the
 * recorded target during the grant window, from the GitHub client's real calls (contract-checked
 * against the OpenAPI description).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { GitHubClient } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import { githubCollaboratorProvider } from '../../src/providers/github-collaborator.js';
import { githubTeamProvider } from '../../src/providers/github-team.js';
import {
  account,
  collaborator,
  collaboratorPermission,
  invitation,
  simpleUser,
} from '../helpers/github-fixtures.js';
import { enableContractChecks, exampleResponse } from '../helpers/openapi.js';
import {
  buildGrant,
  buildProviderContext,
  buildResource,
} from '../helpers/github-provider-context.js';

const API = 'https://api.github.com';
const github = () =>
  new GitHubClient(createOctokit({ token: 't', retry: false, throttle: false }), {
    owner: 'acme',
    repo: 'access',
  });
type Json = Record<string, unknown>;
const example = (method: string, path: string): Json => {
  const v = exampleResponse(method, path, 200);
  return (Array.isArray(v) ? v[0] : v) as Json;
};
const deployKey = (id: number, title: string, created_at: string) => ({
  ...example('GET', '/repos/{owner}/{repo}/keys'),
  id,
  title,
  created_at,
});
const hook = (id: number, url: string, created_at: string) => {
  const base = example('GET', '/repos/{owner}/{repo}/hooks');
  return { ...base, id, created_at, config: { ...(base.config as Json), url } };
};
const teamInvite = (id: number, login: string, created_at: string) => ({
  ...example('GET', '/orgs/{org}/teams/{team_slug}/invitations'),
  id,
  login,
  created_at,
});

enableContractChecks();
beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

const WINDOW = {
  issued_at: '2030-01-01T10:00:00Z',
  ended_at: '2030-01-01T12:00:00Z',
  status: 'expired' as const,
};

describe('github-team residue (maintainer with allow_lasting_access)', () => {
  const resource = buildResource({
    provider: 'github-team',
    target: { team: 'acme/sre', role: 'maintainer' },
    allow_lasting_access: true,
  });

  it('records the members at issue when lasting access is allowed', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get('/orgs/acme/teams/sre/memberships/alice')
      .reply(404, { message: 'Not Found' })
      .get('/orgs/acme/teams/sre/members')
      .query(true)
      .reply(200, [simpleUser('carol', 3)]);
    const pre = await githubTeamProvider.prepareIssue!(
      buildGrant({ status: 'approved' }),
      buildProviderContext(resource, { github: github() }),
    );
    expect(pre.members_at_issue).toEqual(['3']);
  });

  it('lists members who joined and invitations sent during the window, not before or after', async () => {
    nock(API)
      .get('/orgs/acme/teams/sre/members')
      .query(true)
      .reply(200, [simpleUser('carol', 3), simpleUser('alice', 1), simpleUser('mallory', 66)])
      .get('/orgs/acme/teams/sre/invitations')
      .query(true)
      .reply(200, [
        teamInvite(1, 'eve', '2030-01-01T11:00:00Z'),
        teamInvite(2, 'old', '2029-12-31T10:00:00Z'),
        teamInvite(3, 'later', '2030-01-01T13:00:00Z'),
      ]);
    const grant = buildGrant({
      ...WINDOW,
      issued: {
        provider: 'github-team',
        team: 'acme/sre',
        role: 'maintainer',
        login: 'alice',
        before_role: 'none',
        members_at_issue: ['3'],
      },
    });
    expect(
      await githubTeamProvider.residue!(
        grant,
        buildProviderContext(resource, { github: github() }),
      ),
    ).toEqual([
      { kind: 'team-member', description: 'mallory joined acme/sre' },
      {
        kind: 'team-invitation',
        description: 'eve was invited to acme/sre',
        created_at: '2030-01-01T11:00:00Z',
      },
    ]);
  });
});

describe('github-collaborator residue (admin with allow_lasting_access)', () => {
  const resource = buildResource({
    provider: 'github-collaborator',
    target: { repository: 'acme/app', permission: 'admin' },
    allow_lasting_access: true,
  });

  it('records the collaborators at issue', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get('/repos/acme/app/collaborators/alice/permission')
      .reply(200, collaboratorPermission('none', 'none', { login: 'alice', id: 1 }))
      .get('/repos/acme/app/collaborators')
      .query(true)
      .times(2)
      .reply(200, [collaborator('carol', 3, 'admin')]);
    const pre = await githubCollaboratorProvider.prepareIssue!(
      buildGrant({ status: 'approved' }),
      buildProviderContext(resource, { github: github() }),
    );
    expect(pre.collaborators_at_issue).toEqual(['3']);
  });

  it('lists collaborators, invitations, deploy keys and webhooks added during the window', async () => {
    nock(API)
      .get('/repos/acme/app/collaborators')
      .query(true)
      .reply(200, [
        collaborator('carol', 3, 'admin'),
        collaborator('alice', 1, 'admin'),
        collaborator('mallory', 66, 'write'),
      ])
      .get('/repos/acme/app/invitations')
      .query(true)
      .reply(200, [
        {
          ...invitation(7, { login: 'eve', id: 77 }, 'acme/app'),
          created_at: '2030-01-01T11:30:00Z',
        },
        {
          ...invitation(8, { login: 'alice', id: 1 }, 'acme/app'),
          created_at: '2030-01-01T10:00:01Z',
        },
        {
          ...invitation(9, { login: 'old', id: 99 }, 'acme/app'),
          created_at: '2029-06-01T00:00:00Z',
        },
      ])
      .get('/repos/acme/app/keys')
      .query(true)
      .reply(200, [
        deployKey(1, 'backdoor', '2030-01-01T10:30:00Z'),
        deployKey(2, 'ci', '2028-01-01T00:00:00Z'),
      ])
      .get('/repos/acme/app/hooks')
      .query(true)
      .reply(200, [
        hook(1, 'https://exfil.example.net/hook', '2030-01-01T11:59:00Z'),
        hook(2, 'https://ci.acme.test/hook', '2027-01-01T00:00:00Z'),
      ]);
    const grant = buildGrant({
      ...WINDOW,
      issued: {
        provider: 'github-collaborator',
        repository: 'acme/app',
        permission: 'admin',
        login: 'alice',
        before_permission: 'none',
        before_effective: 'none',
        collaborators_at_issue: ['3'],
      },
    });
    const residue = await githubCollaboratorProvider.residue!(
      grant,
      buildProviderContext(resource, { github: github() }),
    );
    expect(residue.map((r) => [r.kind, r.description])).toEqual([
      ['collaborator', 'mallory became a collaborator of acme/app (push)'],
      ['invitation', expect.stringMatching(/^eve was invited to acme\/app \(write\)/)],
      ['deploy-key', 'deploy key "backdoor" was added to acme/app'],
      ['webhook', 'a webhook to exfil.example.net was added to acme/app'],
    ]);
  });

  it('looks on the repository recorded at issue, not the policy’s current one', async () => {
    nock(API)
      .get('/repos/acme/old/invitations')
      .query(true)
      .reply(200, [])
      .get('/repos/acme/old/keys')
      .query(true)
      .reply(200, [])
      .get('/repos/acme/old/hooks')
      .query(true)
      .reply(200, []);
    const ctx = buildProviderContext(resource, { github: github() });
    const grant = buildGrant({
      ...WINDOW,
      issued: { provider: 'github-collaborator', repository: 'acme/old', permission: 'admin' },
    });
    expect(await githubCollaboratorProvider.residue!(grant, ctx)).toEqual([]);
    expect(ctx.logs).toEqual([
      'github-collaborator: grant g1 recorded no collaborator list at issue; collaborators added cannot be told',
    ]);
  });
});
