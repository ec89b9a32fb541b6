import type { Grant, GrantStatus } from './grant.js';
import { TERMINAL_STATUSES } from './grant.js';
import { grantProblems } from './grant-file.js';
import { type Result, fail, ok } from './problem.js';

/**
 * pending → approved → active → expired | revoked; pending → denied | cancelled; and an
 * approved grant can be revoked before it starts, or expire if it never could be issued in
 * its window. Nothing leaves a terminal status: a new need is a new request.
 */
const NEXT: Readonly<Record<GrantStatus, readonly GrantStatus[]>> = {
  pending: ['approved', 'denied', 'cancelled'],
  approved: ['active', 'revoked', 'expired'],
  active: ['expired', 'revoked'],
  expired: [],
  revoked: [],
  denied: [],
  cancelled: [],
};

export const canTransition = (from: GrantStatus, to: GrantStatus): boolean =>
  NEXT[from]?.includes(to) ?? false;
export const isTerminal = (s: GrantStatus): boolean => TERMINAL_STATUSES.includes(s);
/** Approved or active: the action must keep it in the real world (or put it there). */
export const isLive = (s: GrantStatus): boolean => s === 'approved' || s === 'active';

/** Who and what a grant is about never changes after the request: that would rewrite history. */
const FIXED: readonly (keyof Grant)[] = ['id', 'resource', 'requester', 'requested_at', 'status'];

/**
 * The grant after moving to `to` at `at`, with `changes` applied. A terminal status gets
 * `ended_at = at`. The input is never modified; an illegal move or an inconsistent result is
 * a Problem.
 */
export function transition(
  grant: Grant,
  to: GrantStatus,
  changes: Partial<Grant>,
  at: Date,
): Result<Grant> {
  if (!canTransition(grant.status, to))
    return fail({
      path: 'status',
      message: `grant ${grant.id} cannot go from ${grant.status} to ${to}`,
    });
  const touched = FIXED.filter(
    (k) => k in changes && JSON.stringify(changes[k]) !== JSON.stringify(grant[k]),
  );
  if (touched.length)
    return fail({
      path: touched[0],
      message: `a transition cannot change ${touched.map((k) => `"${k}"`).join(', ')}`,
    });
  if (Number.isNaN(at.getTime())) return fail({ message: 'transition time is not a valid date' });
  const next: Grant = structuredClone({ ...grant, ...changes, status: to });
  if (isTerminal(to)) next.ended_at = at.toISOString();
  for (const key of Object.keys(next) as (keyof Grant)[])
    if (next[key] === undefined) delete next[key];
  const problems = grantProblems(next);
  return problems.length ? fail(...problems) : ok(next);
}

/** What was asked for and approved; only the request PR may set it, nothing later may change it. */
export const REQUEST_FIELDS = [
  'id',
  'resource',
  'requester',
  'duration',
  'justification',
  'ticket',
  'source',
  'policy_commit',
  'requested_at',
  'start_at',
  'extends',
  'break_glass',
] as const satisfies readonly (keyof Grant)[];

/** Whether two versions of a grant ask for exactly the same thing (status and story aside). */
export function sameRequest(a: Grant, b: Grant): boolean {
  return REQUEST_FIELDS.every((k) => canonical(a[k]) === canonical(b[k]));
}

/** JSON with sorted keys, so key order in a hand-written file does not matter. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => p.localeCompare(q)))
      : x,
  );
