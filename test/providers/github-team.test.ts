import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { ConfigurationError } from '../../src/core/errors.js';
import { GitHubClient } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import { githubTeamProvider as provider } from '../../src/providers/github-team.js';
import { StepReads } from '../../src/providers/provider.js';
import { account, simpleUser, teamMembership } from '../helpers/github-fixtures.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  buildGrant,
  buildProviderContext,
  buildResource,
} from '../helpers/github-provider-context.js';

const API = 'https://api.github.com';
const MEMBERSHIP = '/orgs/acme/teams/sre/memberships';
const github = () =>
  new GitHubClient(createOctokit({ token: 't', retry: false, throttle: false }), {
    owner: 'acme',
    repo: 'access',
  });
const resource = (role?: 'member' | 'maintainer') =>
  buildResource({
    provider: 'github-team',
    target: { team: 'acme/sre', ...(role ? { role } : {}) },
  });

enableContractChecks();
beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('github-team target', () => {
  it('accepts a team and an optional role', () => {
    expect(provider.validateTarget({ team: 'acme/sre' })).toEqual([]);
    expect(provider.validateTarget({ team: 'acme/sre', role: 'maintainer' })).toEqual([]);
  });

  it('rejects a malformed team, an unknown role and unknown keys', () => {
    expect(provider.validateTarget({ team: '../sre', role: 'owner', tema: 'x' })).toEqual([
      { path: 'target.tema', message: 'unknown key "tema"' },
      { path: 'target.team', message: 'team must be "org/team-slug"' },
      { path: 'target.role', message: 'role must be "member" or "maintainer"' },
    ]);
  });
});

describe('github-team issue', () => {
  it('adds the requester under their current login, found by user id', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice-renamed', 1))
      .get(`${MEMBERSHIP}/alice-renamed`)
      .reply(404, { message: 'Not Found' })
      .get(`${MEMBERSHIP}/alice-renamed`)
      .reply(404, { message: 'Not Found' })
      .put(`${MEMBERSHIP}/alice-renamed`, { role: 'member' })
      .reply(200, teamMembership('member', 'active'));
    const issued = await provider.issue(
      buildGrant(),
      buildProviderContext(resource(), { github: github() }),
    );
    expect(issued.facts).toEqual({
      provider: 'github-team',
      team: 'acme/sre',
      role: 'member',
      login: 'alice-renamed',
      state: 'active',
      before_role: 'none',
      already_member: false,
    });
  });

  it('records a membership that existed before the grant and adds nothing', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .times(2)
      .reply(200, teamMembership('maintainer', 'active'));
    const issued = await provider.issue(
      buildGrant(),
      buildProviderContext(resource(), { github: github() }),
    );
    expect(issued.facts).toMatchObject({ already_member: true, before_role: 'maintainer' });
  });

  it('promotes a member to maintainer and remembers the previous role', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .times(2)
      .reply(200, teamMembership('member', 'active'))
      .put(`${MEMBERSHIP}/alice`, { role: 'maintainer' })
      .reply(200, teamMembership('maintainer', 'active'));
    const issued = await provider.issue(
      buildGrant(),
      buildProviderContext(resource('maintainer'), { github: github() }),
    );
    expect(issued.facts).toMatchObject({ already_member: false, before_role: 'member' });
  });

  it('fails when the requester account no longer exists', async () => {
    nock(API).get('/user/1').reply(404, { message: 'Not Found' });
    await expect(
      provider.issue(buildGrant(), buildProviderContext(resource(), { github: github() })),
    ).rejects.toThrow(/user 1 \(alice\) no longer exists/);
  });

  it('refuses to run without a GitHub client', async () => {
    await expect(provider.issue(buildGrant(), buildProviderContext(resource()))).rejects.toThrow(
      ConfigurationError,
    );
  });
});

