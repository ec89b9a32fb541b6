import {
  authorIssueOf,
  breakGlassInvoked,
  judgeApproval,
  membershipChecks,
} from '../../core/approval.js';
import { GitHubApiError } from '../../core/errors.js';
import type { Grant } from '../../core/grant.js';
import { parseGrant } from '../../core/grant-file.js';
import { sameRequest } from '../../core/grant-lifecycle.js';
import type { GrantHistory, PullRequestInfo, ReconcileGitHub } from '../../core/ports.js';
import type { Decision } from '../../core/review.js';
import { parseTimestamp } from '../../core/timestamp.js';
import { parseTrailers } from '../../core/trailers.js';
import type { Clock } from '../../core/clock.js';
import { readPolicies, type State } from './state.js';

/** What confirming an approval reads: the history, GitHub, and the run's cached login lookup. */
export interface ConfirmDeps {
  history: GrantHistory;
  github: ReconcileGitHub;
  /** The branch grants live on: the PR must have been merged into it. */
  branch: string;
  clock: Clock;
  /** The requester id's login now (the run asks each id once). */
  loginOf(id: number): Promise<string | null>;
  appBotId?: number;
}

export type Confirmation =
  { refused: string } | { number: number; added: string; pr: PullRequestInfo; decision: Decision };

/**
 * When the approval took effect: the merge. GitHub's timestamps have whole seconds, so a merge
 * in the same second as the request (auto-approval) reads as up to 999 ms before it; the
 * request time is then the truthful bound, not a grant approved before it was requested.
 */
export function approvedAt(mergedAt: string | null, requestedAt: string, now: Date): string {
  if (!mergedAt) return now.toISOString();
  const merged = Date.parse(mergedAt);
  const requested = Date.parse(requestedAt);
  return merged < requested && requested - merged < 1000 ? requestedAt : mergedAt;
}

/**
 * Threat #5: a grant on the default branch is trusted only if it arrived through a merged pull
 * request that changed exactly that file, whose reviews on its final head satisfy the policy
 * of the default branch it was merged into, with team memberships looked up now (threat #8),
 * whose request is still what was merged (nothing widened by a later push), and whose
 * requester login really is the account its id names (policy matches logins, providers act on
 * ids). The rules shared with the app are `judgeApproval` (src/core/approval.ts); this adds
 * what only a merged file has. Returns the reason to refuse, or the confirmed approval.
 */
export async function confirmApproval(
  deps: ConfirmDeps,
  grant: Grant,
  path: string,
  s: Pick<State, 'grants'>,
): Promise<Confirmation> {
  const { history, github, branch } = deps;
  const no = (refused: string) => ({ refused });
  const added = await history.addedIn('HEAD', path);
  if (!added) return no('no commit on the default branch adds this file');
  const merged = parseGrant((await history.showFile(added, path)) ?? '', path);
  if (!merged.ok || !sameRequest(merged.value, grant))
    return no(`the request is no longer what commit ${added.slice(0, 7)} merged`);
  const message = await history.commitMessage(added);
  const number = parseTrailers(message)?.pullRequest ?? grant.source.pull_request;
  if (number === undefined)
    return no(`commit ${added.slice(0, 7)} added it without a pull request`);
  let pr: PullRequestInfo;
  try {
    pr = await github.pullRequest(number);
  } catch (e) {
    if (e instanceof GitHubApiError && e.status === 404)
      return no(`pull request #${number} does not exist`);
    throw e;
  }
  if (!pr.merged) return no(`pull request #${number} was not merged`);
  if (pr.merge_commit_sha !== added)
    return no(`commit ${added.slice(0, 7)} that added the file is not the merge of #${number}`);
  if (pr.base_ref !== branch) return no(`#${number} was merged into ${pr.base_ref}`);
  if (
    !(await history.revParse(grant.policy_commit)) ||
    !(await history.isAncestor(grant.policy_commit, 'HEAD'))
  )
    return no(`its policy commit ${grant.policy_commit.slice(0, 7)} is not on the default branch`);
  // The policy the branch had when the request was merged, not one the request names: a
  // hand-made grant file could name an older, looser policy commit.
  const policyAt = `${added}^1`;
  const base = await history.revParse(policyAt);
  if (!base) return no(`commit ${added.slice(0, 7)} has no parent on the default branch`);
  // The files and commits of the head that was merged, from that commit itself (never the PR's
  // file list), and who asked: the issue the PR's branch or the request names.
  const issueNumber = authorIssueOf(pr, merged.value);
  const [comparison, login, policies, issue, reviews] = await Promise.all([
    github.compareCommits(base, pr.head_sha),
    deps.loginOf(grant.requester.id),
    readPolicies(history, policyAt),
    issueNumber === null ? Promise.resolve(null) : github.issue(issueNumber),
    github.reviews(number),
  ]);
  const { files } = comparison;
  if (!comparison.complete || files.length !== 1 || files[0]!.filename !== path)
    return no(`#${number} must change exactly this grant file, it changed ${files.length}`);
  const resource = policies.policies.resources.get(grant.resource);
  if (!resource) return no(`no valid policy for "${grant.resource}" when it was merged`);
  // Only the people the decision is about, by their login now: the requester's as just looked
  // up by id (a login the requester gave up may belong to someone else by now; a gone account
  // fails the check below anyway), each reviewer's as GitHub lists the review.
  const memberships = await github.membershipsOf(
    membershipChecks(resource, { id: grant.requester.id, login: login ?? grant.requester.login }, [
      ...reviews.map((r) => r.user),
    ]),
  );
  const answer = judgeApproval({
    grant: merged.value,
    path,
    files,
    resource,
    reviews,
    memberships,
    headSha: pr.head_sha,
    // Judged as at the merge, when the approval took effect: the request's TTL and any
    // auto-approve rule are about that moment, not about when this run happens to start.
    now: parseTimestamp(pr.merged_at ?? '') ?? deps.clock.now(),
    ...(grant.extends
      ? {
          extending:
            s.grants.find(
              (g) => g.grant.id === grant.extends && g.grant.resource === grant.resource,
            )?.grant ?? null,
        }
      : {}),
    ...(deps.appBotId !== undefined ? { appBotId: deps.appBotId } : {}),
    // Looked up again now: the account an id names may have been renamed or deleted.
    requesterLoginNow: login,
    // Who opened the PR or its issue must be the requester, as the app checked (a PR merged by
    // hand never passed the app).
    author: { pr, issue },
    breakGlassInvoked: breakGlassInvoked(
      comparison.commits,
      deps.appBotId ?? (pr.user.type === 'Bot' ? pr.user.id : undefined),
    ),
  });
  if (!answer.ok) return no(answer.problems.map((p) => p.message).join('; '));
  const { decision } = answer;
  if (decision.outcome !== 'approved')
    return no(`approval not confirmed: ${decision.reasons.join('; ')}`);
  return { number, added, pr, decision };
}
