import { formatDuration } from './duration.js';
import type { Approval, Grant } from './grant.js';
import { type Memberships, matchesAny, matchingPrincipal } from './identity.js';
import type { Resource } from './policy.js';
import { extensionWindow } from './extension.js';
import { checkGrantAgainstPolicy } from './request-check.js';
import type { Decision, Review, ReviewVerdict } from './review.js';
import { parseTimestamp } from './timestamp.js';

export interface DecisionInput {
  resource: Resource;
  grant: Grant;
  /** All reviews of the grant PR, in any order, duplicates allowed. */
  reviews: readonly Review[];
  /** Team memberships looked up now, not when the review was made (threat #8). */
  memberships: Memberships;
  /** The PR's current head: approvals on any other commit are void. */
  headSha: string;
  now: Date;
  /** The gatepass app's own user id, which never approves. */
  appBotId?: number;
  /**
   * For an extension (`grant.extends`): the grant it extends as it is on the default branch now,
   * or null when it is not there. The extension is denied when it cannot apply to it.
   */
  extending?: Grant | null;
}

const STATE_CHANGING: ReadonlySet<Review['state']> = new Set([
  'APPROVED',
  'CHANGES_REQUESTED',
  'DISMISSED',
]);

const time = (r: Review): number => {
  const d = r.submitted_at ? parseTimestamp(r.submitted_at) : null;
  // PENDING reviews have no time; they never count, so where they sort does not matter.
  return d ? d.getTime() : Number.NEGATIVE_INFINITY;
};

/** Oldest first, ties by review id, then by state so that even a malformed duplicate sorts the same. */
function chronological(reviews: readonly Review[]): Review[] {
  const sorted = [...reviews].sort(
    (a, b) => time(a) - time(b) || a.id - b.id || a.state.localeCompare(b.state),
  );
  // Redelivered webhooks and re-fetched pages repeat reviews: one review id, one vote.
  return sorted.filter((r, i) => i === 0 || sorted[i - 1]!.id !== r.id);
}

const short = (sha: string | null): string => (sha ? sha.slice(0, 7) : 'an unknown commit');

/**
 * The approval decision for a grant PR, from GitHub's state alone (so re-running it after any
 * event, missed or duplicated, gives the right answer). Order of precedence: a policy
 * problem denies; an eligible "request changes" denies; enough eligible approvals on the head
 * commit approve (unless they became enough only after the TTL); a request past its TTL is
 * denied; break-glass and auto-approve rules approve; anything else is pending.
 */