describe('github-team revoke', () => {
  const issued = {
    provider: 'github-team',
    team: 'acme/sre',
    role: 'member',
    login: 'alice',
    before_role: 'none',
    already_member: false,
  };

  it('removes the membership it gave', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${MEMBERSHIP}/alice`)
      .reply(204);
    await provider.revoke(
      buildGrant({ issued }),
      buildProviderContext(resource(), { github: github() }),
    );
  });

  it('succeeds when the membership is already gone', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${MEMBERSHIP}/alice`)
      .reply(404, { message: 'Not Found' });
    const ctx = buildProviderContext(resource(), { github: github() });
    await provider.revoke(buildGrant({ issued }), ctx);
    expect(ctx.logs).toEqual(['github-team: already gone: alice from acme/sre']);
  });

  it('never removes a membership that existed before the grant', async () => {
    // No mocks: any request would fail the test.
    const ctx = buildProviderContext(resource(), { github: github() });
    await provider.revoke(
      buildGrant({ issued: { ...issued, before_role: 'member', already_member: true } }),
      ctx,
    );
    expect(ctx.logs[0]).toMatch(/alice had this role of acme\/sre before; left as is/);
  });

  it('keeps the membership while another live grant of the same person needs it', async () => {
    const other = buildGrant({ id: 'g2', status: 'active', issued: { ...issued, joined: 'g1' } });
    const ctx = buildProviderContext(resource(), { github: github(), liveGrants: [other] });
    await provider.revoke(buildGrant({ issued }), ctx);
    expect(ctx.logs[0]).toMatch(/g2 still give alice acme\/sre; kept/);
  });

  it("removes it when the other grants are someone else's or no longer active", async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${MEMBERSHIP}/alice`)
      .reply(204);
    const liveGrants = [
      buildGrant({ id: 'g2', requester: { login: 'bob', id: 2 }, issued }),
      buildGrant({ id: 'g3', status: 'expired', issued }),
      buildGrant({ id: 'g4', issued: { ...issued, team: 'acme/other' } }),
      // Facts a command script printed are not a team provider's record.
      buildGrant({ id: 'g5', issued: { ...issued, provider: 'command' } }),
      buildGrant({ id: 'g1', issued }),
    ];
    await provider.revoke(
      buildGrant({ issued }),
      buildProviderContext(resource(), { github: github(), liveGrants }),
    );
  });

  it('removes, not demotes, when a legacy member grant claims to have promoted someone', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${MEMBERSHIP}/alice`)
      .reply(204);
    const { before_role: _, provider: __, ...legacy } = issued;
    await provider.revoke(
      buildGrant({ issued: { ...legacy, previous_role: 'member' } }),
      buildProviderContext(resource(), { github: github() }),
    );
  });

  it('demotes a promoted member back instead of removing them', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(200, teamMembership('maintainer', 'active'))
      .put(`${MEMBERSHIP}/alice`, { role: 'member' })
      .reply(200, teamMembership('member', 'active'));
    await provider.revoke(
      buildGrant({ issued: { ...issued, role: 'maintainer', before_role: 'member' } }),
      buildProviderContext(resource('maintainer'), { github: github() }),
    );
  });
});

describe('github-team list', () => {
  it('lists current members by login for drift detection', async () => {
    nock(API)
      .get('/orgs/acme/teams/sre/members')
      .query({ per_page: '100' })
      .reply(200, [simpleUser('alice', 1), simpleUser('bob', 2)])
      .get('/orgs/acme/teams/sre/members')
      .query({ per_page: '100', role: 'maintainer' })
      .reply(200, [simpleUser('bob', 2)]);
    const live = await provider.list!(buildProviderContext(resource(), { github: github() }));
    expect(live).toEqual([
      {
        key: 'alice',
        description: 'team acme/sre: alice (member)',
        person: { login: 'alice', id: 1 },
        level: 'member',
      },
      {
        key: 'bob',
        description: 'team acme/sre: bob (maintainer)',
        person: { login: 'bob', id: 2 },
        level: 'maintainer',
      },
    ]);
  });
});

