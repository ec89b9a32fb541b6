import type { PullRequestFile } from '../core/ports.js';
import { isUnderGrants } from '../core/repo-layout.js';

/** Whether a PR is about grants at all (other PRs, e.g. policy changes, are not ours to judge). */
export const touchesGrants = (files: readonly PullRequestFile[]): boolean =>
  files.some((f) => isUnderGrants(f.filename));

export { grantMatchesPr, requestPrScope } from '../core/approval.js';
export { requestIssueOf } from '../core/request-naming.js';
