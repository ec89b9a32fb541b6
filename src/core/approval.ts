import { decide } from './decision.js';
import type { Grant } from './grant.js';
import { isTeam, sameLogin, type Memberships, type Person, type Principal } from './identity.js';
import type { Resource } from './policy.js';
import type {
  CommitInfo,
  IssueInfo,
  MembershipCheck,
  PullRequestFile,
  PullRequestInfo,
} from './ports.js';
import type { Problem } from './problem.js';
import { parseGrantPath, type GrantPath } from './repo-layout.js';
import { BRANCH_PREFIX, requestBranch, requestIssueOf } from './request-naming.js';
import { requestTimeProblems } from './request-check.js';
import type { Decision, Review } from './review.js';

/**
 * "Is this approval valid?", answered once for the app (deciding an open request PR) and the
 * action (confirming a merged one before anything is issued). The rules are the same: the PR
 * adds exactly the one grant file, the grant names the right requester, and the reviews on the
 * PR's head satisfy the resource's policy. What differs is explicit in the question:
 * - `author`: the PR and the issue its branch names, to tie the requester to who asked. The
 *   app passes them; the action's own checks tie a merged file to its merge commit instead.
 * - `requesterLoginNow`: the action looks the requester's id up again before issuing (policy
 *   matches logins, providers act on ids); the app trusts the author check it just made.
 * - `resource` and `now`: the app judges under the default branch's head policy, now; the action
 *   under the policy the branch had at the merge, as at the merge.
 * - `appBotId`: the action knows the app's account, whose reviews never count.
 */

/**
 * A request PR adds exactly one live grant file and changes nothing else (threat #3): not a
 * policy, not CODEOWNERS, not a workflow, not another grant.
 */
export function requestPrScope(
  files: readonly PullRequestFile[],
): { ok: true; path: string; where: GrantPath } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  if (files.length !== 1)
    problems.push({
      message: `the pull request changes ${files.length} files: ${files
        .slice(0, 10)
        .map((f) => `\`${f.filename}\``)
        .join(', ')}${files.length > 10 ? ', …' : ''}`,
    });
  const file = files[0];
  if (file && files.length === 1) {
    const where = parseGrantPath(file.filename);
    if (!where || where.archived)
      problems.push({
        file: file.filename,
        message: 'not a grant file (grants/<resource>/<id>.yaml)',
      });
    else if (file.status !== 'added')
      problems.push({
        file: file.filename,
        message: `the file is ${file.status}; a request adds a new grant file (status changes are made by the action)`,
      });
    else return { ok: true, path: file.filename, where };
  }
  return { ok: false, problems };
}

const names = (p: { login: string; id: number }): string => `@${p.login} (id ${p.id})`;

/**
 * What ties a grant file to its PR. A person's PR asks for that person: id and login, since
 * providers give access by id while policies name logins (threat #3). The app's PR is on the
 * branch of the grant it was opened for, and that grant names the author of the issue it came
 * from: whoever can push to the branch could otherwise rewrite the requester before review.
 * `issue` is the issue the branch names, as read from GitHub (null when unreadable).
 */
export function grantMatchesPr(
  grant: Grant,
  pr: PullRequestInfo,
  file: string,
  issue: IssueInfo | null,
): Problem[] {
  const problems: Problem[] = [];
  if (grant.status !== 'pending')
    problems.push({ file, path: 'status', message: `a request is pending, not ${grant.status}` });
  if (pr.user.type !== 'Bot') {
    if (pr.user.id !== grant.requester.id || !sameLogin(pr.user.login, grant.requester.login))
      problems.push({
        file,
        path: 'requester',
        message: `${names(pr.user)} opened the pull request, so the grant must name them as requester, not ${names(grant.requester)}`,
      });
    // A hand-opened request may name its own issue, never someone else's: the app labels and
    // comments on the issue a grant names.
    else if (grant.source.issue !== undefined && grant.source.issue !== pr.number) {
      if (!issue || issue.number !== grant.source.issue)
        problems.push({
          file,
          path: 'source.issue',
          message: `issue #${grant.source.issue} cannot be read, so it cannot be tied to the requester; leave \`source.issue\` out of a hand-opened request`,
        });
      else if (issue.user.id !== grant.requester.id)
        problems.push({
          file,
          path: 'source.issue',
          message: `issue #${grant.source.issue} was opened by ${names(issue.user)}, not by the requester ${names(grant.requester)}`,
        });
    }
    return problems;
  }
  if (pr.head_ref !== requestBranch(grant.id)) {
    problems.push({
      file,
      path: 'id',
      message:
        pr.head_ref === undefined
          ? `the branch of the pull request is unknown, so grant ${grant.id} cannot be tied to it`
          : `grant ${grant.id} does not belong on branch ${pr.head_ref}`,
    });
    return problems;
  }
  const number = requestIssueOf(pr.head_ref);
  if (number === null) {
    problems.push({
      file,
      path: 'id',
      message: `branch ${pr.head_ref} is not a request branch (${BRANCH_PREFIX}req-<issue>)`,
    });
    return problems;
  }
  if (grant.source.issue !== number) {
    problems.push({
      file,
      path: 'source.issue',
      message: `branch ${pr.head_ref} was made for issue #${number}, but the grant says it comes from ${grant.source.issue === undefined ? 'no issue' : `issue #${grant.source.issue}`}`,
    });
    return problems;
  }
  if (!issue)
    problems.push({
      file,
      path: 'requester',
      message: `issue #${number} cannot be read (or its author is gone), so the requester cannot be confirmed`,
    });
  else if (
    issue.user.id !== grant.requester.id ||
    !sameLogin(issue.user.login, grant.requester.login)
  )
    problems.push({
      file,
      path: 'requester',
      message: `issue #${number} was opened by ${names(issue.user)}, so the grant must name them as requester, not ${names(grant.requester)}`,
    });
  return problems;
}

