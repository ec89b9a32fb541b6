import {
  authorIssueOf,
  breakGlassInvoked,
  judgeApproval,
  requestProblems,
} from '../core/approval.js';
import { grantPath, parseGrant } from '../core/grant-file.js';
import type { Resource } from '../core/policy.js';
import type { Grant } from '../core/grant.js';
import type { Problem } from '../core/problem.js';
import type { Decision } from '../core/review.js';
import { formatTrailers } from '../core/trailers.js';
import type { PullRequestInfo } from '../core/ports.js';
import { openFollowUpReview } from './break-glass.js';
import { type Deps, membershipsFor } from './deps.js';
import { requestPrScope, touchesGrants } from './grant-pr.js';
import { decisionCheck, deniedComment, mergedComment, refusedCheck } from './messages.js';

export type PrOutcome = 'ignored' | 'refused' | 'pending' | 'merged' | 'merge-refused' | 'denied';

/**
 * Level-triggered: whatever event arrived, re-read the PR, its files, the grant at its head,
 * the policies at the default branch's head, every review and the memberships, and decide
 * from that alone. A duplicated, late or out-of-order delivery decides the same thing.
 */
export async function evaluatePullRequest(d: Deps, number: number): Promise<PrOutcome> {
  const { client, config } = d;
  const pr = await client.pullRequest(number);
  if (pr.state !== 'open' || pr.base_ref !== d.defaultBranch) return 'ignored';
  // The files of the decided commit itself, never the PR's live file list: the head may move
  // during that call and back, and the list would then describe a head nobody decided on.
  const comparison = await client.compareCommits(pr.base_ref, pr.head_sha);
  const { files } = comparison;
  if (!touchesGrants(files)) return 'ignored';

  const scope = requestPrScope(files);
  if (!scope.ok) return refuse(d, pr, scope.problems);
  if (!comparison.complete)
    return refuse(d, pr, [{ message: 'the pull request is too large to judge' }]);
  // The app's PR names its issue in its branch, so the issue's author (who the requester must
  // be) is read with the rest. Independent reads in one round trip: the decision waits on
  // GitHub, not on itself.
  const branchIssue = authorIssueOf(pr);
  const [file, policies, reviews, issueByBranch] = await Promise.all([
    client.file(scope.path, pr.head_sha),
    d.policies.atHead(d),
    client.reviews(number),
    branchIssue === null ? Promise.resolve(null) : client.issue(branchIssue),
  ]);
  if (!file)
    return refuse(d, pr, [
      { file: scope.path, message: 'the file cannot be read at the head commit' },
    ]);
  const parsed = parseGrant(file.text, scope.path);
  if (!parsed.ok) return refuse(d, pr, parsed.problems);
  const grant = parsed.value;
  // A hand-opened request naming an issue: that issue's author must be the requester.
  const issueNumber = authorIssueOf(pr, grant);
  const issue =
    issueNumber === branchIssue
      ? issueByBranch
      : issueNumber === null
        ? null
        : await client.issue(issueNumber);
  const now = d.clock.now();
  // The app judges an open PR: the requester is tied to who opened it (or its issue), under
  // the default branch's head policy, now (src/core/approval.ts says what the action differs in).
  const question = { grant, path: scope.path, files, author: { pr, issue }, now };
  const mismatch = requestProblems(question);
  if (mismatch.length) return refuse(d, pr, mismatch);

  const resource = policies.policies.resources.get(grant.resource);
  if (!resource)
    return refuse(d, pr, [
      {
        file: scope.path,
        path: 'resource',
        message: `no policy defines resource "${grant.resource}"`,
      },
    ]);
  const [memberships, extending] = await Promise.all([
    membershipsFor(client, resource),
    grant.extends ? extendedGrant(d, grant) : Promise.resolve(undefined),
  ]);
  const answer = judgeApproval({
    ...question,
    resource,
    reviews,
    memberships,
    headSha: pr.head_sha,
    // The app's PR is the app's account's: only its own commits on the request make break-glass.
    breakGlassInvoked: breakGlassInvoked(
      comparison.commits,
      pr.user.type === 'Bot' ? pr.user.id : undefined,
    ),
    ...(extending !== undefined ? { extending } : {}),
  });
  if (!answer.ok) return refuse(d, pr, answer.problems);
  const { decision } = answer;
  const output = decisionCheck(decision, grant, policies.commit);
  await client.createCheckRun({
    name: config.checkName,
    head_sha: pr.head_sha,
    state:
      decision.outcome === 'pending'
        ? { status: 'in_progress' }
        : {
            status: 'completed',
            conclusion: decision.outcome === 'approved' ? 'success' : 'failure',
          },
    ...output,
  });
  if (decision.outcome === 'approved')
    return merge(d, pr, grant, resource, decision, policies.commit);
  if (decision.outcome === 'denied') return deny(d, pr, grant, decision.reasons);
  return 'pending';
}

