import { type PrOutcome, evaluatePullRequest } from './decision.js';
import type { Deps } from './deps.js';
import { BRANCH_PREFIX } from '../core/request-naming.js';

/**
 * Decides every open request PR again. Deliveries only come when something happens, so a
 * request nobody touches would never reach its TTL; this run (the Actions-mode `schedule`, or
 * `workflow_dispatch`) denies and closes the expired ones with a comment, through the same
 * decision as any event.
 */
export async function sweep(d: Deps): Promise<Map<number, PrOutcome>> {
  const open = await d.client.openPullRequests(d.defaultBranch);
  const out = new Map<number, PrOutcome>();
  for (const pr of open.filter((p) => p.head_ref.startsWith(BRANCH_PREFIX)))
    out.set(pr.number, await evaluatePullRequest(d, pr.number));
  return out;
}
