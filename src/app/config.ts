import { ConfigurationError } from '../core/errors.js';
import type { MergeMethod, RepoRef } from '../github/github-client.js';
import { CHECK_NAME, DEFAULT_LABEL_NAMES } from '../core/github-names.js';

/** The labels the app puts on request issues and grant PRs. */
export interface Labels {
  /** Marks an issue as an access request (the issue form adds it). */
  request: string;
  invalid: string;
  pending: string;
  approved: string;
  denied: string;
  cancelled: string;
  revokeRequested: string;
  /** Loud marker on break-glass requests, their PRs and their follow-up reviews. */
  breakGlass: string;
  /** The after-the-fact review of a break-glass grant, open until an approver approves it. */
  breakGlassReview: string;
}

export interface AppConfig {
  /** The one repository the app acts on; events from any other are ignored (threat #6). */
  accessRepo: RepoRef;
  labels: Labels;
  mergeMethod: MergeMethod;
  /** The required status check branch protection waits for. */
  checkName: string;
}

export { CHECK_NAME };
export const BRANCH_PREFIX = 'gatepass/';

export const DEFAULT_LABELS: Labels = { ...DEFAULT_LABEL_NAMES };

const LABEL_ENV: Record<keyof Labels, string> = {
  request: 'GATEPASS_LABEL_REQUEST',
  invalid: 'GATEPASS_LABEL_INVALID',
  pending: 'GATEPASS_LABEL_PENDING',
  approved: 'GATEPASS_LABEL_APPROVED',
  denied: 'GATEPASS_LABEL_DENIED',
  cancelled: 'GATEPASS_LABEL_CANCELLED',
  revokeRequested: 'GATEPASS_LABEL_REVOKE_REQUESTED',
  breakGlass: 'GATEPASS_LABEL_BREAK_GLASS',
  breakGlassReview: 'GATEPASS_LABEL_BREAK_GLASS_REVIEW',
};

// Not `rebase`: GitHub ignores the commit message of a rebase merge, so the approval trailers the
// action and the audit read would be lost and every grant refused.
const MERGE_METHODS: readonly MergeMethod[] = ['squash', 'merge'];
const REPO = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

/**
 * The app's settings from the environment. A wrong setting stops the app at start-up rather
 * than letting it act on the wrong repository.
 */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const repo = env.GATEPASS_ACCESS_REPO?.trim() ?? '';
  const m = REPO.exec(repo);
  if (!m || m[2] === '.' || m[2] === '..')
    throw new ConfigurationError(
      repo === ''
        ? 'GATEPASS_ACCESS_REPO is required (owner/name of the access repo)'
        : `GATEPASS_ACCESS_REPO=${JSON.stringify(repo)} is not owner/name`,
    );
  const labels = { ...DEFAULT_LABELS };
  for (const key of Object.keys(LABEL_ENV) as (keyof Labels)[]) {
    const v = env[LABEL_ENV[key]]?.trim();
    if (v === undefined || v === '') continue;
    if (v.length > 50 || v.includes(',') || /[\u0000-\u001f]/.test(v))
      throw new ConfigurationError(`${LABEL_ENV[key]}: a label is at most 50 characters, no comma`);
    labels[key] = v;
  }
  const method = (env.GATEPASS_MERGE_METHOD?.trim() || 'squash') as MergeMethod;
  if (!MERGE_METHODS.includes(method))
    throw new ConfigurationError(
      `GATEPASS_MERGE_METHOD must be one of ${MERGE_METHODS.join(', ')}, not ${JSON.stringify(method)}`,
    );
  return {
    accessRepo: { owner: m[1]!, repo: m[2]! },
    labels,
    mergeMethod: method,
    checkName: CHECK_NAME,
  };
}

/** Whether a delivery is about the access repo (owner and name compare case-insensitively). */
export function isAccessRepo(config: AppConfig, fullName: string | undefined): boolean {
  const { owner, repo } = config.accessRepo;
  return (fullName ?? '').toLowerCase() === `${owner}/${repo}`.toLowerCase();
}
