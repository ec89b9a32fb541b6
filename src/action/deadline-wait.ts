import type { Clock } from '../core/clock.js';
import { collectDeadlines, nextDeadlineWithin, type Deadline } from '../core/deadlines.js';
import type { LiveGrantFile } from '../core/reconcile-plan.js';
import type { PolicySet } from '../core/policy.js';
import type { ReconcileResult } from '../engine/reconcile/index.js';

/**
 * Without the app (Actions only), nothing starts a run at a grant's deadline: the schedule
 * does, late and sometimes not at all. So a run that has reconciled everything due looks at
 * what falls due before the next scheduled run could start and, if something does, stays up
 * until then (at most `bound`), so the run loop reconciles again on time. The wait costs
 * runner minutes (see docs/action.md); only deadlines that need the action count (a break-glass
 * review's due date only shows in the audit, which this run does not redo).
 */
export interface DeadlineWaitDeps {
  clock: Clock;
  /** Resolves after `ms` milliseconds (injected: tests move a fake clock instead of sleeping). */
  sleep(ms: number): Promise<void>;
  log(line: string): void;
}

const WAITED_FOR: ReadonlySet<Deadline['kind']> = new Set([
  'start',
  'start-window-end',
  'expiry',
  'revoke',
  'verify',
]);

/** The deadline this run should wait for, or null: the first one due within `boundMs`. */
export function deadlineToWaitFor(
  state: { grants: readonly LiveGrantFile[]; policies: PolicySet },
  now: Date,
  boundMs: number,
): Deadline | null {
  const due = collectDeadlines(state.grants, state.policies).filter((d) => WAITED_FOR.has(d.kind));
  return nextDeadlineWithin(due, now.getTime(), boundMs);
}

/**
 * Waits for the first deadline due within `boundMs` of now (read from `state`), and returns it;
 * returns null at once when there is none. Never returns before the deadline by the injected
 * clock, so the run that follows finds it due.
 */
export async function waitForDeadline(
  state: { grants: readonly LiveGrantFile[]; policies: PolicySet },
  boundMs: number,
  deps: DeadlineWaitDeps,
): Promise<Deadline | null> {
  if (boundMs <= 0) return null;
  const d = deadlineToWaitFor(state, deps.clock.now(), boundMs);
  if (!d) return null;
  const wait = d.at - deps.clock.now().getTime();
  deps.log(
    `waiting ${Math.ceil(wait / 1000)} s for ${d.resource}/${d.grant} (${d.kind} at ${new Date(d.at).toISOString()}), due before the next scheduled run`,
  );
  for (let left = wait; left > 0; left = d.at - deps.clock.now().getTime()) await deps.sleep(left);
  return d;
}

/** One result for the job from the run before the wait and the run after it. */
export function combineResults(a: ReconcileResult, b: ReconcileResult): ReconcileResult {
  const seen = new Set(a.problems.map((p) => JSON.stringify(p)));
  return {
    plan: [...a.plan, ...b.plan],
    events: [...a.events, ...b.events],
    failures: [...a.failures, ...b.failures],
    problems: [...a.problems, ...b.problems.filter((p) => !seen.has(JSON.stringify(p)))],
    // Drift is a snapshot: the later one is the current truth.
    drift: b.drift,
    residue: [...a.residue, ...b.residue],
  };
}
