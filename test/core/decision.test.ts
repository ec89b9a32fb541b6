import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { decide, type DecisionInput } from '../../src/core/decision.js';
import type { Person } from '../../src/core/identity.js';
import type { Review } from '../../src/core/review.js';
import {
  HEAD,
  OLD_COMMIT,
  alice,
  bob,
  buildGrant,
  buildMemberships,
  buildResource,
  buildReview,
  carol,
  dave,
  mallory,
  memberships,
} from '../helpers/build.js';

const APP_BOT_ID = 5000;
const now = new Date('2030-01-01T11:00:00Z');
const input = (overrides: Partial<DecisionInput> = {}): DecisionInput => ({
  resource: buildResource(),
  grant: buildGrant(),
  reviews: [],
  memberships,
  headSha: HEAD,
  now,
  appBotId: APP_BOT_ID,
  ...overrides,
});
const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 10, minute)).toISOString();
const twoNeeded = buildResource({ approvals_required: 2 });
/** The requester dave is also an approver here: their own approval must still not count. */
const daveApproves = buildResource({ approvers: ['alice', 'bob', 'acme/dba', 'dave'] });

describe('decide', () => {
  it('is pending with no reviews', () => {
    const d = decide(input());
    expect(d).toEqual({
      outcome: 'pending',
      rule: null,
      approvers: [],
      required: 1,
      verdicts: [],
      reasons: ['waiting for approvals: 0 of 1 required approval'],
    });
  });

  it('approves with enough distinct eligible approvals on the head commit', () => {
    const r1 = buildReview({ by: alice });
    const r2 = buildReview({ by: carol, submitted_at: at(40) }); // approver through acme/dba
    const d = decide(input({ resource: twoNeeded, reviews: [r1, r2] }));
    expect(d.outcome).toBe('approved');
    expect(d.rule).toBe('reviews');
    expect(d.approvers).toEqual([
      // `via` records which approvers entry made each one eligible, so audits can re-check it.
      { login: 'alice', id: alice.id, review_id: r1.id, via: 'alice' },
      { login: 'carol', id: carol.id, review_id: r2.id, via: 'acme/dba' },
    ]);
    expect(d.verdicts.every((v) => v.counted)).toBe(true);
  });

  it('counts two approvals by the same person once', () => {
    const d = decide(
      input({
        resource: twoNeeded,
        reviews: [buildReview({ submitted_at: at(30) }), buildReview({ submitted_at: at(31) })],
      }),
    );
    expect(d.outcome).toBe('pending');
    expect(d.approvers).toHaveLength(1);
    expect(d.verdicts[0]!.reason).toBe('superseded by a later review by the same person');
  });

  it('never counts the requester, even when the bot authored the PR (threat #1)', () => {
    const d = decide(input({ resource: daveApproves, reviews: [buildReview({ by: dave })] }));
    expect(d.outcome).toBe('pending');
    expect(d.verdicts[0]).toMatchObject({
      counted: false,
      reason: 'the requester cannot approve their own access',
    });
  });

  it('recognises the requester by id, not by login (threat #9)', () => {
    const renamed: Person = { login: 'alice', id: dave.id };
    const d = decide(input({ resource: daveApproves, reviews: [buildReview({ by: renamed })] }));
    expect(d.outcome).toBe('pending');
  });

  it('voids an approval made before the last push (threat #2)', () => {
    const d = decide(input({ reviews: [buildReview({ commit_id: OLD_COMMIT })] }));
    expect(d.outcome).toBe('pending');
    expect(d.verdicts[0]!.reason).toBe(
      'made on bbbbbbb, not the current head: a push voids approvals',
    );
  });

  it.each([
    ['a bot account', buildReview({ by: { login: 'ci-helper', id: 77 }, bot: true })],
    ['the app itself', buildReview({ by: { login: 'gatepass', id: APP_BOT_ID } })],
    ['a [bot] login', buildReview({ by: { login: 'renovate[bot]', id: 78 } })],
  ])('never counts %s (threat #7)', (_what, review) => {
    const d = decide(
      input({
        resource: buildResource({ approvers: ['*', 'ci-helper', 'gatepass', 'renovate[bot]'] }),
        reviews: [review],
      }),
    );
    expect(d.outcome).toBe('pending');
    expect(d.verdicts[0]!.reason).toBe('reviews by bots never count');
  });

  it('never counts deleted users or people outside the approvers', () => {
    const d = decide(input({ reviews: [buildReview({ by: null }), buildReview({ by: mallory })] }));
    expect(d.outcome).toBe('pending');
    expect(d.verdicts.map((v) => v.reason)).toEqual([
      'the account was deleted',
      'not among the approvers of "prod-db" (checked now, teams included)',
    ]);
  });

  it('checks team membership at decision time (threat #8)', () => {
    const review = buildReview({ by: carol });
    expect(decide(input({ reviews: [review] })).outcome).toBe('approved');
    const left = buildMemberships({ 'acme/dba': [] });
    expect(decide(input({ reviews: [review], memberships: left })).outcome).toBe('pending');
  });

  it('denies on an eligible request for changes, even from an earlier commit', () => {
    const d = decide(
      input({
        reviews: [
          buildReview({ by: alice }),
          buildReview({ by: bob, state: 'CHANGES_REQUESTED', commit_id: OLD_COMMIT }),
        ],
      }),
    );
    expect(d.outcome).toBe('denied');
    expect(d.reasons).toEqual(['changes requested by @bob']);
  });

  it('ignores a request for changes by someone who is not an approver', () => {
    const d = decide(
      input({ reviews: [buildReview(), buildReview({ by: mallory, state: 'CHANGES_REQUESTED' })] }),
    );
    expect(d.outcome).toBe('approved');
  });

  it('lets a later approval withdraw a request for changes, but not a later comment', () => {
    const changes = buildReview({ state: 'CHANGES_REQUESTED', submitted_at: at(20) });
    const comment = buildReview({ state: 'COMMENTED', submitted_at: at(25) });
    expect(decide(input({ reviews: [changes, comment] })).outcome).toBe('denied');
    const approve = buildReview({ submitted_at: at(30) });
    expect(decide(input({ reviews: [changes, comment, approve] })).outcome).toBe('approved');
  });

  it('drops an approval that was dismissed', () => {
    const approve = buildReview({ submitted_at: at(20) });
    const dismissed = buildReview({ state: 'DISMISSED', submitted_at: at(21) });
    const d = decide(input({ reviews: [approve, dismissed] }));
    expect(d.outcome).toBe('pending');
    expect(d.verdicts.map((v) => v.reason)).toEqual([
      'superseded by a later review by the same person',
      'the review was dismissed',
    ]);
  });

  it('denies a grant that breaks policy, whatever the reviews say', () => {
    const d = decide(
      input({ grant: buildGrant({ duration: 10 * 3600 }), reviews: [buildReview()] }),
    );
    expect(d.outcome).toBe('denied');
    expect(d.reasons).toEqual(['the duration 10h is longer than the 4h allowed for "prod-db"']);
  });

  it('auto-approves a requester matching a rule, within its duration', () => {
    const resource = buildResource({
      auto_approve: [{ name: 'oncall', requester_in: ['acme/oncall'], max_duration: 3600 }],
    });
    expect(decide(input({ resource }))).toMatchObject({
      outcome: 'approved',
      rule: 'auto_approve:oncall',
    });
    const longer = buildGrant({ duration: 7200 });
    expect(decide(input({ resource, grant: longer })).outcome).toBe('pending');
    const notOnCall = buildGrant({ requester: carol });
    expect(decide(input({ resource, grant: notOnCall })).outcome).toBe('pending');
  });

  it('approves allowed break-glass at once, and denies it when not allowed', () => {
    const resource = buildResource({
      break_glass: { allowed: ['acme/oncall'], max_duration: 3600, review_within: 86400 },
    });
    const grant = buildGrant({ break_glass: { reason: 'checkout is down' } });
    expect(decide(input({ resource, grant }))).toMatchObject({
      outcome: 'approved',
      rule: 'break_glass',
    });
    const denied = decide(input({ resource, grant: { ...grant, requester: carol } }));
    expect(denied.outcome).toBe('denied');
    expect(denied.reasons).toEqual(['@carol may not use break-glass on "prod-db"']);
  });

  it('denies a request left unapproved past its time to live', () => {
    const later = new Date('2030-01-02T10:00:01Z');
    expect(decide(input({ now: later })).reasons).toEqual([
      'request expired after 1d without enough approvals (0 of 1 required approval)',
    ]);
    expect(decide(input({ now: new Date('2030-01-02T10:00:00Z') })).outcome).toBe('pending');
    expect(decide(input({ now: later, reviews: [buildReview()] })).outcome).toBe('approved');
  });
});

