import { describe, expect, it } from '@jest/globals';
import { DeadlineTimer } from '../../src/app/deadline-timer.js';
import type { Deadline } from '../../src/core/deadlines.js';
import { FakeScheduler } from '../helpers/fake-scheduler.js';

const T0 = '2030-01-01T10:00:00.000Z';
const at = (iso: string) => Date.parse(iso);
const expiry = (grant: string, iso: string): Deadline => ({
  grant,
  resource: 'sre-team',
  kind: 'expiry',
  at: at(iso),
});

function build(o: { refuse?: number } = {}) {
  const s = new FakeScheduler(T0);
  const dispatched: { at: string; grants: string[] }[] = [];
  const warnings: string[] = [];
  let refuse = o.refuse ?? 0;
  const timer = new DeadlineTimer({
    clock: s.clock,
    scheduler: s,
    retryDelaysMs: [5_000, 30_000],
    log: { info: () => {}, warn: (m) => void warnings.push(m) },
    dispatch: async (due) => {
      if (refuse-- > 0) throw new Error('HTTP 500');
      dispatched.push({ at: s.clock.now().toISOString(), grants: due.map((d) => d.grant) });
    },
  });
  return { s, timer, dispatched, warnings };
}

describe('the deadline timer', () => {
  it('starts the run at each deadline, not before', async () => {
    const { s, timer, dispatched } = build();
    timer.set([expiry('req-1', '2030-01-01T10:30:00Z'), expiry('req-2', '2030-01-01T11:00:00Z')]);
    await s.advanceTo('2030-01-01T10:29:59.999Z');
    expect(dispatched).toEqual([]);
    await s.advanceTo('2030-01-01T12:00:00Z');
    expect(dispatched).toEqual([
      { at: '2030-01-01T10:30:00.000Z', grants: ['req-1'] },
      { at: '2030-01-01T11:00:00.000Z', grants: ['req-2'] },
    ]);
  });

  it('shares one dispatch between deadlines due together', async () => {
    const { s, timer, dispatched } = build();
    timer.set([expiry('req-1', '2030-01-01T10:30:00Z'), expiry('req-2', '2030-01-01T10:30:00Z')]);
    await s.advanceTo('2030-01-01T10:31:00Z');
    expect(dispatched).toEqual([{ at: '2030-01-01T10:30:00.000Z', grants: ['req-1', 'req-2'] }]);
  });

  it('re-arms when a push replaces the deadlines (an extension moves the expiry)', async () => {
    const { s, timer, dispatched } = build();
    timer.set([expiry('req-1', '2030-01-01T10:30:00Z')]);
    await s.advanceTo('2030-01-01T10:20:00Z');
    timer.set([expiry('req-1', '2030-01-01T11:30:00Z'), expiry('req-9', '2030-01-01T10:25:00Z')]);
    await s.advanceTo('2030-01-01T12:00:00Z');
    expect(dispatched.map((d) => d.at)).toEqual([
      '2030-01-01T10:25:00.000Z',
      '2030-01-01T11:30:00.000Z',
    ]);
    expect(s.armed).toBe(0);
  });

  it('fires a deadline only once, even when rebuilds still show it until the run ends the grant', async () => {
    const { s, timer, dispatched } = build();
    const d = expiry('req-1', '2030-01-01T10:30:00Z');
    timer.set([d]);
    await s.advanceTo('2030-01-01T10:30:05Z');
    timer.set([d]); // the run's own commits arrive before the expiry commit
    await s.advanceTo('2030-01-01T10:31:00Z');
    expect(dispatched).toHaveLength(1);
  });

  it('after a restart, rebuilt from the same grant files, fires what fell due while it was down', async () => {
    const first = build();
    const deadlines = [
      expiry('req-1', '2030-01-01T10:30:00Z'),
      expiry('req-2', '2030-01-01T11:30:00Z'),
    ];
    first.timer.set(deadlines);
    first.timer.stop(); // the app dies at 10:00
    const second = build();
    await second.s.advanceTo('2030-01-01T10:45:00Z'); // and comes back at 10:45
    second.timer.set(deadlines);
    await second.s.advanceTo('2030-01-01T11:31:00Z');
    expect(first.dispatched).toEqual([]);
    expect(second.dispatched).toEqual([
      { at: '2030-01-01T10:45:00.000Z', grants: ['req-1'] },
      { at: '2030-01-01T11:30:00.000Z', grants: ['req-2'] },
    ]);
  });

  it('retries a refused dispatch, then leaves it to the schedule with a warning', async () => {
    const ok = build({ refuse: 1 });
    ok.timer.set([expiry('req-1', '2030-01-01T10:30:00Z')]);
    await ok.s.advanceTo('2030-01-01T10:40:00Z');
    expect(ok.dispatched).toEqual([{ at: '2030-01-01T10:30:05.000Z', grants: ['req-1'] }]);

    const down = build({ refuse: 10 });
    down.timer.set([expiry('req-1', '2030-01-01T10:30:00Z')]);
    await down.s.advanceTo('2030-01-01T10:40:00Z');
    expect(down.dispatched).toEqual([]);
    expect(down.warnings.at(-1)).toMatch(/could not start the reconcile run .*the schedule will/);
  });

  it('waits past the 24.8-day limit of Node timers by re-arming', async () => {
    const { s, timer, dispatched } = build();
    timer.set([expiry('req-1', '2030-03-01T10:00:00Z')]);
    await s.advanceTo('2030-02-28T10:00:00Z');
    expect(dispatched).toEqual([]);
    await s.advanceTo('2030-03-01T10:00:01Z');
    expect(dispatched.map((d) => d.at)).toEqual(['2030-03-01T10:00:00.000Z']);
    expect(Math.max(...s.delays)).toBe(2 ** 31 - 1);
  });

  it('starts a run at once for offboarding', async () => {
    const { s, timer, dispatched } = build();
    await timer.fireNow('offboarding of user 5');
    expect(dispatched).toEqual([{ at: T0, grants: ['offboarding of user 5'] }]);
    expect(s.armed).toBe(0);
  });
});
