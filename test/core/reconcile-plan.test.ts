import { describe, expect, it } from '@jest/globals';
import type { Grant } from '../../src/core/grant.js';
import { grantPath, serializeGrant } from '../../src/core/grant-file.js';
import type { PolicySet } from '../../src/core/policy.js';
import {
  describeStep,
  issueStartedAt,
  planReconcile,
  readGrantFiles,
  START_WINDOW,
} from '../../src/core/reconcile-plan.js';
import { buildGrant, buildResource, bob } from '../helpers/build.js';

const policies: PolicySet = { resources: new Map([['prod-db', buildResource()]]) };
const approval = {
  approved_at: '2030-01-01T10:05:00.000Z',
  rule: 'reviews',
  approvers: [{ login: 'alice', id: 101, review_id: 1 }],
};
const approved = (o: Partial<Grant> = {}): Grant =>
  buildGrant({ status: 'approved', approval, ...o });
const active = (o: Partial<Grant> = {}): Grant =>
  approved({
    status: 'active',
    issued_at: '2030-01-01T10:06:00.000Z',
    expires_at: '2030-01-01T11:06:00.000Z',
    ...o,
  });
const at = (iso: string) => new Date(iso);
const plan = (grants: Grant[], now: string) =>
  planReconcile(
    grants.map((grant) => ({ path: grantPath(grant.resource, grant.id), grant })),
    policies,
    at(now),
  );
const kinds = (p: ReturnType<typeof plan>) => p.steps.map((s) => `${s.kind} ${s.grant.id}`);

describe('planReconcile', () => {
  it('verifies a pending grant that reached the default branch', () => {
    expect(kinds(plan([buildGrant()], '2030-01-01T10:06:00Z'))).toEqual(['verify req-42']);
  });

  it('issues an approved grant from its approval time, for its duration', () => {
    const [step] = plan([approved()], '2030-01-01T10:06:00Z').steps;
    expect(step).toMatchObject({
      kind: 'issue',
      issuedAt: '2030-01-01T10:06:00.000Z',
      expiresAt: '2030-01-01T11:06:00.000Z',
      resume: false,
    });
  });

  it('caps the window at the policy maximum in force now', () => {
    const [step] = plan([approved({ duration: 8 * 3600 })], '2030-01-01T10:06:00Z').steps;
    expect(step).toMatchObject({ kind: 'issue', expiresAt: '2030-01-01T14:06:00.000Z' });
  });

  it('waits for a scheduled start, then issues within the window, then gives up', () => {
    const g = approved({ start_at: '2030-01-01T12:00:00.000Z' });
    expect(kinds(plan([g], '2030-01-01T11:59:59Z'))).toEqual([]);
    expect(kinds(plan([g], '2030-01-01T12:59:00Z'))).toEqual(['issue req-42']);
    const late = plan(
      [g],
      new Date(Date.parse(g.start_at!) + START_WINDOW * 1000 + 1000).toISOString(),
    );
    expect(late.steps).toEqual([
      expect.objectContaining({ kind: 'revoke', to: 'expired', effect: false }),
    ]);
  });

  it('never opens a start window longer than the grant itself', () => {
    const g = approved({ duration: 15 * 60 });
    expect(plan([g], '2030-01-01T10:21:00Z').steps[0]).toMatchObject({ effect: false });
  });

  it('resumes an interrupted issue with the window anchored at the attempt', () => {
    const g = approved({ issued: { issue_started_at: '2030-01-01T10:06:00.000Z' } });
    expect(plan([g], '2030-01-01T10:50:00Z').steps[0]).toMatchObject({
      kind: 'issue',
      resume: true,
      issuedAt: '2030-01-01T10:06:00.000Z',
      expiresAt: '2030-01-01T11:06:00.000Z',
    });
    // Too late to finish: access the attempt may have given is taken back.
    expect(plan([g], '2030-01-01T11:06:00Z').steps[0]).toMatchObject({
      kind: 'revoke',
      to: 'expired',
      effect: true,
    });
  });

  it('revokes an active grant at expiry, not a second before', () => {
    expect(kinds(plan([active()], '2030-01-01T11:05:59Z'))).toEqual([]);
    expect(plan([active()], '2030-01-01T11:06:00Z').steps[0]).toMatchObject({
      kind: 'revoke',
      to: 'expired',
      effect: true,
      actor: 'schedule',
    });
  });

  it('revokes on request, naming the person, and skips the provider for a never-issued grant', () => {
    const revoke_requested = { by: bob, at: '2030-01-01T10:10:00.000Z', reason: 'done' };
    expect(plan([active({ revoke_requested })], '2030-01-01T10:11:00Z').steps[0]).toMatchObject({
      kind: 'revoke',
      to: 'revoked',
      effect: true,
      actor: 'bob (102)',
      reason: 'revoked by @bob: done',
    });
    expect(
      plan(
        [approved({ start_at: '2030-01-02T00:00:00.000Z', revoke_requested })],
        '2030-01-01T10:11:00Z',
      ).steps[0],
    ).toMatchObject({ kind: 'revoke', to: 'revoked', effect: false });
  });

  it('archives terminal grants left in the hot path, by the month they ended', () => {
    const ended = active({
      status: 'expired',
      ended_at: '2030-02-03T00:00:00.000Z',
    });
    expect(plan([ended], '2030-02-03T00:00:00Z').steps[0]).toMatchObject({
      kind: 'archive',
      to: 'grants/archive/2030/02/prod-db/req-42.yaml',
    });
  });

  it('orders revocations before anything that gives access', () => {
    const p = plan(
      [approved({ id: 'a-1' }), buildGrant({ id: 'b-2' }), active({ id: 'c-3' })],
      '2030-01-01T11:06:00Z',
    );
    expect(kinds(p)).toEqual(['revoke a-1', 'revoke c-3', 'verify b-2']);
  });

  it('does not issue for a resource no policy defines, and says so', () => {
    const p = plan([approved({ resource: 'gone' })], '2030-01-01T10:06:00Z');
    expect(p.steps).toEqual([]);
    expect(p.problems[0]?.message).toMatch(/no policy defines resource "gone"/);
  });

  it('lists approved and active grants as live', () => {
    const p = plan(
      [approved({ id: 'a-1' }), active({ id: 'c-3' }), buildGrant({ id: 'p-1' })],
      '2030-01-01T10:06:00Z',
    );
    expect(p.live.map((g) => g.id)).toEqual(['a-1', 'c-3']);
  });

  it('describes every step in one line', () => {
    const p = plan([active()], '2030-01-01T11:06:00Z');
    expect(describeStep(p.steps[0]!)).toBe(
      'revoke prod-db/req-42 → expired: the grant reached its expiry',
    );
  });
});

