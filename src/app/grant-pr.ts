import { GRANTS_DIR, parseGrantPath, type GrantPath } from '../core/grant-file.js';
import type { Grant } from '../core/grant.js';
import type { Problem } from '../core/problem.js';
import type { PullRequestFile, PullRequestInfo } from '../github/github-client.js';
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

/**
 * What ties a grant file to its PR: a person's PR asks for themselves; the app's PR carries the
 * grant it was opened for, on its own branch.
 */
export function grantMatchesPr(grant: Grant, pr: PullRequestInfo, file: string): Problem[] {
  const problems: Problem[] = [];
  if (grant.status !== 'pending')
    problems.push({ file, path: 'status', message: `a request is pending, not ${grant.status}` });
  if (pr.user.type === 'Bot') {
    if (pr.head_ref !== undefined && pr.head_ref !== requestBranch(grant.id))
      problems.push({
        file,
        path: 'id',
        message: `grant ${grant.id} does not belong on branch ${pr.head_ref}`,
      });
  } else if (pr.user.id !== grant.requester.id)
    problems.push({
      file,
      path: 'requester',
      message: `@${pr.user.login} opened the pull request, so the grant must name them as requester, not @${grant.requester.login}`,
    });
  return problems;
}
