import { membershipChecks, personChecks } from '../core/approval.js';
import type { Clock } from '../core/clock.js';
import type { Memberships, Person, Principal } from '../core/identity.js';
import type { PolicySet, Resource } from '../core/policy.js';
import type { AppGitHub } from '../core/ports.js';
import type { Problem } from '../core/problem.js';
import { loadPolicyTree } from '../engine/policies.js';
import { githubTree } from '../github/github-tree.js';
import { POLICIES_DIR } from '../core/repo-layout.js';
import type { AppConfig } from './config.js';

export { POLICIES_DIR } from '../core/repo-layout.js';

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
  /** Heads of grant PRs this process just opened and checked (see `OpenedByApp`). */
  opened?: OpenedByApp;
}

/**
 * The heads the request handler committed and already gave a pending `gatepass/approval` check
 * (it judged them with no reviews, as the `pull_request.opened` that follows would). That
 * delivery is skipped only for a PR the app opened (author and sender its bot) on the branch it
 * committed to, whose head is exactly that commit; anything else, or a process that did not
 * open it (restarted, another replica), evaluates as usual.
 */
export class OpenedByApp {
  private readonly heads = new Map<string, string>();
  constructor(private readonly max = 200) {}

  record(headSha: string, branch: string): void {
    if (this.heads.size >= this.max) this.heads.delete(this.heads.keys().next().value!);
    this.heads.set(headSha, branch);
  }

  /** Whether a `pull_request.opened` about this PR, sent by `sender`, needs no evaluation. */
  alreadyChecked(
    pr: { head_sha: string; head_ref?: string; user: { id: number; type: string } },
    sender: { id: number; type: string },
  ): boolean {
    const branch = this.heads.get(pr.head_sha);
    return (
      branch !== undefined &&
      branch === pr.head_ref &&
      pr.user.type === 'Bot' &&
      sender.type === 'Bot' &&
      sender.id === pr.user.id
    );
  }
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

  /**
   * A push to the default branch that changed nothing under `policies/` leaves the policies as
   * they were: the entry read at `before` is the entry for `after` too, so a busy repo (grants
   * merged, the action's state commits) does not re-read unchanged policies after every push.
   * Only when the delivery lists every pushed commit (not forced, fewer than the 20 GitHub
   * lists at most, at least one): otherwise, or with no entry for `before`, nothing is carried
   * and the next read of `after` reads fresh.
   */
  carry(push: {
    before: string;
    after: string;
    forced: boolean;
    commits: readonly { added?: string[]; modified?: string[]; removed?: string[] }[];
  }): boolean {
    const from = this.entries.get(push.before);
    if (!from || push.forced || push.commits.length === 0 || push.commits.length >= 20)
      return false;
    const touched = push.commits.some((c) =>
      [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])].some(
        (p) => p === POLICIES_DIR || p.startsWith(`${POLICIES_DIR}/`),
      ),
    );
    if (touched || this.entries.has(push.after)) return false;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(push.after, { ...from, commit: push.after });
    return true;
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

/**
 * The memberships a decision about `requester` (and these reviewers) reads: one lookup per
 * person and team (`membershipChecks`), never whole team listings. Before any review exists
 * that is the requester alone: approver teams are not read.
 */
export async function decisionMemberships(
  client: Pick<AppGitHub, 'membershipsOf'>,
  resource: Resource | undefined,
  requester: Person,
  reviewers: readonly (Person | { login: string; id: number; type: string } | null)[] = [],
): Promise<Memberships> {
  if (!resource) return new Map();
  const checks = membershipChecks(resource, requester, reviewers);
  return checks.length ? client.membershipsOf(checks) : new Map();
}

/**
 * The memberships a command's check reads: `person` (the commenter, as the signed delivery names
 * them now) in the teams among `principals`, one lookup each (`personChecks`).
 */
export async function membershipsOfPerson(
  client: Pick<AppGitHub, 'membershipsOf'>,
  person: Person,
  principals: readonly Principal[],
): Promise<Memberships> {
  const checks = personChecks(person, principals);
  return checks.length ? client.membershipsOf(checks) : new Map();
}
