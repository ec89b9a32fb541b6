import type { Grant } from './grant.js';
import { DEFAULT_REVIEW_WITHIN } from './policy-load.js';
import type { PolicySet } from './policy.js';
import { issueStartedAt, START_WINDOW, type LiveGrantFile } from './reconcile-plan.js';
import { parseTimestamp } from './timestamp.js';

/**
 * A moment at which a reconcile run has something to do for a grant. Deadlines are a pure
 * function of the grant files on the default branch and the policies there: whoever keeps the
 * timer (the app, or a waiting Actions run) can rebuild them at any time, so nothing about them
 * is stored anywhere else.
 */
export type DeadlineKind =
  /** A pending grant reached the default branch: its approval is to be verified. */
  | 'verify'
  /** An approved grant is to be issued (at once, or at its scheduled `start_at`). */
  | 'start'
  /** An approved grant that could not be issued is to be ended (its start window closes). */
  | 'start-window-end'
  /** An active grant (or an interrupted issue) reaches its expiry. */
  | 'expiry'
  /** Someone asked to revoke an active grant: due at once. */
  | 'revoke'
  /** The after-the-fact review of a break-glass grant is due (the audit reports it past this). */
  | 'break-glass-review';

export interface Deadline {
  grant: string;
  resource: string;
  kind: DeadlineKind;
  /** Epoch milliseconds. */
  at: number;
}

const ms = (t: string | undefined): number | undefined =>
  t === undefined ? undefined : parseTimestamp(t)?.getTime();

/**
 * Every deadline of one hot-path grant, in time order. A deadline in the past means "due now":
 * the next run will act on it. Mirrors `planReconcile` (same windows, same anchors), so a run
 * started at a deadline finds the step it was started for.
 */
export function grantDeadlines(grant: Grant, policies: PolicySet): Deadline[] {
  const out: Deadline[] = [];
  const add = (kind: DeadlineKind, at: number | undefined) => {
    if (at !== undefined && Number.isFinite(at))
      out.push({ grant: grant.id, resource: grant.resource, kind, at });
  };
  const resource = policies.resources.get(grant.resource);
  switch (grant.status) {
    case 'pending':
      add('verify', ms(grant.requested_at));
      break;
    case 'approved': {
      if (grant.revoke_requested) {
        add('revoke', ms(grant.revoke_requested.at));
        break;
      }
      const started = issueStartedAt(grant);
      const duration = Math.min(grant.duration, resource?.max_duration ?? grant.duration) * 1000;
      if (started !== null) {
        add('start', started);
        add('expiry', started + duration);
        break;
      }
      const start = ms(grant.start_at ?? grant.approval?.approved_at);
      add('start', start);
      if (start !== undefined)
        add(
          'start-window-end',
          Math.min(start + START_WINDOW * 1000, start + grant.duration * 1000) + 1,
        );
      break;
    }
    case 'active':
      if (grant.revoke_requested) add('revoke', ms(grant.revoke_requested.at));
      add('expiry', ms(grant.expires_at));
      break;
    default:
      // Terminal grants still in the hot path are archived by the next run that happens.
      return out;
  }
  if (grant.approval?.rule === 'break_glass') {
    const within = resource?.break_glass?.review_within ?? DEFAULT_REVIEW_WITHIN;
    const approved = ms(grant.approval.approved_at);
    if (approved !== undefined) add('break-glass-review', approved + within * 1000);
  }
  return out.sort((a, b) => a.at - b.at);
}

/** The deadlines of every live grant, in time order. */
export function collectDeadlines(
  grants: readonly LiveGrantFile[],
  policies: PolicySet,
): Deadline[] {
  return grants.flatMap((g) => grantDeadlines(g.grant, policies)).sort((a, b) => a.at - b.at);
}

/**
 * The first deadline strictly after `now` and no later than `now + within` (milliseconds), or
 * null. What a run that has just reconciled everything due may still wait for.
 */
export function nextDeadlineWithin(
  deadlines: readonly Deadline[],
  now: number,
  within: number,
): Deadline | null {
  return deadlines.find((d) => d.at > now && d.at <= now + within) ?? null;
}

/**
 * How late an end was, in whole seconds: `ended_at - expires_at` for an expiry,
 * `ended_at - revoke_requested.at` for a requested revocation. Null when the grant had no such
 * moment to be late for (an offboarding, a refusal). Never negative: ending early is on time.
 */
export function lateness(grant: Grant): number | null {
  const ended = ms(grant.ended_at);
  if (ended === undefined) return null;
  const due =
    grant.status === 'expired'
      ? (ms(grant.expires_at) ??
        (issueStartedAt({ ...grant, status: 'approved' }) ?? NaN) + grant.duration * 1000)
      : grant.status === 'revoked' && grant.revoke_requested
        ? ms(grant.revoke_requested.at)
        : undefined;
  if (due === undefined || Number.isNaN(due)) return null;
  return Math.max(0, Math.round((ended - due) / 1000));
}
