import { GRANTS_DIR, parseGrantPath, type GrantPath } from '../core/grant-file.js';
import type { Grant } from '../core/grant.js';
import type { Problem } from '../core/problem.js';
import { sameLogin } from '../core/identity.js';
import type { IssueInfo, PullRequestFile, PullRequestInfo } from '../github/github-client.js';
import { BRANCH_PREFIX } from './config.js';
import { requestBranch } from './request-pr.js';

/** Whether a PR is about grants at all (other PRs, e.g. policy changes, are not ours to judge). */
export const touchesGrants = (files: readonly PullRequestFile[]): boolean =>
  files.some((f) => f.filename === GRANTS_DIR || f.filename.startsWith(`${GRANTS_DIR}/`));

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

const REQUEST_BRANCH = new RegExp(`^${BRANCH_PREFIX}req-([1-9][0-9]*)(?:-ext-[1-9][0-9]*)?$`);

/**
 * The issue a request branch was made for (`gatepass/req-42`, `gatepass/req-42-ext-1` → 42);
 * null for any other branch. Known from the PR alone, so the issue can be read alongside the
 * grant file rather than after it.
 */
export function requestIssueOf(headRef: string | undefined): number | null {
  const m = headRef === undefined ? null : REQUEST_BRANCH.exec(headRef);
  return m ? Number(m[1]) : null;
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