/**
 * The issue whose author the requester must be: the one an app PR's branch names, or the one a
 * hand-opened request says it comes from. Null when there is none to read.
 */
export function authorIssueOf(
  pr: Pick<PullRequestInfo, 'user' | 'head_ref' | 'number'>,
  grant?: Pick<Grant, 'source'>,
): number | null {
  if (pr.user.type === 'Bot') return requestIssueOf(pr.head_ref);
  const n = grant?.source.issue;
  return n !== undefined && n !== pr.number ? n : null;
}

/**
 * Break-glass skips review, so it counts only when the requester asked for it through the app:
 * the form's checkbox (the app's request commit) or their own `/break-glass` (the app's
 * break-glass commit). The app is the only one who can make commits GitHub verifies as its
 * own, so every commit on the request must be one: a push by anyone else voids break-glass
 * (the request then needs reviews like any other). `appId` is the app's account id.
 */
export function breakGlassInvoked(
  commits: readonly CommitInfo[],
  appId: number | undefined,
): boolean {
  if (appId === undefined || commits.length === 0) return false;
  return commits.every((c) => c.verified && c.author?.id === appId);
}

/** The teams among `principals` (lowercase keys). */
const teamsIn = (principals: readonly Principal[]): string[] => [
  ...new Set(principals.filter(isTeam).map((t) => t.toLowerCase())),
];

/** The teams that may name the requester: requesters, auto-approve and break-glass. */
export function requesterTeams(resource: Resource): string[] {
  return teamsIn(requesterPrincipals(resource));
}

/** Whoever a check about the requester of `resource` may ask about (eligible, auto, break-glass). */
export function requesterPrincipals(resource: Resource): Principal[] {
  return [
    ...resource.requesters,
    ...resource.auto_approve.flatMap((r) => r.requester_in),
    ...(resource.break_glass?.allowed ?? []),
  ];
}

/**
 * The memberships a decision about `requester` and these reviewers can read: the requester in
 * the teams that may name a requester, each reviewer who could count (not the requester, not a
 * bot) in the approver teams. Nothing else is looked up (a 1,000-member team is one call per
 * person instead of ten pages), and nothing else is needed: `decide` asks about no one else.
 */
export function membershipChecks(
  resource: Resource,
  requester: Person,
  reviewers: readonly (Review['user'] | Person)[] = [],
): MembershipCheck[] {
  const checks: MembershipCheck[] = requesterTeams(resource).map((team) => ({
    team,
    person: requester,
  }));
  const approverTeams = teamsIn(resource.approvers);
  const seen = new Set<number>([requester.id]);
  for (const u of reviewers) {
    if (!u || seen.has(u.id)) continue;
    if ('type' in u && (u.type === 'Bot' || u.login.toLowerCase().endsWith('[bot]'))) continue;
    seen.add(u.id);
    for (const team of approverTeams) checks.push({ team, person: { login: u.login, id: u.id } });
  }
  return checks;
}

