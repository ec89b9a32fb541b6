import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { GitHubClient } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import { githubCollaboratorProvider as provider } from '../../src/providers/github-collaborator.js';
import { StepReads } from '../../src/providers/provider.js';
import {
  account,
  collaborator,
  collaboratorPermission,
  invitation,
} from '../helpers/github-fixtures.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  buildGrant,
  buildProviderContext,
  buildResource,
} from '../helpers/github-provider-context.js';

const API = 'https://api.github.com';
const REPO = '/repos/acme/app';
const github = () =>
  new GitHubClient(createOctokit({ token: 't', retry: false, throttle: false }), {
    owner: 'acme',
    repo: 'access',
  });
const resource = buildResource({
  provider: 'github-collaborator',
  target: { repository: 'acme/app', permission: 'push' },
});
const ctx = (o: Parameters<typeof buildProviderContext>[1] = {}) =>
  buildProviderContext(resource, { github: github(), ...o });

enableContractChecks();
beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('github-collaborator target', () => {
  it('accepts a repository and a permission', () => {
    expect(provider.validateTarget({ repository: 'acme/app', permission: 'maintain' })).toEqual([]);
  });

  it('rejects a bad repository, a missing permission and unknown keys', () => {
    expect(provider.validateTarget({ repository: 'acme', role: 'write' })).toEqual([
      { path: 'target.role', message: 'unknown key "role"' },
      { path: 'target.repository', message: 'repository must be "owner/name"' },
      {
        path: 'target.permission',
        message: 'permission must be one of pull, triage, push, maintain, admin',
      },
    ]);
  });
});

describe('github-collaborator issue', () => {
  it('invites someone without access and records the invitation', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${REPO}/collaborators/alice/permission`)
      .reply(200, collaboratorPermission('none', 'none', { login: 'alice', id: 1 }))
      .get(`${REPO}/collaborators`)
      .query({ affiliation: 'direct', per_page: '100' })
      .reply(200, [collaborator('carol', 3, 'admin')])
      .get(`${REPO}/collaborators/alice/permission`)
      .reply(200, collaboratorPermission('none', 'none', { login: 'alice', id: 1 }))
      .put(`${REPO}/collaborators/alice`, { permission: 'push' })
      .reply(201, invitation(555, { login: 'alice', id: 1 }, 'acme/app'));
    const issued = await provider.issue(buildGrant(), ctx());
    expect(issued.facts).toEqual({
      provider: 'github-collaborator',
      repository: 'acme/app',
      permission: 'push',
      login: 'alice',
      before_permission: 'none',
      before_effective: 'none',
      already_member: false,
      invited: true,
      invitation_id: 555,
    });
  });

  it('adds nothing when the person already has at least that permission', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${REPO}/collaborators/alice/permission`)
      .times(2)
      .reply(200, collaboratorPermission('admin', 'maintain', { login: 'alice', id: 1 }))
      .get(`${REPO}/collaborators`)
      .query(true)
      .reply(200, []);
    expect((await provider.issue(buildGrant(), ctx())).facts).toMatchObject({
      already_member: true,
      before_permission: 'none',
      before_effective: 'maintain',
    });
  });

  it('raises a lower direct permission and remembers it', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${REPO}/collaborators/alice/permission`)
      .times(2)
      .reply(200, collaboratorPermission('read', 'read', { login: 'alice', id: 1 }))
      .get(`${REPO}/collaborators`)
      .query(true)
      .reply(200, [collaborator('alice', 1, 'read')])
      .put(`${REPO}/collaborators/alice`, { permission: 'push' })
      .reply(204);
    const issued = await provider.issue(buildGrant(), ctx());
    expect(issued.facts).toMatchObject({ invited: false, before_permission: 'pull' });
  });

  it('reads the permission once in a step: the issue takes what the pre-state read saw', async () => {
    // One GET of the permission; a second would be left unanswered and fail the test.
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${REPO}/collaborators/alice/permission`)
      .reply(200, collaboratorPermission('read', 'read', { login: 'alice', id: 1 }))
      .get(`${REPO}/collaborators`)
      .query(true)
      .reply(200, [collaborator('alice', 1, 'read')])
      .put(`${REPO}/collaborators/alice`, { permission: 'push' })
      .reply(204);
    const issued = await provider.issue(buildGrant(), ctx({ stepReads: new StepReads() }));
    expect(issued.facts).toMatchObject({ invited: false, before_permission: 'pull' });
  });
});

