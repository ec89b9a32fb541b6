import { teamsOf } from '../core/approval.js';
import type { Clock } from '../core/clock.js';
import type { Memberships } from '../core/identity.js';
import type { PolicySet, Resource } from '../core/policy.js';
import type { AppGitHub } from '../core/ports.js';
import type { Problem } from '../core/problem.js';
import { loadPolicyTree } from '../engine/policies.js';
import { githubTree } from '../github/github-tree.js';
import type { AppConfig } from './config.js';

export { POLICIES_DIR } from '../core/repo-layout.js';
export { teamsOf };

export interface Log {
  info(msg: string): void;
  warn(msg: string): void;
}

/** What every handler works with: the access repo behind the adapter, settings, time. */
export interface Deps {
  client: AppGitHub;
  config: AppConfig;
  policies: PolicyCache;
  clock: Clock;
  log: Log;
  /** The access repo's default branch, from the delivery. */
  defaultBranch: string;
}

export interface LoadedPolicies {
  policies: PolicySet;
  problems: Problem[];
  /** The default-branch commit they were read at. */
  commit: string;
}

/**
 * Policies by commit sha. A commit never changes, so an entry never goes stale; the cache is
 * bounded so a busy repo does not grow it forever.
 */
export class PolicyCache {
  private readonly entries = new Map<string, LoadedPolicies>();
  constructor(private readonly max = 20) {}

  /** Policies as they are at the head of the default branch right now (never from a PR). */
  async atHead(d: Pick<Deps, 'client' | 'defaultBranch'>): Promise<LoadedPolicies> {
    const sha = await d.client.branchSha(d.defaultBranch);
    if (!sha) throw new Error(`the default branch ${d.defaultBranch} does not exist`);
    return this.at(d.client, sha);
  }

  async at(client: AppGitHub, sha: string): Promise<LoadedPolicies> {
    const hit = this.entries.get(sha);
    if (hit) return hit;
    // Recursive, with the providers' target checks: what the action and the audit enforce.
    const { policies, problems } = await loadPolicyTree(githubTree(client, sha));
    const loaded = { policies, problems, commit: sha };
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sha, loaded);
    return loaded;
  }
}

export async function membershipsFor(
  client: Pick<AppGitHub, 'memberships'>,
  resource: Resource | undefined,
): Promise<Memberships> {
  const teams = teamsOf(resource);
  return teams.length ? client.memberships(teams) : new Map();
}
