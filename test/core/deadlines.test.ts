import { describe, expect, it } from '@jest/globals';
import {
  collectDeadlines,
  grantDeadlines,
  lateness,
  nextDeadlineWithin,
} from '../../src/core/deadlines.js';
import type { Grant } from '../../src/core/grant.js';
import { grantPath } from '../../src/core/grant-file.js';
import type { PolicySet } from '../../src/core/policy.js';
import { planReconcile, START_WINDOW } from '../../src/core/reconcile-plan.js';
import { buildGrant, buildResource, dave } from '../helpers/build.js';

const policies: PolicySet = {
  resources: new Map([
    [
      'prod-db',
      buildResource({
        break_glass: { allowed: ['dave'], max_duration: 3600, review_within: 2 * 3600 },
      }),
    ],
  ]),
};
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
const t = (iso: string) => Date.parse(iso);
const kinds = (g: Grant) =>
  grantDeadlines(g, policies).map((d) => `${d.kind} ${new Date(d.at).toISOString()}`);
const file = (grant: Grant) => ({ path: grantPath(grant.resource, grant.id), grant });

describe('grant deadlines', () => {
  it('an active grant is due at its expiry', () => {
    expect(kinds(active())).toEqual(['expiry 2030-01-01T11:06:00.000Z']);
  });

  it('a revoke request is due at once, before the expiry', () => {
    const g = active({
      revoke_requested: { by: dave, at: '2030-01-01T10:30:00.000Z' },
    });
    expect(kinds(g)).toEqual([
      'revoke 2030-01-01T10:30:00.000Z',
      'expiry 2030-01-01T11:06:00.000Z',
    ]);
  });

  it('a scheduled grant is due at its start, and ends unissued when its start window closes', () => {
    const g = approved({ start_at: '2030-01-02T09:00:00.000Z' });
    const start = t('2030-01-02T09:00:00.000Z');
    expect(grantDeadlines(g, policies).map((d) => [d.kind, d.at])).toEqual([
      ['start', start],
      ['start-window-end', start + Math.min(START_WINDOW, g.duration) * 1000 + 1],
    ]);
  });

  it('an interrupted issue is due now, and at the end of the window it started', () => {
    const g = approved({ issued: { issue_started_at: '2030-01-01T10:10:00.000Z' } });
    expect(kinds(g)).toEqual(['start 2030-01-01T10:10:00.000Z', 'expiry 2030-01-01T11:10:00.000Z']);
  });

  it('a pending grant on the default branch is due at once (its verification)', () => {
    expect(kinds(buildGrant())).toEqual(['verify 2030-01-01T10:00:00.000Z']);
  });

  it('a break-glass grant also has its after-the-fact review due date', () => {
    const g = active({
      break_glass: { reason: 'prod down' },
      approval: { ...approval, rule: 'break_glass', approvers: [] },
    });
    expect(kinds(g)).toEqual([
      'expiry 2030-01-01T11:06:00.000Z',
      'break-glass-review 2030-01-01T12:05:00.000Z',
    ]);
  });

  it('ended grants have none', () => {
    const ended = active({ status: 'expired', ended_at: '2030-01-01T11:07:00.000Z' });
    expect(kinds(ended)).toEqual([]);
  });

  it('the plan has the step each deadline was for, at the deadline and not a millisecond before', () => {
    const grants = [
      active({ id: 'req-1' }),
      approved({ id: 'req-2', start_at: '2030-01-01T12:00:00.000Z' }),
      approved({ id: 'req-3', start_at: '2030-01-01T09:00:00.000Z' }),
    ].map(file);
    for (const d of collectDeadlines(grants, policies)) {
      if (d.at < t('2030-01-01T10:05:00Z')) continue;
      const step = (ms: number) =>
        planReconcile(grants, policies, new Date(ms)).steps.find((s) => s.grant.id === d.grant);
      expect(step(d.at)).toBeDefined();
      // Except the start window's end, which the plan checks with `>`: due at its first ms.
      if (d.kind !== 'start-window-end') expect(step(d.at - 1)?.kind).not.toBe(step(d.at)?.kind);
    }
  });
});

describe('nextDeadlineWithin', () => {
  const ds = collectDeadlines(
    [active({ id: 'req-1' }), active({ id: 'req-2', expires_at: '2030-01-01T11:20:00.000Z' })].map(
      file,
    ),
    policies,
  );
  it('finds the first deadline after now within the bound, and none past it', () => {
    expect(nextDeadlineWithin(ds, t('2030-01-01T11:03:00Z'), 5 * 60_000)?.grant).toBe('req-1');
    expect(nextDeadlineWithin(ds, t('2030-01-01T11:06:00Z'), 5 * 60_000)).toBeNull();
    expect(nextDeadlineWithin(ds, t('2030-01-01T11:16:00Z'), 5 * 60_000)?.grant).toBe('req-2');
  });
});

describe('lateness', () => {
  it('is the seconds between expiry and the end', () => {
    expect(lateness(active({ status: 'expired', ended_at: '2030-01-01T11:06:42.400Z' }))).toBe(42);
  });
  it('is measured from the revoke request for a requested revocation, never negative', () => {
    const g = active({
      status: 'revoked',
      revoke_requested: { by: dave, at: '2030-01-01T10:30:00.000Z' },
      ended_at: '2030-01-01T10:31:30.000Z',
    });
    expect(lateness(g)).toBe(90);
    expect(lateness({ ...g, ended_at: '2030-01-01T10:29:00.000Z' })).toBe(0);
  });
  it('has no value for an end nothing made due (offboarding, refusal)', () => {
    expect(
      lateness(active({ status: 'revoked', ended_at: '2030-01-01T10:40:00.000Z' })),
    ).toBeNull();
  });
});
