import {
  followUpMarker,
  parseFollowUpMarker,
  reviewDueAt,
  reviewRecordPath,
  serializeReviewRecord,
} from '../core/break-glass.js';
import { DEFAULT_REVIEW_WITHIN } from '../core/policy-load.js';
import { formatDuration } from '../core/duration.js';
import type { Grant } from '../core/grant.js';
import { isTeam, matchesAny, type Person, sameLogin } from '../core/identity.js';
import type { Resource } from '../core/policy.js';
import { formatBreakGlassReview } from '../core/trailers.js';
import { errorStatus } from '../github/github-client.js';
import { findMarked } from './comments.js';
import { type Deps, membershipsOfPerson } from './deps.js';
import { inert } from './messages.js';

export const FOLLOW_UP_MARKER = '<!-- gatepass:follow-up -->';

/**
 * Opens the after-the-fact review of a break-glass grant: an issue labelled loudly, assigned to
 * the approvers who are people and mentioning the teams, that stays open until an eligible
 * approver comments `/approve`. An issue rather than a second PR: there is nothing to change in
 * the repo for the reviewer to look at, and `/approve` is checked like `/revoke` (sender id,
 * approvers with team membership now, never the requester or a bot). Idempotent: a marker
 * comment on the request says it was opened, so a redelivery does not open another.
 */
export async function openFollowUpReview(
  d: Deps,
  o: { grant: Grant; resource: Resource; conversation: number; pr: number; mergeSha: string },
): Promise<number | null> {
  const { client, config } = d;
  const { grant, resource } = o;
  const comments = await client.issueComments(o.conversation);
  if (findMarked(comments, FOLLOW_UP_MARKER)) return null;
  const within = resource.break_glass?.review_within ?? DEFAULT_REVIEW_WITHIN;
  const due = reviewDueAt(d.clock.now().toISOString(), within);
  const users = resource.approvers.filter(
    (p) => !isTeam(p) && !sameLogin(p, grant.requester.login),
  );
  const mentions = resource.approvers
    .filter((p) => !sameLogin(p, grant.requester.login))
    .map((p) => `@${p}`)
    .join(', ');
  const body = `${followUpMarker(grant)}
> [!WARNING]
> **Break-glass access** to \`${grant.resource}\` was granted to @${grant.requester.login} without prior review (#${o.pr}, merged as ${o.mergeSha}).

Reason given: ${grant.break_glass ? inert(grant.break_glass.reason) : '(none)'}

Duration: ${formatDuration(grant.duration)}. Request: #${o.conversation}.

${mentions}: please review this use after the fact **within ${formatDuration(within)}** (by ${due}). Comment \`/approve\` (optionally with a note) to record your review; the requester cannot review their own use. If it was not justified, say so here and comment \`/revoke\` on #${o.conversation} if the access is still live. \`gatepass audit\` reports this grant until the review is recorded.`;
  const number = await client.createIssue({
    title: `Break-glass review: ${grant.resource} for ${grant.requester.login} (${grant.id})`,
    body,
    labels: [config.labels.breakGlass, config.labels.breakGlassReview],
    assignees: users,
  });
  await client.createComment(
    o.conversation,
    `${FOLLOW_UP_MARKER}\n> [!WARNING]\n> Break-glass: the after-the-fact review is in #${number}.`,
  );
  return number;
}

export type ApproveOutcome = 'not-follow-up' | 'refused' | 'done' | 'nothing-to-do';

/**
 * `/approve [note]` on a follow-up issue: an eligible approver records the after-the-fact
 * review. The record is a file under `reviews/break-glass/` committed to the default branch with
 * the `Gatepass-Break-Glass-Review` trailer that `gatepass audit` reads; creating it (never
 * overwriting) makes a second `/approve` a no-op.
 */
export async function approveFollowUp(
  d: Deps,
  ev: {
    issue: { number: number; author: Person & { type?: string }; body?: string | null };
    sender: Person;
    commentId: number;
    note?: string;
  },
  reply: (text: string) => Promise<void>,
): Promise<ApproveOutcome> {
  const ref = ev.issue.author.type === 'Bot' ? parseFollowUpMarker(ev.issue.body) : null;
  if (!ref) return 'not-follow-up';
  if (ev.sender.id === ref.requester.id) {
    await reply('you used the break-glass access, so you cannot review it. Nothing changed.');
    return 'refused';
  }
  const policies = await d.policies.atHead(d);
  const resource = policies.policies.resources.get(ref.resource);
  const memberships = resource
    ? await membershipsOfPerson(d.client, ev.sender, resource.approvers)
    : new Map();
  if (!resource || !matchesAny(ev.sender, resource.approvers, memberships)) {
    await reply(
      `only an approver of \`${ref.resource}\` can review this break-glass use. Nothing changed.`,
    );
    return 'refused';
  }
  const now = d.clock.now().toISOString();
  const path = reviewRecordPath(ref.resource, ref.grant);
  try {
    await d.client.putFile({
      path,
      branch: d.defaultBranch,
      text: serializeReviewRecord({
        grant: ref.grant,
        resource: ref.resource,
        requester: ref.requester,
        reviewer: ev.sender,
        comment_id: ev.commentId,
        reviewed_at: now,
        ...(ev.note ? { note: ev.note } : {}),
      }),
      message:
        [
          // The note stays in the file: free text in the message could forge a trailer line.
          `Break-glass review of ${ref.grant} by ${ev.sender.login}`,
          formatBreakGlassReview({
            grant: ref.grant,
            resource: ref.resource,
            reviewer: ev.sender,
            review: ev.commentId,
            at: now,
          }),
        ].join('\n\n') + '\n',
    });
  } catch (e) {
    // No sha was sent: GitHub refuses to overwrite an existing record.
    if (errorStatus(e) === 422 || errorStatus(e) === 409) {
      await reply('this break-glass use was already reviewed. Nothing changed.');
      return 'nothing-to-do';
    }
    throw e;
  }
  await d.client.removeLabel(ev.issue.number, d.config.labels.breakGlassReview);
  await reply(`recorded your after-the-fact review of \`${ref.grant}\` in \`${path}\`.`);
  await d.client.closeIssue(ev.issue.number);
  return 'done';
}
