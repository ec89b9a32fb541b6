import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import type { Grant } from '../../src/core/grant.js';
import { serializeGrant } from '../../src/core/grant-file.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  alice,
  clockAt,
  eventsOnMain,
  FakeProvider,
  grantOnMain,
  landGrant,
  mockComments,
  mockMergedPr,
  pendingGrant,
  POLICY,
  runOnce,
  setupRepo,
  type TestRepo,
} from '../helpers/reconcile.js';

enableContractChecks();
let repo: TestRepo;
let fake: FakeProvider;
const provider = () => fake;

beforeEach(() => {
  nock.disableNetConnect();
  fake = new FakeProvider();
});
afterEach(() => {
  nock.cleanAll();
  repo.cleanup();
});

/** Lands `grant` through "merged PR" `n + 1000`, approved by bob, and mocks GitHub's view of it. */
async function land(
  grant: Grant,
  o: Parameters<typeof mockMergedPr>[3] = grant.extends ? { mergedAt: '2030-01-01T10:25:00Z' } : {},
): Promise<void> {
  const pr = grant.source.pull_request!;
  const sha = await landGrant(repo, grant, pr);
  mockMergedPr(grant, pr, sha, o);
}

/** req-1 for 1h, issued at 10:06, expiring at 11:06. */
async function activeGrant(): Promise<void> {
  await land(pendingGrant(repo, 1));
  mockComments();
  const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
  expect(result.events.map((e) => e.event)).toEqual(['approved', 'issued']);
  fake.calls.length = 0;
}

const extension = (n: number, duration: number, o: Partial<Grant> = {}): Grant =>
  pendingGrant(repo, 1, {
    id: `req-1-ext-${n}`,
    duration,
    extends: 'req-1',
    source: { issue: 1, pull_request: 2000 + n },
    requested_at: '2030-01-01T10:20:00.000Z',
    ...o,
  });

describe('extension: /extend, once approved, moves the same grant', () => {
  beforeEach(async () => {
    repo = await setupRepo();
  });

  it('moves expires_at of the same grant, calls provider.extend, and never revokes or re-issues', async () => {
    await activeGrant();
    await land(extension(1, 3600));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:30:00Z'), provider });

    expect(result.failures).toEqual([]);
    expect(fake.calls).toEqual(['extend req-1 until 2030-01-01T12:06:00.000Z']);
    expect(fake.world.get('req-1')).toBe(1);
    expect(fake.world.has('req-1-ext-1')).toBe(false);
    const target = await grantOnMain(repo, 'req-1');
    expect(target?.grant).toMatchObject({
      status: 'active',
      issued_at: '2030-01-01T10:06:00.000Z',
      expires_at: '2030-01-01T12:06:00.000Z',
      issued: { valid_until: '2030-01-01T12:06:00.000Z' },
    });
    const ext = await grantOnMain(repo, 'req-1-ext-1');
    expect(ext?.path).toMatch(/^grants\/archive\/2030\/01\/prod-db\/req-1-ext-1\.yaml$/);
    expect(ext?.grant.status).toBe('expired');
    expect(ext?.grant.end_reason).toContain('applied: req-1 now expires at 2030-01-01T12:06');
    expect(await eventsOnMain(repo, 'req-1')).toEqual([
      'requested',
      'approved',
      'issuing',
      'issued',
      'extended',
    ]);
    expect(await eventsOnMain(repo, 'req-1-ext-1')).toEqual(['requested', 'approved']);

    // Later the grant expires at the new time, not the old one.
    const before = await runOnce(repo, { clock: clockAt('2030-01-01T11:30:00Z'), provider });
    expect(before.result.events).toEqual([]);
    const after = await runOnce(repo, { clock: clockAt('2030-01-01T12:07:00Z'), provider });
    expect(after.result.events.map((e) => e.event)).toEqual(['expired']);
  });

  it('applies two racing extensions one after the other, each against the expiry the other left', async () => {
    await activeGrant();
    await land(extension(1, 3600));
    await land(extension(2, 1800));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:30:00Z'), provider });

    expect(result.failures).toEqual([]);
    expect(fake.calls).toEqual([
      'extend req-1 until 2030-01-01T12:06:00.000Z',
      'extend req-1 until 2030-01-01T12:36:00.000Z',
    ]);
    expect((await grantOnMain(repo, 'req-1'))?.grant.expires_at).toBe('2030-01-01T12:36:00.000Z');
    expect((await eventsOnMain(repo, 'req-1')).filter((e) => e === 'extended')).toHaveLength(2);
    // A second run finds nothing left to apply.
    fake.calls.length = 0;
    const again = await runOnce(repo, { clock: clockAt('2030-01-01T10:31:00Z'), provider });
    expect(again.result.events).toEqual([]);
    expect(fake.calls).toEqual([]);
  });

  it('applies the first of two racing extensions and closes the second when together they pass the bound', async () => {
    // max_duration 4h → max_total_duration 8h by default; 1h + 4h fits, 1h + 4h + 4h does not.
    await activeGrant();
    await land(extension(1, 4 * 3600));
    await land(extension(2, 4 * 3600));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:30:00Z'), provider });

    expect(result.failures).toEqual([]);
    expect(fake.calls).toEqual(['extend req-1 until 2030-01-01T15:06:00.000Z']);
    expect((await grantOnMain(repo, 'req-1'))?.grant.expires_at).toBe('2030-01-01T15:06:00.000Z');
    const second = await grantOnMain(repo, 'req-1-ext-2');
    expect(second?.grant.status).toBe('expired');
    expect(second?.grant.end_reason).toMatch(/^not applied: .*more than the 8h allowed/);
  });

  it('denies an extension beyond max_total_duration', async () => {
    repo.cleanup();
    repo = await setupRepo(
      POLICY.replace('max_duration: 4h', 'max_duration: 1h') + '    max_total_duration: 90m\n',
    );
    await activeGrant();
    await land(extension(1, 3600));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:30:00Z'), provider });

    expect(result.events.map((e) => [e.grant, e.event])).toEqual([['req-1-ext-1', 'refused']]);
    expect(fake.calls).toEqual([]);
    expect((await grantOnMain(repo, 'req-1'))?.grant.expires_at).toBe('2030-01-01T11:06:00.000Z');
    const ext = await grantOnMain(repo, 'req-1-ext-1');
    expect(ext?.grant.status).toBe('denied');
    expect(ext?.grant.end_reason).toContain('more than the 1h30m allowed');
  });

  it('denies an extension of a grant that has expired', async () => {
    await activeGrant();
    await land(extension(1, 3600));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T11:10:00Z'), provider });

    expect(result.events.map((e) => [e.grant, e.event])).toEqual([
      ['req-1', 'expired'],
      ['req-1-ext-1', 'refused'],
    ]);
    expect(fake.calls).toEqual(['revoke req-1']);
    expect((await grantOnMain(repo, 'req-1-ext-1'))?.grant.end_reason).toContain(
      'req-1 is not live on the default branch',
    );
  });

  it('denies an extension of a grant being revoked, and revokes it', async () => {
    await activeGrant();
    const g = (await grantOnMain(repo, 'req-1'))!;
    const clone = await repo.cloneAgain('revoker');
    repo.write(
      g.path,
      serializeGrant({
        ...g.grant,
        revoke_requested: { by: alice, at: '2030-01-01T10:10:00.000Z' },
      }),
      clone.dir,
    );
    await clone.add(['.']);
    await clone.commit('revoke requested');
    await clone.push('origin', 'main');
    await land(extension(1, 3600));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:30:00Z'), provider });
    expect(result.events.map((e) => [e.grant, e.event]).slice(0, 2)).toEqual([
      ['req-1', 'revoked'],
      ['req-1-ext-1', 'refused'],
    ]);
    expect(fake.calls).toEqual(['revoke req-1']);
  });
});