describe('readGrantFiles', () => {
  it('reports a corrupt file and keeps the others', () => {
    const good = buildGrant({ id: 'req-1' });
    const r = readGrantFiles([
      { path: 'grants/prod-db/req-1.yaml', text: serializeGrant(good) },
      { path: 'grants/prod-db/req-2.yaml', text: 'id: [' },
    ]);
    expect(r.grants.map((g) => g.grant.id)).toEqual(['req-1']);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.file).toBe('grants/prod-db/req-2.yaml');
  });
});

describe('issueStartedAt', () => {
  const marked = (started: string) => approved({ issued: { issue_started_at: started } });
  it('trusts a marker the action could have written: after the approval, not in the future', () => {
    const now = at('2030-01-01T10:10:00Z');
    expect(issueStartedAt(marked('2030-01-01T10:06:00Z'), now)).toBe(
      Date.parse('2030-01-01T10:06:00Z'),
    );
  });
  it('ignores a marker from the future or from before the approval, which would anchor a forged window', () => {
    const now = at('2030-01-01T10:10:00Z');
    expect(issueStartedAt(marked('2031-01-01T00:00:00Z'), now)).toBeNull();
    expect(issueStartedAt(marked('2029-12-31T00:00:00Z'), now)).toBeNull();
    // The plan then issues afresh, for the grant's own duration from now.
    const p = plan([marked('2031-01-01T00:00:00Z')], '2030-01-01T10:10:00Z');
    expect(p.steps[0]).toMatchObject({ kind: 'issue', resume: false });
  });
});
