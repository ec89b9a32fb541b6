import { fixedClock } from '../../src/core/clock.js';
import type { Scheduler } from '../../src/app/deadline-timer.js';

/**
 * A scheduler driven by a fake clock: `advanceTo` moves time forward and runs every callback
 * that falls due on the way, in time order, letting promises settle between them.
 */
export interface DrivenClock {
  now(): Date;
  /** Moves time forward to `ms` (epoch milliseconds); never back. */
  set(d: Date): void;
}

export class FakeScheduler implements Scheduler {
  readonly clock: DrivenClock;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  /** Every delay asked for, in order (to check re-arming of long waits). */
  readonly delays: number[] = [];

  /** From a start time (a fixed clock of its own), or driving a clock the caller owns. */
  constructor(start: string | DrivenClock) {
    this.clock = typeof start === 'string' ? fixedClock(start) : start;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.delays.push(ms);
    this.timers.set(id, { at: this.clock.now().getTime() + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get armed(): number {
    return this.timers.size;
  }

  async advanceTo(iso: string | number): Promise<void> {
    const target = typeof iso === 'number' ? iso : Date.parse(iso);
    for (;;) {
      await settle();
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= target)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      if (due[1].at > this.clock.now().getTime()) this.clock.set(new Date(due[1].at));
      due[1].fn();
    }
    if (target > this.clock.now().getTime()) this.clock.set(new Date(target));
    await settle();
  }

  async advance(seconds: number): Promise<void> {
    await this.advanceTo(this.clock.now().getTime() + seconds * 1000);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}
