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
import { sameLogin } from '../core/identity.js';
import type { CheckRunInput, IssueInfo, PullRequestInfo } from '../core/ports.js';
import { openFollowUpReview } from './break-glass.js';
import { type Deps, decisionMemberships } from './deps.js';
import { requestPrScope, touchesGrants } from './grant-pr.js';
import { decisionCheck, deniedComment, mergedComment, refusedCheck } from './messages.js';

export type PrOutcome = 'ignored' | 'refused' | 'pending' | 'merged' | 'merge-refused' | 'denied';

/**
 * Level-triggered: whatever event arrived, re-read the PR's files, the grant at its head, the
 * policies at the default branch's head, every review and the memberships, and decide from that
 * alone. A duplicated, late or out-of-order delivery decides the same thing. `fromPayload` is
 * the PR as a signed delivery carries it (a review event's `pull_request`): it is not read
 * again, and a head that moved since is refused by the merge (which names the decided head).
 */
export async function evaluatePullRequest(
  d: Deps,
  number: number,
  fromPayload?: PullRequestInfo,
): Promise<PrOutcome> {
  const { client } = d;
  const pr = fromPayload ?? (await client.pullRequest(number));
  if (pr.state !== 'open' || pr.base_ref !== d.defaultBranch) return 'ignored';
  // Round trip 1, all independent: the files of the decided commit itself (never the PR's live
  // file list: the head may move during that call and back, and the list would then describe a
  // head nobody decided on, and it names the default branch's head: the policy commit), every
  // review and the issue the app's branch names (whose author the requester must be).
  // A PR on a request branch is about a grant: everything at once. Any other PR (a policy
  // change, most often) first shows whether it touches grants at all, so it costs one read.
  const branchIssue = authorIssueOf(pr);
  const compare = client.compareCommits(pr.base_ref, pr.head_sha);
  if (branchIssue === null && !touchesGrants((await compare).files)) return 'ignored';
  const [comparison, reviews, issueByBranch] = await Promise.all([
    compare,
    client.reviews(number),
    branchIssue === null ? Promise.resolve(null) : client.issue(branchIssue),
  ]);
  // `main...head` names main's head at that moment (`base_commit`): the policy commit, read from
  // the cache kept by commit (carried across pushes that leave policies/ alone), without a
  // separate `GET …/git/ref`. An answer without it asks for the ref.
  const policies = comparison.baseSha
    ? await d.policies.at(client, comparison.baseSha)
    : await d.policies.atHead(d);
  const { files } = comparison;
  if (!touchesGrants(files)) return 'ignored';

  const scope = requestPrScope(files);
  if (!scope.ok) return refuse(d, pr, scope.problems);
  if (!comparison.complete)
    return refuse(d, pr, [{ message: 'the pull request is too large to judge' }]);
  // Round trip 2: the grant at the head, and the memberships of whoever the request can only be
  // for (the resource is in the file's path; the requester is the author of the branch's issue,
  // or of a PR opened by hand). Checked again below once the grant is read.
  const expectedRequester = issueByBranch?.user ?? pr.user;
  const byPath = policies.policies.resources.get(scope.where.resource);
  const [file, early] = await Promise.all([
    client.file(scope.path, pr.head_sha),
    decisionMemberships(
      client,
      byPath,
      expectedRequester,
      reviews.map((r) => r.user),
    ),
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
  // The author checks passed, so the grant's requester is that author (id and login); were the
  // early lookup about anyone or anything else, it is made again for the grant itself.
  const sameQuestion =
    resource === byPath &&
    grant.requester.id === expectedRequester.id &&
    sameLogin(grant.requester.login, expectedRequester.login);
  const [memberships, extending] = await Promise.all([
    sameQuestion
      ? Promise.resolve(early)
      : decisionMemberships(
          client,
          resource,
          grant.requester,
          reviews.map((r) => r.user),
        ),
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
  await client.createCheckRun(decisionCheckRun(d, pr.head_sha, decision, grant, policies.commit));
  if (decision.outcome === 'approved')
    return merge(d, pr, { grant, resource, decision, policyCommit: policies.commit, issue });
  if (decision.outcome === 'denied') return deny(d, pr, grant, decision.reasons, issue);
  return 'pending';
}

/** The `gatepass/approval` check run for a decision on `headSha`. */
export function decisionCheckRun(
  d: Pick<Deps, 'config'>,
  headSha: string,
  decision: Decision,
  grant: Grant,
  policyCommit: string,
): CheckRunInput {
  return {
    name: d.config.checkName,
    head_sha: headSha,
    state:
      decision.outcome === 'pending'
        ? { status: 'in_progress' }
        : {
            status: 'completed',
            conclusion: decision.outcome === 'approved' ? 'success' : 'failure',
          },
    ...decisionCheck(decision, grant, policyCommit),
  };
}

/**
 * Replaces gatepass's state labels on an issue or PR with `add`, in one `PUT` when the labels it
 * has are known (from the delivery or the issue just read): every other label, whoever set it,
 * is kept. Unknown: removes and adds, as before.
 */
async function relabel(
  d: Deps,
  n: number,
  has: readonly string[] | undefined,
  add: readonly string[],
): Promise<void> {
  const { client, config } = d;
  const state = new Set([config.labels.pending, config.labels.approved, config.labels.denied]);
  if (has === undefined) {
    await Promise.all([
      client.removeLabel(n, config.labels.pending),
      client.addLabels(n, [...add]),
    ]);
    return;
  }
  const next = [...new Set([...has.filter((l) => !state.has(l)), ...add])];
  await client.setLabels(n, next);
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
  o: {
    grant: Grant;
    resource: Resource;
    decision: Decision;
    policyCommit: string;
    /** The request's issue as read for this decision (its labels are kept). */
    issue: IssueInfo | null;
  },
): Promise<PrOutcome> {
  const { client, config } = d;
  const { grant, resource, decision, policyCommit } = o;
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
  const where = conversation(grant, pr);
  // The merge is done; the notices do not depend on each other.
  await Promise.all([
    relabel(d, pr.number, pr.labels, labels),
    ...(where !== pr.number ? [relabel(d, where, labelsOf(o.issue, where), labels)] : []),
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

/** The labels of issue `n` when `issue` is that issue as just read. */
const labelsOf = (issue: IssueInfo | null, n: number): string[] | undefined =>
  issue?.number === n ? issue.labels : undefined;

async function deny(
  d: Deps,
  pr: PullRequestInfo,
  grant: Grant,
  reasons: readonly string[],
  issue: IssueInfo | null,
): Promise<PrOutcome> {
  const { client, config } = d;
  const where = conversation(grant, pr);
  await client.createComment(pr.number, deniedComment(pr.number, reasons));
  if (where !== pr.number) await client.createComment(where, deniedComment(pr.number, reasons));
  for (const n of new Set([pr.number, where]))
    await relabel(d, n, n === pr.number ? pr.labels : labelsOf(issue, n), [config.labels.denied]);
  await client.closePullRequest(pr.number);
  return 'denied';
}
