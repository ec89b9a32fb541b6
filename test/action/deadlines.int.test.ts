import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { run, type ActionCore, type SummaryLike } from '../../src/action/run.js';
import { fixedClock } from '../../src/core/clock.js';
import { parseTrailers } from '../../src/core/trailers.js';
import { enableContractChecks, exampleResponse } from '../helpers/openapi.js';
import {
  alice,
  API,
  clockAt,
  eventsOnMain,
  grantOnMain,
  landGrant,
  mockComments,
  mockMergedPr,
  pendingGrant,
  runOnce,
  setupRepo,
  TEAM_POLICY,
  type TestRepo,
} from '../helpers/reconcile.js';
import { mockTeam } from '../helpers/team-mock.js';

/** An @actions/core stand-in that records what the action reports. */
function fakeCore(inputs: Record<string, string>) {
  const info: string[] = [];
  const failed: string[] = [];
  let summary = '';
  const s: SummaryLike = {
    addRaw: (t) => {
      summary += t;
      return s;
    },
    write: async () => s,
  };
  const core: ActionCore = {
    getInput: (name) => inputs[name] ?? '',
    setOutput: () => {},
    setFailed: (m) => void failed.push(String(m)),
    setSecret: () => {},
    info: (m) => void info.push(m),
    warning: (m) => void info.push(`warning: ${m}`),
    summary: s,
  };
  return { core, info, failed, summary: () => summary };
}

/** The trailers of the last commit on main about `id`. */
async function lastTrailers(repo: TestRepo, id: string) {
  let last: ReturnType<typeof parseTrailers> = null;
  for await (const c of repo.origin.logTrailers({ rev: 'main', reverse: true })) {
    const t = parseTrailers(c.message);
    if (t && t.grant === id) last = t;
  }
  return last;
}

enableContractChecks();
let repo: TestRepo;
let team: ReturnType<typeof mockTeam>;
beforeEach(async () => {
  nock.disableNetConnect();
  repo = await setupRepo(TEAM_POLICY);
  team = mockTeam();
  mockComments();
});
afterEach(() => {
  nock.cleanAll();
  repo.cleanup();
});

/** alice's sre-team grant, issued at 10:06, expiring at 11:06. */
async function activeGrant(requesterLogin?: string) {
  const grant = pendingGrant(repo, 1, { resource: 'sre-team' });
  mockMergedPr(grant, 1001, await landGrant(repo, grant, 1001), {
    ...(requesterLogin ? { requesterLogin } : {}),
  });
  const first = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z') });
  expect(first.result.failures).toEqual([]);
  expect(team.member()).toBe(true);
  return grant;
}

describe('Actions only: the run waits for a deadline due before the next scheduled run', () => {
  async function runAction(at: string, inputs: Record<string, string>) {
    const checkout = await repo.cloneAgain(`action-${Math.random().toString(36).slice(2)}`);
    const clock = fixedClock(at);
    const slept: number[] = [];
    const f = fakeCore({
      token: 'ghs_testtokentesttokentesttoken0000',
      'working-directory': checkout.dir,
      ...inputs,
    });
    await run({
      core: f.core,
      env: {
        GITHUB_REPOSITORY: 'acme/access',
        GITHUB_WORKSPACE: '/',
        GITHUB_REF: 'refs/heads/main',
      },
      clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock.advance(ms / 1000);
      },
    });
    return { ...f, slept };
  }

  it('stays up until the expiry and revokes on time, recording the lateness', async () => {
    await activeGrant();
    const r = await runAction('2030-01-01T11:03:30Z', { 'deadline-wait': '5m' });
    expect(r.failed).toEqual([]);
    expect(r.slept).toEqual([150_000]);
    expect(team.member()).toBe(false);
    const ended = (await grantOnMain(repo, 'req-1'))!.grant;
    expect(ended).toMatchObject({ status: 'expired', ended_at: '2030-01-01T11:06:00.000Z' });
    expect(await lastTrailers(repo, 'req-1')).toMatchObject({ event: 'expired', lateness: 0 });
    expect(await eventsOnMain(repo, 'req-1')).toEqual([
      'requested',
      'approved',
      'issuing',
      'issued',
      'expired',
    ]);
    expect(r.summary()).toMatch(/\| req-1 \| @alice \| sre-team \| expired \| {2}\| 0 s \|/);
  });

  it('does not wait for a deadline past the bound, nor with the app as the timer', async () => {
    await activeGrant();
    const far = await runAction('2030-01-01T10:50:00Z', { 'deadline-wait': '5m' });
    expect(far.slept).toEqual([]);
    const app = await runAction('2030-01-01T11:03:30Z', {
      'deadline-wait': '5m',
      'deadline-timer': 'app',
    });
    expect(app.slept).toEqual([]);
    expect(team.member()).toBe(true);
  });

  it('records how late a schedule-driven expiry was, in the trailer and the summary', async () => {
    await activeGrant();
    const r = await runAction('2030-01-01T11:36:10Z', {});
    expect(r.failed).toEqual([]);
    const expired: string[] = [];
    for await (const c of repo.origin.logTrailers({ rev: 'main' })) {
      const t = parseTrailers(c.message);
      if (t?.event === 'expired') expired.push(`${t.lateness} ${t.reason}`);
    }
    expect(expired).toEqual(['1810 the grant reached its expiry']);
    expect(r.summary()).toContain('| 1810 s |');
  });

  it('refuses a deadline-wait that is not a duration', async () => {
    const r = await runAction('2030-01-01T11:03:30Z', { 'deadline-wait': 'soon' });
    expect(r.failed[0]).toMatch(/deadline-wait must be a duration/);
  });
});

