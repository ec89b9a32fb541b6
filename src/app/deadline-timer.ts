import type { Clock } from '../core/clock.js';
import type { Deadline } from '../core/deadlines.js';

/** setTimeout/clearTimeout, injected so tests drive the timer with a fake clock. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemScheduler: Scheduler = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // The timer never keeps a process alive on its own (the server does).
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface DeadlineTimerOptions {
  clock: Clock;
  scheduler: Scheduler;
  /** Starts the reconcile run; throws when GitHub refuses (then it is retried). */
  dispatch(due: readonly Deadline[]): Promise<void>;
  log: { info(m: string): void; warn(m: string): void };
  /** Delays before each retry of a refused dispatch (default 5 s, 30 s, 2 min). */
  retryDelaysMs?: readonly number[];
}

/** Node's timers overflow past 2^31-1 ms (~24.8 days): longer waits are re-armed. */
const MAX_TIMEOUT = 2 ** 31 - 1;
const key = (d: Deadline): string => `${d.resource}/${d.grant}/${d.kind}/${d.at}`;

/**
 * The app's timer: holds every live grant's deadlines (rebuilt by the caller from the default
 * branch at startup and on every push) and, at each one, starts the reconcile run. It stores
 * nothing: a restarted app rebuilds the same deadlines from git and fires those already due.
 *
 * Deadlines falling due together share one dispatch. A deadline already due when the set is
 * replaced is fired once by this timer (the run it starts acts on everything due), not again on
 * every later rebuild: a step that keeps failing is retried by the schedule, not by a loop.
 */
export class DeadlineTimer {
  private deadlines: Deadline[] = [];
  private readonly fired = new Set<string>();
  private handle: unknown = undefined;
  private armedFor: number | undefined;
  private stopped = false;
  /** Dispatches in flight, so tests (and shutdown) can wait for them. */
  private pending: Promise<void>[] = [];

  constructor(private readonly o: DeadlineTimerOptions) {}

  /** Replaces the deadlines (a rebuild) and re-arms. */
  set(deadlines: readonly Deadline[]): void {
    this.deadlines = [...deadlines].sort((a, b) => a.at - b.at);
    // Forget fired deadlines that are gone from the set (the run handled them).
    const live = new Set(this.deadlines.map(key));
    for (const k of this.fired) if (!live.has(k)) this.fired.delete(k);
    this.arm();
  }

  /** The next deadline the timer will fire for, if any. */
  next(): Deadline | undefined {
    return this.deadlines.find((d) => !this.fired.has(key(d)));
  }

  /** Starts a run now, outside the deadlines (offboarding, a policy change). */
  fireNow(reason: string): Promise<void> {
    const now = this.o.clock.now().getTime();
    return this.track(
      this.dispatchWithRetry([{ grant: reason, resource: '-', kind: 'revoke', at: now }]),
    );
  }

  /** Resolves when every dispatch started so far has finished (or given up). */
  async idle(): Promise<void> {
    while (this.pending.length) await Promise.all(this.pending);
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== undefined) this.o.scheduler.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.handle !== undefined) this.o.scheduler.clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = undefined;
    const next = this.next();
    if (!next) return;
    const wait = Math.max(0, next.at - this.o.clock.now().getTime());
    this.armedFor = next.at;
    this.handle = this.o.scheduler.setTimeout(() => this.fire(), Math.min(wait, MAX_TIMEOUT));
  }

  private fire(): void {
    this.handle = undefined;
    const now = this.o.clock.now().getTime();
    if (this.armedFor !== undefined && now < this.armedFor) return this.arm(); // re-armed long wait
    const due = this.deadlines.filter((d) => d.at <= now && !this.fired.has(key(d)));
    for (const d of due) this.fired.add(key(d));
    if (due.length) void this.track(this.dispatchWithRetry(due));
    this.arm();
  }

  private track(p: Promise<void>): Promise<void> {
    this.pending.push(p);
    return p.finally(() => {
      this.pending = this.pending.filter((x) => x !== p);
    });
  }

  private async dispatchWithRetry(due: readonly Deadline[]): Promise<void> {
    const what = due.map((d) => `${d.resource}/${d.grant} ${d.kind}`).join(', ');
    const delays = this.o.retryDelaysMs ?? [5_000, 30_000, 120_000];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.dispatch(due);
        this.o.log.info(`deadline timer: started the reconcile run for ${what}`);
        return;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (attempt >= delays.length || this.stopped) {
          // The scheduled run is the backstop; the audit reports the lateness if it comes.
          this.o.log.warn(
            `deadline timer: could not start the reconcile run for ${what}: ${message}; the schedule will`,
          );
          return;
        }
        this.o.log.warn(`deadline timer: dispatch refused (${message}); retrying`);
        await new Promise<void>((r) => this.o.scheduler.setTimeout(r, delays[attempt]!));
      }
    }
  }
}