describe('scheduled start and request expiry in the action', () => {
  beforeEach(async () => {
    repo = await setupRepo();
  });

  it('issues a grant with a start time at that time, not at the merge', async () => {
    await land(pendingGrant(repo, 1, { start_at: '2030-01-01T12:00:00.000Z' }));
    mockComments();
    const early = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(early.result.events.map((e) => e.event)).toEqual(['approved']);
    expect(fake.world.size).toBe(0);
    const still = await runOnce(repo, { clock: clockAt('2030-01-01T11:59:00Z'), provider });
    expect(still.result.events).toEqual([]);
    expect(fake.calls).toEqual([]);

    const due = await runOnce(repo, { clock: clockAt('2030-01-01T12:01:00Z'), provider });
    expect(due.result.events.map((e) => e.event)).toEqual(['issued']);
    expect((await grantOnMain(repo, 'req-1'))?.grant).toMatchObject({
      status: 'active',
      issued_at: '2030-01-01T12:01:00.000Z',
      expires_at: '2030-01-01T13:01:00.000Z',
    });
  });

  it('never issues a scheduled grant whose start window passed', async () => {
    await land(pendingGrant(repo, 1, { start_at: '2030-01-01T12:00:00.000Z' }));
    mockComments();
    await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    const late = await runOnce(repo, { clock: clockAt('2030-01-01T13:30:00Z'), provider });
    expect(late.result.events.map((e) => e.event)).toEqual(['expired']);
    expect(fake.calls).toEqual([]);
  });

  it('refuses a request approved after its TTL even though it was merged', async () => {
    // Requested at 10:00 on Jan 1 with the default 24h TTL; approved and merged on Jan 2.
    await land(pendingGrant(repo, 1), {
      reviewedAt: '2030-01-02T10:30:00Z',
      mergedAt: '2030-01-02T10:31:00Z',
    });
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-02T10:35:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect(fake.calls).toEqual([]);
    expect((await grantOnMain(repo, 'req-1'))?.grant.end_reason).toContain('request expired');
  });

  it('issues a request approved within its TTL even when the run comes later', async () => {
    await land(pendingGrant(repo, 1), {
      reviewedAt: '2030-01-02T09:30:00Z',
      mergedAt: '2030-01-02T09:31:00Z',
    });
    mockComments();
    // After the TTL's deadline (Jan 2, 10:00), within the start window of the merge.
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-02T10:20:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['approved', 'issued']);
  });
});