describe('offboarding: the next run revokes every live grant of someone who may no longer hold it', () => {
  const org = { ...(exampleResponse('GET', '/orgs/{org}') as object), archived_at: null };
  const membership = (state: string) => ({
    ...(exampleResponse('GET', '/orgs/{org}/memberships/{username}') as object),
    state,
  });

  async function offboardRun() {
    const r = await runOnce(repo, { clock: clockAt('2030-01-01T10:20:00Z'), offboarding: true });
    expect(r.result.failures).toEqual([]);
    return r;
  }

  it('an account that is gone', async () => {
    await activeGrant();
    // GitHub forgets the account: a fresh API, where alice is still in the team.
    nock.cleanAll();
    team = mockTeam();
    team.set(true);
    nock(API)
      .get(`/user/${alice.id}`)
      .times(2) // the run's lookup, and the provider's own before removing
      .reply(404, { message: 'Not Found' })
      .get('/orgs/acme')
      .reply(200, org);
    const r = await offboardRun();
    expect(r.result.events.map((e) => `${e.grant} ${e.event}`)).toEqual(['req-1 revoked']);
    const ended = (await grantOnMain(repo, 'req-1'))!.grant;
    expect(ended.end_reason).toBe('offboarding: the account of @alice (1001) is gone');
    let revoked: ReturnType<typeof parseTrailers> = null;
    for await (const c of repo.origin.logTrailers({ rev: 'main' }))
      if (parseTrailers(c.message)?.event === 'revoked') revoked = parseTrailers(c.message);
    expect(revoked).toMatchObject({
      actor: 'offboarding',
      reason: 'offboarding: the account of @alice (1001) is gone',
    });
  });

  it('someone the organization says has left', async () => {
    await activeGrant();
    nock(API)
      .get('/orgs/acme')
      .reply(200, org)
      .get('/orgs/acme/memberships/alice')
      .reply(404, { message: 'Not Found' });
    const r = await offboardRun();
    expect(r.result.events[0]).toMatchObject({ grant: 'req-1', event: 'revoked' });
    expect((await grantOnMain(repo, 'req-1'))!.grant.end_reason).toBe(
      'offboarding: @alice is no longer a member of the organization',
    );
  });

  it('no one while they are still a member and still among the requesters', async () => {
    await activeGrant();
    nock(API)
      .get('/orgs/acme')
      .reply(200, org)
      .get('/orgs/acme/memberships/alice')
      .reply(200, membership('active'));
    const r = await offboardRun();
    expect(r.result.events).toEqual([]);
    expect(team.member()).toBe(true);
  });

  it('a policy push that removes them from requesters', async () => {
    await activeGrant();
    const clone = await repo.cloneAgain('policy-change');
    repo.write(
      'policies/example.yaml',
      TEAM_POLICY.replace('requesters: [alice]', 'requesters: [carol]'),
      clone.dir,
    );
    await clone.add(['policies']);
    await clone.commit('Only carol may request sre-team');
    expect(await clone.push('origin', 'main')).toBe('ok');
    nock(API)
      .get('/orgs/acme')
      .reply(200, org)
      .get('/orgs/acme/memberships/alice')
      .reply(200, membership('active'));
    await offboardRun();
    expect(team.member()).toBe(false);
    expect((await grantOnMain(repo, 'req-1'))!.grant.end_reason).toBe(
      'offboarding: @alice is no longer among the requesters of "sre-team" (directly or through a team)',
    );
  });

  it('fails the run visibly, and still revokes what is due, when the lookups fail', async () => {
    await activeGrant();
    nock(API).get('/orgs/acme').reply(500, { message: 'boom' });
    const r = await runOnce(repo, { clock: clockAt('2030-01-01T11:07:00Z'), offboarding: true });
    expect(r.result.failures.map((f) => f.step)).toEqual(['offboarding']);
    expect(r.result.events[0]).toMatchObject({ event: 'expired', lateness: 60 });
  });
});