describe('github-collaborator revoke', () => {
  const issued = {
    provider: 'github-collaborator',
    repository: 'acme/app',
    permission: 'push',
    login: 'alice',
    before_permission: 'none',
    before_effective: 'none',
    already_member: false,
  };

  it('removes the collaborator and a still-pending invitation', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${REPO}/collaborators/alice`)
      .reply(204)
      .get(`${REPO}/invitations`)
      .query(true)
      .reply(200, [invitation(555, { login: 'alice', id: 1 }, 'acme/app')])
      .delete(`${REPO}/invitations/555`)
      .reply(204);
    await provider.revoke(buildGrant({ issued }), ctx());
  });

  it('succeeds when the access is already gone', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${REPO}/collaborators/alice`)
      .reply(404, { message: 'Not Found' })
      .get(`${REPO}/invitations`)
      .query(true)
      .reply(200, []);
    const c = ctx();
    await provider.revoke(buildGrant({ issued }), c);
    expect(c.logs).toEqual(['github-collaborator: already gone: alice from acme/app']);
  });

  it('restores the previous direct permission instead of removing', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .put(`${REPO}/collaborators/alice`, { permission: 'pull' })
      .reply(204);
    await provider.revoke(
      buildGrant({
        issued: { ...issued, before_permission: 'pull', before_effective: 'pull' },
      }),
      ctx(),
    );
  });

  it('never "restores" a legacy previous permission at or above what the grant gave: it removes instead', async () => {
    // A forged pre-state (admin) written into a grant file must not outlive the grant as admin.
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${REPO}/collaborators/alice`)
      .reply(204)
      .get(`${REPO}/invitations`)
      .query(true)
      .reply(200, []);
    const { provider: _, before_permission: __, before_effective: ___, ...legacy } = issued;
    await provider.revoke(
      buildGrant({ issued: { ...legacy, previous_permission: 'admin' } }),
      ctx(),
    );
  });

  it('keeps access that existed before the grant, or that another live grant needs', async () => {
    const c1 = ctx();
    await provider.revoke(
      buildGrant({ issued: { ...issued, before_effective: 'admin', already_member: true } }),
      c1,
    );
    const c2 = ctx({ liveGrants: [buildGrant({ id: 'g2', issued: { ...issued, joined: 'g1' } })] });
    await provider.revoke(buildGrant({ issued }), c2);
    expect(c2.logs[0]).toMatch(/g2 still give alice acme\/app; kept/);
  });
});

describe('github-collaborator list', () => {
  it('lists direct collaborators and pending invitations', async () => {
    nock(API)
      .get(`${REPO}/collaborators`)
      .query(true)
      .reply(200, [collaborator('carol', 3, 'admin')])
      .get(`${REPO}/invitations`)
      .query(true)
      .reply(200, [invitation(555, { login: 'alice', id: 1 }, 'acme/app')]);
    expect((await provider.list!(ctx())).map((l) => l.key)).toEqual(['carol', 'alice']);
  });
});

describe('github-collaborator issue retried after a crash (two-phase issue)', () => {
  it('observes the pre-state, including a lower direct permission, without changing anything', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${REPO}/collaborators/alice/permission`)
      .reply(200, collaboratorPermission('read', 'read', { login: 'alice', id: 1 }))
      .get(`${REPO}/collaborators`)
      .query(true)
      .reply(200, [collaborator('alice', 1, 'read')]);
    expect(await provider.prepareIssue!(buildGrant({ status: 'approved' }), ctx())).toEqual({
      provider: 'github-collaborator',
      repository: 'acme/app',
      permission: 'push',
      login: 'alice',
      before_permission: 'pull',
      before_effective: 'pull',
      already_member: false,
    });
  });

  it('does not mistake the permission its own crashed attempt gave for a pre-existing one', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${REPO}/collaborators/alice/permission`)
      .reply(200, collaboratorPermission('write', 'write', { login: 'alice', id: 1 }));
    const issued = await provider.issue(
      buildGrant({
        status: 'approved',
        issued: {
          provider: 'github-collaborator',
          repository: 'acme/app',
          permission: 'push',
          login: 'alice',
          before_permission: 'pull',
          before_effective: 'pull',
          already_member: false,
        },
      }),
      ctx(),
    );
    expect(issued.facts).toEqual({
      provider: 'github-collaborator',
      repository: 'acme/app',
      permission: 'push',
      login: 'alice',
      before_permission: 'pull',
      before_effective: 'pull',
      already_member: false,
    });
  });
});
