import { describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { parseTrailers } from '../../src/core/trailers.js';
import { roleNameFor } from '../../src/providers/postgres.js';
import {
  ageBlock,
  ageDecrypt,
  comments,
  DemoClock,
  grantOnMain,
  openRequest,
  review,
  runAction,
  type World,
} from '../../demo/steps.js';
import { JUSTIFICATION, useWorld } from '../helpers/e2e.js';
import { FakeScheduler } from '../helpers/fake-scheduler.js';

// End to end: PostgreSQL, the app and the action per test; slow on a loaded machine.
jest.setTimeout(120_000);

const world = useWorld();

/** The scheduler drives the world's clock (the app's clock and the action's are the same). */
function driven(clock: DemoClock): FakeScheduler {
  return new FakeScheduler({
    now: () => clock.now(),
    set: (d) => {
      const delta = d.getTime() - clock.now().getTime();
      if (delta > 0) clock.advance(delta / 1000);
    },
  });
}

async function activeGrant(w: World, duration: number) {
  const o = await openRequest(w, 'alice', {
    resource: 'prod-db',
    duration,
    justification: JUSTIFICATION,
    ticket: 'INC-7',
  });
  await review(w, 'bob', o.pr!, 'APPROVE');
  const run = await runAction(w);
  expect(run.events.map((e) => e.event)).toEqual(['approved', 'issued']);
  const delivery = comments(w, o.issue).find((c) => ageBlock(c.body))!;
  const password = (await ageDecrypt(w, ageBlock(delivery.body)!)).trim();
  return { ...o, password };
}

describe('the app as the timer, end to end on the stand-in', () => {
  it('dispatches the run at expiry, and that run ends a PostgreSQL session opened before it', async () => {
    const clock = new DemoClock();
    const scheduler = driven(clock);
    const w = await world.start({ clock, deadlineTimer: scheduler });
    const g = await activeGrant(w, 1800);
    const expires = Date.parse((await grantOnMain(w, g.grantId, 'prod-db'))!.expires_at!);
    // The action's commits reached the app as a push: the timer is armed for the expiry.
    expect(w.keeper()!.timer.next()).toMatchObject({ grant: g.grantId, kind: 'expiry' });

    const session = new pg.Client({
      connectionString: w.pg!.urlFor(roleNameFor(g.grantId), g.password, 'app'),
    });
    session.on('error', () => {});
    await session.connect();
    expect((await session.query('SELECT count(*) FROM orders')).rows).toEqual([{ count: '2' }]);

    await scheduler.advanceTo(expires - 1000);
    await w.keeper()!.timer.idle();
    expect(w.gh.dispatches).toEqual([]);
    // A second of slack: the world's clock is the wall clock plus an offset, so it ticks on.
    await scheduler.advanceTo(expires + 1000);
    await w.keeper()!.timer.idle();
    expect(w.gh.dispatches).toEqual([
      expect.objectContaining({ workflow: 'gatepass.yml', ref: 'main', actor: 'gatepass[bot]' }),
    ]);
    const dispatchedAt = Date.parse(w.gh.dispatches[0]!.at);
    expect(dispatchedAt).toBeGreaterThanOrEqual(expires - 1000); // stand-in stamps whole seconds
    expect(dispatchedAt).toBeLessThanOrEqual(expires + 2000);
    // The session outlives VALID UNTIL on its own: still open at the expiry.
    expect((await session.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    // GitHub runs the dispatched workflow: the action at the deadline.
    const run = await runAction(w);
    expect(run.events).toEqual([expect.objectContaining({ event: 'expired' })]);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await session.end().catch(() => {});
    const ended = (await grantOnMain(w, g.grantId, 'prod-db'))!;
    const late = Date.parse(ended.ended_at!) - expires;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(60_000);
    const expired = (await w.gh.git.log('refs/heads/main'))[0]!;
    expect(parseTrailers((await w.gh.git.commit(expired))!.message)).toMatchObject({
      event: 'expired',
      lateness: Math.round(late / 1000),
    });
  });

  it('offboarding: a requester removed from the requesting team loses access on the run started at once', async () => {
    const clock = new DemoClock();
    const w = await world.start({ clock, deadlineTimer: driven(clock) });
    const g = await activeGrant(w, 3600);
    await w.gh.removeFromTeam('acme/engineering', 'alice', 'bob');
    await w.keeper()!.timer.idle();
    expect(w.gh.dispatches).toHaveLength(1);
    const run = await runAction(w, () => {}, { offboarding: true });
    expect(run.events.map((e) => e.event)).toEqual(['revoked']);
    const ended = (await grantOnMain(w, g.grantId, 'prod-db'))!;
    expect(ended.end_reason).toBe(
      'offboarding: @alice is no longer among the requesters of "prod-db" (directly or through a team)',
    );
  });
});
