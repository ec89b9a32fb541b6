import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  endHolding,
  heldLevel,
  unexplainedAccess,
  type GrantRecord,
  type Holding,
  type PreState,
} from '../../src/core/ownership.js';

const NONE: PreState = { level: null, covered: null };
const hold = (grant: string, gives: number, before: PreState = NONE): Holding => ({
  grant,
  gives,
  before,
});

describe('endHolding: ending one of the grants that hold shared access', () => {
  it('keeps the access while another live grant holds it, and removes it with the last', () => {
    // Finding 1: req-2 was issued while req-1 gave the access; it joined instead of recording
    // "already a member", so the last of the two to end takes the access away.
    expect(endHolding(hold('req-1', 0), [hold('req-2', 0)])).toEqual({
      action: 'keep',
      level: 0,
      heldBy: ['req-2'],
    });
    expect(endHolding(hold('req-2', 0), [])).toEqual({ action: 'remove', heldBy: [] });
  });

  it('restores exactly the pre-state: a promoted member goes back to member', () => {
    const member: PreState = { level: 0, covered: 0 };
    expect(endHolding(hold('a', 1, member), [])).toEqual({ action: 'set', level: 0, heldBy: [] });
  });

  it('leaves alone access the person had before (nothing was written for it)', () => {
    const maintainer: PreState = { level: 1, covered: 1 };
    expect(endHolding(hold('a', 0, maintainer), [])).toEqual({
      action: 'keep',
      level: 1,
      heldBy: [],
    });
  });

  it('lowers to what the remaining holders give when the ending grant gave more', () => {
    expect(endHolding(hold('admin', 4), [hold('push', 2)])).toEqual({
      action: 'set',
      level: 2,
      heldBy: ['push'],
    });
  });

  it('writes nothing for levels that access from elsewhere (a team) already covered', () => {
    const viaTeam: PreState = { level: null, covered: 2 };
    expect(heldLevel(viaTeam, [1, 2])).toBeNull();
    expect(endHolding(hold('a', 2, viaTeam), [])).toEqual({
      action: 'keep',
      level: null,
      heldBy: [],
    });
    // …but a higher level was written as a direct permission, and goes.
    expect(endHolding(hold('a', 4, viaTeam), [])).toEqual({ action: 'remove', heldBy: [] });
  });
});

/**
 * A model of one person's access to one target, driven the way the GitHub providers drive it:
 * issuing records the pre-state (first holder) or joins, and raises the level when needed;
 * ending asks `endHolding`. Invariants, after every step: the access is within the pre-state
 * and the live grants' levels; once every grant has ended it is exactly the pre-state.
 */
describe('ownership over random sequences of overlapping grants', () => {
  type Cmd = { op: 'issue'; level: number } | { op: 'end'; pick: number };
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    fc.record({ op: fc.constant('issue' as const), level: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ op: fc.constant('end' as const), pick: fc.nat() }),
  );

  it('never leaves more than the pre-state and the live grants explain', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
        fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
        fc.array(cmd, { maxLength: 30 }),
        (direct, elsewhere, cmds) => {
          // `direct` is what gatepass manages; `elsewhere` (a team's grant) it never touches.
          let world = direct;
          const covered = elsewhere === null ? direct : Math.max(elsewhere, direct ?? -1);
          const live: Holding[] = [];
          let n = 0;
          const effective = () => Math.max(world ?? -1, covered ?? -1);
          for (const c of cmds) {
            if (c.op === 'issue') {
              const before: PreState = live[0]
                ? live[0].before
                : { level: world, covered: effective() < 0 ? null : effective() };
              live.push(hold(`g${n++}`, c.level, before));
              if (effective() < c.level) world = c.level;
            } else if (live.length > 0) {
              const [ending] = live.splice(c.pick % live.length, 1);
              const out = endHolding(ending!, live);
              if (out.action === 'remove') world = null;
              if (out.action === 'set') world = out.level;
            }
            const allowed = Math.max(direct ?? -1, ...live.map((h) => h.gives));
            expect(world ?? -1).toBeLessThanOrEqual(allowed);
          }
          while (live.length > 0) {
            const out = endHolding(live.shift()!, live);
            if (out.action === 'remove') world = null;
            if (out.action === 'set') world = out.level;
          }
          expect(world).toBe(direct);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('unexplainedAccess: drift that neither a live grant nor a pre-state explains', () => {
  const record = (o: Partial<GrantRecord>): GrantRecord => ({
    grant: 'req-1',
    person: 1,
    gives: 0,
    before: NONE,
    live: false,
    at: '2030-01-01T00:00:00Z',
    ...o,
  });

  it('reports access left after every grant ended, beyond the recorded pre-state', () => {
    const observed = [{ person: 1, level: 0, key: 'alice' }];
    expect(unexplainedAccess(observed, [record({})])).toEqual([
      { person: 1, level: 0, key: 'alice', explained: null },
    ]);
  });

  it('accepts access a live grant or the pre-state explains', () => {
    const observed = [{ person: 1, level: 1, key: 'alice' }];
    expect(unexplainedAccess(observed, [record({ live: true, gives: 1 })])).toEqual([]);
    expect(unexplainedAccess(observed, [record({ before: { level: 1, covered: 1 } })])).toEqual([]);
    // The newest record's pre-state counts, not an old one.
    expect(
      unexplainedAccess(observed, [
        record({ before: { level: 1, covered: 1 }, at: '2029-01-01T00:00:00Z' }),
        record({ grant: 'req-2', before: NONE, at: '2030-06-01T00:00:00Z' }),
      ]),
    ).toHaveLength(1);
  });

  it('does not judge people gatepass has no record of (a team’s permanent members)', () => {
    expect(unexplainedAccess([{ person: 7, level: 1, key: 'carol' }], [record({})])).toEqual([]);
  });
});
