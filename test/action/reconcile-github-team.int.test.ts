import { afterEach, beforeEach, expect, it } from '@jest/globals';
import nock from 'nock';
import { simpleUser, teamMembership } from '../helpers/github-fixtures.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  API,
  clockAt,
  eventsOnMain,
  grantOnMain,
  landGrant,
  mockMergedPr,
  pendingGrant,
  runOnce,
  setupRepo,
  TEAM_MEMBERSHIP,
  TEAM_POLICY,
  type TestRepo,
} from '../helpers/reconcile.js';

enableContractChecks();
let repo: TestRepo;
beforeEach(async () => {
  nock.disableNetConnect();
  repo = await setupRepo(TEAM_POLICY);
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  repo.cleanup();
  expect(pending).toEqual([]);
});

it('github-team end to end: a crash after adding the member still removes the membership at expiry', async () => {
  const grant = pendingGrant(repo, 1, { resource: 'sre-team' });
  const sha = await landGrant(repo, grant, 1001);
  mockMergedPr(grant, 1001, sha);
  nock(API)
    .persist()
    .get('/orgs/acme/teams/sre/members')
    .query(true)
    .reply(200, [simpleUser('carol', 3)]);

  // Run 1: verify, record the pre-state (not a member), add alice, then die before the commit.
  // One read of the membership: the issue takes the pre-state read of the same step.
  const added = nock(API)
    .get(TEAM_MEMBERSHIP)
    .reply(404, { message: 'Not Found' })
    .put(TEAM_MEMBERSHIP, { role: 'member' })
    .reply(200, teamMembership('member', 'active'));
  await expect(
    runOnce(repo, {
      clock: clockAt('2030-01-01T10:06:00Z'),
      hook: (p) => {
        if (p === 'after-effect') throw new Error('killed');
      },
    }),
  ).rejects.toThrow(/run aborted at after-effect/);
  expect(added.isDone()).toBe(true);
  const marked = (await grantOnMain(repo, 'req-1'))!.grant;
  expect(marked.status).toBe('approved');
  expect(marked.issued).toMatchObject({ already_member: false, login: 'alice' });

  // Run 2: alice is a member now (our own doing): recorded as given by gatepass, not pre-existing.
  nock(API).get(TEAM_MEMBERSHIP).reply(200, teamMembership('member', 'active'));
  const second = await runOnce(repo, { clock: clockAt('2030-01-01T10:07:00Z') });
  expect(second.result.failures).toEqual([]);
  const active = (await grantOnMain(repo, 'req-1'))!.grant;
  expect(active.status).toBe('active');
  expect(active.issued).toEqual({
    provider: 'github-team',
    before_role: 'none',
    team: 'acme/sre',
    role: 'member',
    login: 'alice',
    state: 'active',
    already_member: false,
  });
  // The window starts when the first attempt began, not when the crash was recovered.
  expect(active.issued_at).toBe('2030-01-01T10:06:00.000Z');

  // Run 3, at expiry: the membership gatepass gave is taken away.
  const removed = nock(API).delete(TEAM_MEMBERSHIP).reply(204);
  const third = await runOnce(repo, { clock: clockAt('2030-01-01T11:06:00Z') });
  expect(third.result.failures).toEqual([]);
  expect(removed.isDone()).toBe(true);
  expect(await eventsOnMain(repo, 'req-1')).toEqual([
    'requested',
    'approved',
    'issuing',
    'issued',
    'expired',
  ]);
});
