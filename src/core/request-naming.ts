import { NAME_PATTERN, RESERVED_NAMES } from './policy.js';

/**
 * How requests are named, in one place: grant ids (`req-42` for issue 42, `req-42-ext-1` for
 * its first extension), the branches the app opens their pull requests from
 * (`gatepass/req-42`), and the way back from a branch to its issue.
 */

/** Grant ids become file names and commit trailers, so they follow the resource-name rules. */
export const GRANT_ID_PATTERN = NAME_PATTERN;

export const isGrantId = (id: string): boolean =>
  typeof id === 'string' && GRANT_ID_PATTERN.test(id) && !RESERVED_NAMES.includes(id);

export const requestGrantId = (issue: number): string => `req-${issue}`;
export const extensionGrantId = (issue: number, n: number): string => `req-${issue}-ext-${n}`;

/** Every branch the app opens a request pull request from starts with this. */
export const BRANCH_PREFIX = 'gatepass/';

export const requestBranch = (grantId: string): string => `${BRANCH_PREFIX}${grantId}`;

/** The prefix shared by the branches of every extension of issue `issue`'s request. */
export const extensionBranchPrefix = (issue: number): string =>
  requestBranch(`${requestGrantId(issue)}-ext-`);

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

/**
 * The next free extension number of issue `issue`'s request: numbers already used by an
 * extension branch (`branches`, full names) or by an extension grant file (`fileNames`, e.g.
 * `req-42-ext-1.yaml`) are taken; the lowest free one from 1 is returned.
 */
export function nextExtensionNumber(
  issue: number,
  branches: readonly string[],
  fileNames: readonly string[],
): number {
  const prefix = extensionBranchPrefix(issue);
  const taken = new Set(
    branches.filter((b) => b.startsWith(prefix)).map((b) => Number(b.slice(prefix.length))),
  );
  const filePrefix = `${requestGrantId(issue)}-ext-`;
  for (const name of fileNames) {
    const m = /-ext-(\d+)\.yaml$/.exec(name);
    if (m && name.startsWith(filePrefix)) taken.add(Number(m[1]));
  }
  let n = 1;
  while (taken.has(n)) n++;
  return n;
}