async function refuse(d: Deps, pr: PullRequestInfo, problems: Problem[]): Promise<PrOutcome> {
  await d.client.createCheckRun({
    name: d.config.checkName,
    head_sha: pr.head_sha,
    state: { status: 'completed', conclusion: 'failure' },
    ...refusedCheck(problems),
  });
  return 'refused';
}

/** Where people follow the request: its issue, or the PR itself for a PR opened by hand. */
const conversation = (grant: Grant, pr: PullRequestInfo): number => grant.source.issue ?? pr.number;

/** The grant an extension extends, as it is on the default branch now; null when not there. */
async function extendedGrant(d: Deps, grant: Grant): Promise<Grant | null> {
  const path = grantPath(grant.resource, grant.extends!);
  const file = await d.client.file(path, d.defaultBranch);
  const parsed = file ? parseGrant(file.text, path) : null;
  return parsed?.ok ? parsed.value : null;
}

async function merge(
  d: Deps,
  pr: PullRequestInfo,
  grant: Grant,
  resource: Resource,
  decision: Decision,
  policyCommit: string,
): Promise<PrOutcome> {
  const { client, config } = d;
  const result = await client.mergePullRequest({
    pull_number: pr.number,
    // GitHub refuses the merge if the head moved since the decision (threat #2).
    sha: pr.head_sha,
    method: config.mergeMethod,
    // `(#N)` ends the subject as in GitHub's own squash titles: the audit ties the commit to its PR by it.
    title: `Grant ${grant.resource} to ${grant.requester.login} (${grant.id}) (#${pr.number})`,
    // The squash commit's body: only trailers, the audit reads nothing else.
    message: formatTrailers({
      grant: grant.id,
      event: 'approved',
      resource: grant.resource,
      requestedBy: grant.requester,
      approvedBy: decision.approvers,
      policy: policyCommit,
      rule: decision.rule ?? undefined,
      pullRequest: pr.number,
      at: d.clock.now().toISOString(),
    }),
  });
  if (!result.merged) {
    d.log.warn(
      `#${pr.number}: merge refused (HTTP ${result.status}); deciding again on the next event`,
    );
    return 'merge-refused';
  }
  const breakGlass = decision.rule === 'break_glass';
  const labels = [config.labels.approved, ...(breakGlass ? [config.labels.breakGlass] : [])];
  // Different labels: removing one and adding the other commute.
  const relabel = (n: number) =>
    Promise.all([client.removeLabel(n, config.labels.pending), client.addLabels(n, labels)]);
  const where = conversation(grant, pr);
  // The merge is done; the notices do not depend on each other.
  await Promise.all([
    relabel(pr.number),
    ...(where !== pr.number ? [relabel(where)] : []),
    client.createComment(where, mergedComment(pr.number, decision, result.sha)),
  ]);
  if (breakGlass)
    await openFollowUpReview(d, {
      grant,
      resource,
      conversation: where,
      pr: pr.number,
      mergeSha: result.sha,
    });
  return 'merged';
}

async function deny(
  d: Deps,
  pr: PullRequestInfo,
  grant: Grant,
  reasons: readonly string[],
): Promise<PrOutcome> {
  const { client, config } = d;
  const where = conversation(grant, pr);
  await client.createComment(pr.number, deniedComment(pr.number, reasons));
  if (where !== pr.number) await client.createComment(where, deniedComment(pr.number, reasons));
  for (const n of new Set([pr.number, where])) {
    await client.removeLabel(n, config.labels.pending);
    await client.addLabels(n, [config.labels.denied]);
  }
  await client.closePullRequest(pr.number);
  return 'denied';
}