/**
 * The lookups a question about one person and a list of principals needs (may the commenter
 * revoke, may the requester use break-glass): that person in each team among them, one call per
 * team, never the teams' whole member lists.
 */
export function personChecks(person: Person, principals: readonly Principal[]): MembershipCheck[] {
  return teamsIn(principals).map((team) => ({ team, person }));
}

export interface ApprovalQuestion {
  /** The request as the PR carries it (at its head; for a merged PR, as merged). */
  grant: Grant;
  /** Where the grant file is. */
  path: string;
  /** The PR's changed files. */
  files: readonly PullRequestFile[];
  resource: Resource;
  reviews: readonly Review[];
  memberships: Memberships;
  /** The PR's head: only reviews of it count. */
  headSha: string;
  now: Date;
  /** The grant an extension extends, as it is on the default branch (null: not there). */
  extending?: Grant | null;
  appBotId?: number;
  /** The PR and the issue its branch names (null when unreadable); checked when given. */
  author?: { pr: PullRequestInfo; issue: IssueInfo | null };
  /** The requester id's login as looked up now (null: account gone); checked when given. */
  requesterLoginNow?: string | null;
  /**
   * Whether the requester invoked break-glass (`breakGlassInvoked`). Anything but true makes
   * the decision ignore a `break_glass` the file carries: the request then needs reviews.
   */
  breakGlassInvoked?: boolean;
}

export type ApprovalAnswer =
  /** The request cannot be judged at all (wrong files, wrong requester). */
  | { ok: false; problems: Problem[] }
  /** Judged: the decision says approved, pending or denied, and why. */
  | { ok: true; decision: Decision };

/**
 * The checks that need no lookup (the PR's files, who the request names): a caller may run
 * them first to refuse before asking GitHub for memberships. `judgeApproval` runs them too.
 */
export function requestProblems(
  q: Pick<ApprovalQuestion, 'grant' | 'path' | 'files' | 'author' | 'requesterLoginNow' | 'now'>,
): Problem[] {
  const scope = requestPrScope(q.files);
  if (!scope.ok) return scope.problems;
  if (scope.path !== q.path)
    return [{ file: scope.path, message: `the pull request adds ${scope.path}, not ${q.path}` }];
  // Bookkeeping only gatepass writes: a request that carries it poses as a later state.
  if (q.grant.revoke_requested)
    return [
      {
        file: q.path,
        path: 'revoke_requested',
        message: 'a request cannot carry "revoke_requested" (only gatepass writes it)',
      },
    ];
  // The same time rules as the issue form, for every request however it was opened.
  const times = requestTimeProblems(q.grant, q.now).map((p) => ({ ...p, file: q.path }));
  if (times.length) return times;
  if (q.author) {
    const mismatch = grantMatchesPr(q.grant, q.author.pr, q.path, q.author.issue);
    if (mismatch.length) return mismatch;
  }
  if (q.requesterLoginNow !== undefined) {
    const login = q.requesterLoginNow;
    if (login === null || !sameLogin(login, q.grant.requester.login))
      return [
        {
          file: q.path,
          path: 'requester',
          message: `the requester's account ${q.grant.requester.id} is ${login === null ? 'gone' : `@${login}`}, not @${q.grant.requester.login}`,
        },
      ];
  }
  return [];
}

/** The one approval check: the request's own problems, then the policy's decision. */
export function judgeApproval(q: ApprovalQuestion): ApprovalAnswer {
  const problems = requestProblems(q);
  if (problems.length) return { ok: false, problems };
  // A break_glass nobody invoked is not there: the request needs reviews like any other.
  const { break_glass: _ignored, ...withoutBreakGlass } = q.grant;
  const grant = q.breakGlassInvoked === true ? q.grant : withoutBreakGlass;
  const decision = decide({
    resource: q.resource,
    grant,
    reviews: [...q.reviews],
    memberships: q.memberships,
    headSha: q.headSha,
    now: q.now,
    ...(q.extending !== undefined ? { extending: q.extending } : {}),
    ...(q.appBotId !== undefined ? { appBotId: q.appBotId } : {}),
  });
  return { ok: true, decision };
}
