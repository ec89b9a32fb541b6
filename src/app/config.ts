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
export { BRANCH_PREFIX } from '../core/request-naming.js';

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

/**
 * `rebase` is not offered: it replays the PR's commits without the app's message, so the merged
 * commit carries no approval trailers and is not the PR's merge commit the action confirms.
 */
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
  if (method === 'rebase')
    throw new ConfigurationError(
      'GATEPASS_MERGE_METHOD=rebase is not supported: a rebase merge drops the approval trailers, so the action could not confirm any grant; use squash (default) or merge',
    );
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

/** The app as the timer (server mode only): which workflow it starts at each deadline. */
export interface DeadlineConfig {
  enabled: boolean;
  /** File name (or id) of the gatepass action's workflow in the access repo. */
  workflow: string;
}

/**
 * `GATEPASS_DEADLINE_TIMER=off` turns the timer off (the schedule alone then revokes);
 * `GATEPASS_RECONCILE_WORKFLOW` names the action's workflow (default `gatepass.yml`).
 */
export function loadDeadlineConfig(env: Record<string, string | undefined>): DeadlineConfig {
  const on = (env.GATEPASS_DEADLINE_TIMER?.trim() || 'on').toLowerCase();
  if (on !== 'on' && on !== 'off')
    throw new ConfigurationError(
      `GATEPASS_DEADLINE_TIMER must be on or off, not ${JSON.stringify(on)}`,
    );
  const workflow = env.GATEPASS_RECONCILE_WORKFLOW?.trim() || 'gatepass.yml';
  if (!/^(?:[A-Za-z0-9._-]{1,100}\.ya?ml|\d{1,20})$/.test(workflow))
    throw new ConfigurationError(
      `GATEPASS_RECONCILE_WORKFLOW must be a workflow file name like gatepass.yml, not ${JSON.stringify(workflow)}`,
    );
  return { enabled: on === 'on', workflow };
}