describe('decide, for any reviews', () => {
  const eligible = [alice, bob, carol];
  const ineligibleReviewer = fc.constantFrom<[Person | null, boolean]>(
    [dave, false],
    [mallory, false],
    [{ login: 'ci-helper', id: 77 }, true],
    [{ login: 'gatepass', id: APP_BOT_ID }, false],
    [{ login: 'dependabot[bot]', id: 79 }, false],
    [null, false],
  );
  const reviewer = fc.oneof(
    fc.constantFrom<[Person | null, boolean]>(
      ...eligible.map((p) => [p, false] as [Person, boolean]),
    ),
    ineligibleReviewer,
  );
  const state = fc.constantFrom<Review['state']>(
    'APPROVED',
    'CHANGES_REQUESTED',
    'COMMENTED',
    'DISMISSED',
    'PENDING',
  );
  const reviewOf = (
    who: fc.Arbitrary<[Person | null, boolean]>,
    commit = fc.constantFrom(HEAD, OLD_COMMIT),
  ) =>
    fc
      .record({
        who,
        id: fc.integer({ min: 1, max: 10_000 }),
        state,
        commit_id: commit,
        minute: fc.integer({ min: 0, max: 59 }),
      })
      .map(({ who: [by, bot], id, state, commit_id, minute }) =>
        buildReview({ by, bot, id, state, commit_id, submitted_at: at(minute) }),
      );
  /** Review ids are unique on GitHub; duplicates only come from redelivery. */
  const reviewsArb = fc.uniqueArray(reviewOf(reviewer), { selector: (r) => r.id, maxLength: 8 });
  /** Bots and the requester are listed as approvers too: they must be refused for what they are. */
  const resourceArb = fc.integer({ min: 1, max: 3 }).map((n) =>
    buildResource({
      approvals_required: n,
      approvers: ['alice', 'bob', 'acme/dba', 'dave', 'ci-helper', 'gatepass', 'dependabot[bot]'],
    }),
  );
  const outcomeOf = (d: ReturnType<typeof decide>) => ({ outcome: d.outcome, rule: d.rule });

  it('does not change the outcome when an ineligible person reviews', () => {
    fc.assert(
      fc.property(
        resourceArb,
        reviewsArb,
        reviewOf(ineligibleReviewer),
        (resource, reviews, extra) => {
          fc.pre(!reviews.some((r) => r.id === extra.id));
          const before = decide(input({ resource, reviews }));
          const after = decide(input({ resource, reviews: [...reviews, extra] }));
          expect(outcomeOf(after)).toEqual(outcomeOf(before));
          expect(after.approvers).toEqual(before.approvers);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never approves by reviews when only the requester approves', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(reviewOf(fc.constant<[Person, boolean]>([dave, false])), {
          selector: (r) => r.id,
          maxLength: 6,
        }),
        (reviews) => {
          const d = decide(input({ resource: daveApproves, reviews }));
          expect(d.outcome).not.toBe('approved');
          expect(d.approvers).toEqual([]);
        },
      ),
    );
  });

  it('never turns pending into approved with approvals on another commit', () => {
    fc.assert(
      fc.property(
        resourceArb,
        reviewsArb,
        reviewOf(reviewer, fc.constant(OLD_COMMIT)),
        (resource, reviews, stale) => {
          fc.pre(!reviews.some((r) => r.id === stale.id));
          const before = decide(input({ resource, reviews }));
          fc.pre(before.outcome === 'pending');
          const after = decide(input({ resource, reviews: [...reviews, stale] }));
          expect(after.outcome).not.toBe('approved');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('decides the same whatever the order of the reviews and however often they are repeated', () => {
    fc.assert(
      fc.property(
        resourceArb,
        reviewsArb.chain((reviews) =>
          fc.shuffledSubarray([...reviews, ...reviews]).chain((extra) => {
            const all = [...reviews, ...extra];
            return fc.tuple(
              fc.constant(reviews),
              fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
            );
          }),
        ),
        (resource, [reviews, shuffled]) => {
          expect(decide(input({ resource, reviews: shuffled }))).toEqual(
            decide(input({ resource, reviews })),
          );
        },
      ),
      { numRuns: 400 },
    );
  });
});