export function decide(input: DecisionInput): Decision {
  const { resource, grant, memberships, headSha, now, appBotId } = input;
  const required = resource.approvals_required;
  const reviews = chronological(input.reviews);

  const isBot = (u: NonNullable<Review['user']>): boolean =>
    u.type === 'Bot' || u.id === appBotId || u.login.toLowerCase().endsWith('[bot]');
  /** Why this reviewer can never count, or null when they are an eligible approver. */
  const ineligible = (u: Review['user']): string | null => {
    if (!u) return 'the account was deleted';
    if (isBot(u)) return 'reviews by bots never count';
    // By id, not by PR author: the app opens grant PRs, so GitHub's own author rule does not apply.
    if (u.id === grant.requester.id) return 'the requester cannot approve their own access';
    if (!matchesAny({ login: u.login, id: u.id }, resource.approvers, memberships))
      return `not among the approvers of "${resource.name}" (checked now, teams included)`;
    return null;
  };

  // The latest state-changing review of each person is their vote; comments never undo it.
  const latest = new Map<number, Review>();
  for (const r of reviews) if (r.user && STATE_CHANGING.has(r.state)) latest.set(r.user.id, r);

  const approvers: Approval[] = [];
  /** When each counted approval was made, to tell whether enough came within the TTL. */
  const approvedTimes: number[] = [];
  const blockers: string[] = [];
  const verdicts: ReviewVerdict[] = reviews.map((r) => {
    const base = { review_id: r.id, login: r.user?.login ?? '(deleted user)', state: r.state };
    const no = (reason: string): ReviewVerdict => ({ ...base, counted: false, reason });
    const why = ineligible(r.user);
    if (why) return no(why);
    if (!STATE_CHANGING.has(r.state)) return no('comments neither approve nor deny');
    if (latest.get(r.user!.id) !== r) return no('superseded by a later review by the same person');
    if (r.state === 'DISMISSED') return no('the review was dismissed');
    if (r.state === 'CHANGES_REQUESTED') {
      // Not voided by a push, unlike an approval: a push can only make an objection stale in
      // the requester's favour, so it stands until the reviewer withdraws it or it is dismissed.
      blockers.push(r.user!.login);
      return {
        ...base,
        counted: true,
        reason: 'requests changes: blocks the grant until withdrawn',
      };
    }
    if (r.commit_id !== headSha)
      return no(`made on ${short(r.commit_id)}, not the current head: a push voids approvals`);
    const who = { login: r.user!.login, id: r.user!.id };
    const via = matchingPrincipal(who, resource.approvers, memberships);
    approvers.push({ ...who, review_id: r.id, ...(via ? { via } : {}) });
    approvedTimes.push(time(r));
    return { ...base, counted: true, reason: 'counts as an approval' };
  });

  const decision = (
    outcome: Decision['outcome'],
    rule: string | null,
    reasons: string[],
  ): Decision => ({ outcome, rule, approvers, required, verdicts, reasons });
  const tally = `${approvers.length} of ${required} required approval${required === 1 ? '' : 's'}`;

  const problems = checkGrantAgainstPolicy(grant, resource, memberships);
  if (grant.extends && input.extending !== undefined) {
    const window = extensionWindow(grant, input.extending, resource);
    if (!window.ok) problems.push(...window.problems);
  }
  if (problems.length)
    return decision(
      'denied',
      null,
      problems.map((p) => p.message),
    );
  if (blockers.length)
    return decision('denied', null, [
      `changes requested by ${blockers.map((l) => `@${l}`).join(', ')}`,
    ]);
  // The TTL is judged at the moment the approval became sufficient, not when the app got round
  // to merging it: a late delivery must not deny an approval made in time, and an approval made
  // after the request expired must not revive it (the action re-decides at the merge time).
  const requested = parseTimestamp(grant.requested_at);
  const deadline = requested ? requested.getTime() + resource.request_ttl * 1000 : Infinity;
  const ttl = formatDuration(resource.request_ttl);
  if (approvers.length >= required) {
    const sufficientAt = [...approvedTimes].sort((a, b) => a - b)[required - 1]!;
    if (sufficientAt > deadline)
      return decision('denied', null, [
        `request expired after ${ttl}: the approvals came too late (${tally}); open a new request`,
      ]);
    return decision('approved', 'reviews', [
      `approved by ${approvers.map((a) => `@${a.login}`).join(', ')} (${tally})`,
    ]);
  }
  if (now.getTime() > deadline)
    return decision('denied', null, [
      `request expired after ${ttl} without enough approvals (${tally})`,
    ]);
  if (grant.break_glass)
    return decision('approved', 'break_glass', [
      'break-glass: granted at once, to be reviewed after the fact',
    ]);
  const auto = resource.auto_approve.find(
    (rule) =>
      grant.duration <= rule.max_duration &&
      matchesAny(grant.requester, rule.requester_in, memberships),
  );
  if (auto)
    return decision('approved', `auto_approve:${auto.name}`, [
      `auto-approved by rule "${auto.name}" (up to ${formatDuration(auto.max_duration)})`,
    ]);
  const over = resource.auto_approve.find(
    (rule) =>
      grant.duration > rule.max_duration &&
      matchesAny(grant.requester, rule.requester_in, memberships),
  );
  return decision('pending', null, [
    `waiting for approvals: ${tally}`,
    ...(over
      ? [
          `auto-approve rule "${over.name}" covers up to ${formatDuration(over.max_duration)}; ${formatDuration(grant.duration)} needs reviews`,
        ]
      : []),
  ]);
}
