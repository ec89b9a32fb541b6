import { describe, it, expect } from '@jest/globals';
import { GRANT_STATUSES, type Grant, type GrantStatus } from '../../src/core/grant.js';
import { canTransition, isLive, isTerminal, transition } from '../../src/core/grant-lifecycle.js';
import { alice, buildGrant, dave } from '../helpers/build.js';

const LEGAL: [GrantStatus, GrantStatus][] = [
  ['pending', 'approved'],
  ['pending', 'denied'],
  ['pending', 'cancelled'],
  ['approved', 'active'],
  ['approved', 'revoked'],
  ['approved', 'expired'],
  ['active', 'expired'],
  ['active', 'revoked'],
];
const isLegal = (from: GrantStatus, to: GrantStatus) =>
  LEGAL.some(([f, t]) => f === from && t === to);
const ALL_PAIRS = GRANT_STATUSES.flatMap((from) => GRANT_STATUSES.map((to) => [from, to] as const));

const at = new Date('2030-01-01T11:00:00Z');
const approval = {
  approved_at: '2030-01-01T10:30:00.000Z',
  rule: 'reviews',
  approvers: [{ ...alice, review_id: 9001 }],
};
/** A grant in `status` with the fields that status needs. */
function grantIn(status: GrantStatus): Grant {
  const base = buildGrant();
  const approved = { ...base, approval };
  const active = {
    ...approved,
    issued_at: '2030-01-01T10:31:00.000Z',
    expires_at: '2030-01-01T11:31:00.000Z',
  };
  const ended = '2030-01-01T11:31:00.000Z';
  switch (status) {
    case 'pending':
      return base;
    case 'approved':
      return { ...approved, status };
    case 'active':
      return { ...active, status };
    case 'expired':
    case 'revoked':
      return { ...active, status, ended_at: ended };
    case 'denied':
    case 'cancelled':
      return { ...base, status, ended_at: ended };
  }
}
/** What a caller passes to move into `to`. */
function changesFor(to: GrantStatus): Partial<Grant> {
  if (to === 'approved') return { approval };
  if (to === 'active')
    return { issued_at: '2030-01-01T10:31:00.000Z', expires_at: '2030-01-01T11:31:00.000Z' };
  return { end_reason: `became ${to}` };
}

describe('canTransition', () => {
  it.each(ALL_PAIRS)('%s → %s is allowed only if it is in the lifecycle', (from, to) => {
    expect(canTransition(from, to)).toBe(isLegal(from, to));
  });
});

describe('transition', () => {
  it.each(LEGAL)('moves a %s grant to %s without touching the input', (from, to) => {
    const before = grantIn(from);
    const snapshot = structuredClone(before);
    const r = transition(before, to, changesFor(to), at);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.value.status).toBe(to);
    expect(r.value.ended_at).toBe(isTerminal(to) ? at.toISOString() : before.ended_at);
    expect(before).toEqual(snapshot);
  });

  it.each(ALL_PAIRS.filter(([f, t]) => !isLegal(f, t)))('refuses %s → %s', (from, to) => {
    const r = transition(grantIn(from), to, changesFor(to), at);
    expect(r).toEqual({
      ok: false,
      problems: [{ path: 'status', message: `grant req-42 cannot go from ${from} to ${to}` }],
    });
  });

  it('refuses a move that leaves the grant without what its new status needs', () => {
    const r = transition(grantIn('approved'), 'active', {}, at);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems.map((p) => p.message)).toEqual([
        'an active grant needs "issued_at"',
        'an active grant needs "expires_at"',
      ]);
  });

  it('refuses to change who and what the grant is about', () => {
    const r = transition(grantIn('pending'), 'approved', { approval, requester: alice }, at);
    expect(r).toEqual({
      ok: false,
      problems: [{ path: 'requester', message: 'a transition cannot change "requester"' }],
    });
    // Restating the same value is not a change.
    expect(transition(grantIn('pending'), 'approved', { approval, requester: dave }, at).ok).toBe(
      true,
    );
  });

  it('removes fields set to undefined, e.g. a handled revoke request', () => {
    const active = {
      ...grantIn('active'),
      revoke_requested: { by: alice, at: '2030-01-01T10:40:00.000Z' },
    };
    const r = transition(active, 'revoked', { revoke_requested: undefined }, at);
    expect(r.ok && 'revoke_requested' in r.value).toBe(false);
  });
});

describe('isTerminal and isLive', () => {
  it.each(GRANT_STATUSES)('classifies %s', (s) => {
    expect(isTerminal(s)).toBe(['expired', 'revoked', 'denied', 'cancelled'].includes(s));
    expect(isLive(s)).toBe(s === 'approved' || s === 'active');
  });
});