describe('github-team issue retried after a crash (two-phase issue)', () => {
  it('observes the pre-state before any change, without adding anyone', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(200, teamMembership('member', 'active'));
    const pre = await provider.prepareIssue!(
      buildGrant({ status: 'approved' }),
      buildProviderContext(resource('maintainer'), { github: github() }),
    );
    expect(pre).toEqual({
      provider: 'github-team',
      team: 'acme/sre',
      role: 'maintainer',
      login: 'alice',
      before_role: 'member',
      already_member: false,
    });
  });

  it('does not mistake the membership its own crashed attempt added for a pre-existing one', async () => {
    // The first attempt added alice and died before committing; the pre-state was committed.
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(200, teamMembership('member', 'active'));
    const grant = buildGrant({
      status: 'approved',
      issued: {
        provider: 'github-team',
        team: 'acme/sre',
        role: 'member',
        login: 'alice',
        before_role: 'none',
        already_member: false,
      },
    });
    const issued = await provider.issue(
      grant,
      buildProviderContext(resource(), { github: github() }),
    );
    expect(issued.facts).toEqual({
      provider: 'github-team',
      team: 'acme/sre',
      role: 'member',
      login: 'alice',
      state: 'active',
      before_role: 'none',
      already_member: false,
    });

    // …so the revoke takes it away again.
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .delete(`${MEMBERSHIP}/alice`)
      .reply(204);
    await provider.revoke(
      { ...grant, status: 'active', issued: issued.facts },
      buildProviderContext(resource(), { github: github() }),
    );
  });

  it('keeps a recorded pre-existing membership as pre-existing on retry', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(200, teamMembership('maintainer', 'active'));
    const issued = await provider.issue(
      buildGrant({
        status: 'approved',
        issued: {
          provider: 'github-team',
          team: 'acme/sre',
          role: 'member',
          login: 'alice',
          before_role: 'member',
          already_member: true,
        },
      }),
      buildProviderContext(resource(), { github: github() }),
    );
    expect(issued.facts.already_member).toBe(true);
  });

  it('adds the membership when a recorded member left before the retry, and owns it then', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(404, { message: 'Not Found' })
      .put(`${MEMBERSHIP}/alice`, { role: 'member' })
      .reply(200, teamMembership('member', 'active'));
    const issued = await provider.issue(
      buildGrant({
        status: 'approved',
        issued: {
          provider: 'github-team',
          team: 'acme/sre',
          role: 'member',
          login: 'alice',
          before_role: 'member',
          already_member: true,
        },
      }),
      buildProviderContext(resource(), { github: github() }),
    );
    expect(issued.facts).toMatchObject({ already_member: false, before_role: 'none' });
  });
});

describe('github-team issue within one step (prepare, marker, issue)', () => {
  const prepared = (pre: Record<string, string | boolean>) =>
    buildGrant({
      status: 'approved',
      issued: { provider: 'github-team', team: 'acme/sre', role: 'member', login: 'alice', ...pre },
    });

  it('asks for the membership once: issue takes what prepare saw moments before', async () => {
    // One GET of the membership; a second would be left unanswered and fail the test.
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(404, { message: 'Not Found' })
      .get('/user/1')
      .reply(200, account('alice', 1))
      .put(`${MEMBERSHIP}/alice`, { role: 'member' })
      .reply(200, teamMembership('member', 'active'));
    const ctx = buildProviderContext(resource(), { github: github(), stepReads: new StepReads() });
    const pre = await provider.prepareIssue!(buildGrant({ status: 'approved' }), ctx);
    const issued = await provider.issue(prepared(pre as Record<string, string | boolean>), ctx);
    expect(issued.facts).toMatchObject({ before_role: 'none', state: 'active' });
  });

  it('asks again when the issue resumes in a later step, and sees what changed meanwhile', async () => {
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(404, { message: 'Not Found' });
    const pre = await provider.prepareIssue!(
      buildGrant({ status: 'approved' }),
      buildProviderContext(resource(), { github: github(), stepReads: new StepReads() }),
    );
    // The run died after the marker; someone made alice a member by hand before the next run.
    nock(API)
      .get('/user/1')
      .reply(200, account('alice', 1))
      .get(`${MEMBERSHIP}/alice`)
      .reply(200, teamMembership('member', 'active'));
    const issued = await provider.issue(
      prepared(pre as Record<string, string | boolean>),
      buildProviderContext(resource(), { github: github(), stepReads: new StepReads() }),
    );
    // Nothing added: the membership is there; the pre-state stays what was seen before acting.
    expect(issued.facts).toMatchObject({ before_role: 'none', state: 'active' });
  });
});
