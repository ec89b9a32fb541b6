import type { Clock } from '../core/clock.js';
import type { Memberships } from '../core/identity.js';
import { isTeam } from '../core/identity.js';
import { loadPolicies } from '../core/policy-load.js';
import type { PolicySet, Resource } from '../core/policy.js';
import type { Problem } from '../core/problem.js';
import type { GitHubClient } from '../github/github-client.js';
import type { AppConfig } from './config.js';

export const POLICIES_DIR = 'policies';

export interface Log {
  info(msg: string): void;
  warn(msg: string): void;
}

/** What every handler works with: the access repo behind the adapter, settings, time. */
export interface Deps {
  client: GitHubClient;
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

  async at(client: GitHubClient, sha: string): Promise<LoadedPolicies> {
    const hit = this.entries.get(sha);
    if (hit) return hit;
    const entries = await client.directory(POLICIES_DIR, sha);
    const wanted = entries.filter((e) => e.type === 'file' && /\.ya?ml$/.test(e.name));
    const files = await Promise.all(wanted.map((e) => client.file(e.path, sha)));
    const { policies, problems } = loadPolicies(
      files.filter((f) => f !== null).map((f) => ({ path: f.path, text: f.text })),
    );
    const loaded = { policies, problems, commit: sha };
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sha, loaded);
    return loaded;
  }
}

/** Every team a decision about `resource` may need to look into. */
export function teamsOf(resource: Resource | undefined): string[] {
  if (!resource) return [];
  const all = [
    ...resource.requesters,
    ...resource.approvers,
    ...resource.auto_approve.flatMap((r) => r.requester_in),
    ...(resource.break_glass?.allowed ?? []),
  ];
  return [...new Set(all.filter(isTeam).map((t) => t.toLowerCase()))];
}

export async function membershipsFor(
  client: GitHubClient,
  resource: Resource | undefined,
): Promise<Memberships> {
  const teams = teamsOf(resource);
  return teams.length ? client.memberships(teams) : new Map();
}
