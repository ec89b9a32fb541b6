import { collectDeadlines, type Deadline } from '../core/deadlines.js';
import { ARCHIVE_DIR, GRANTS_DIR } from '../core/grant-file.js';
import { isLive } from '../core/grant-lifecycle.js';
import { isTeam } from '../core/identity.js';
import { readGrantFiles, type LiveGrantFile } from '../core/reconcile-plan.js';
import { parseGrantPath } from '../core/grant-file.js';
import type { AppGitHub } from '../core/ports.js';
import type { PolicyCache } from './deps.js';
import type { PolicySet } from '../core/policy.js';

/** What the app knows about live grants, rebuilt from the default branch (never stored). */
export interface DeadlineIndex {
  /** The default-branch commit it was read at. */
  commit: string;
  deadlines: Deadline[];
  /** Ids of the requesters of live grants (offboarding events about anyone else are ignored). */
  requesters: ReadonlySet<number>;
  /** Teams (`org/slug`, lower-case) that grant the right to request a resource with live grants. */
  requesterTeams: ReadonlySet<string>;
  /** The hot-path grant files read, by path (what a push's changes are applied to). */
  files: ReadonlyMap<string, string>;
  /** The policies the deadlines were computed with (kept while pushes leave policies/ alone). */
  policies: PolicySet;
}

/** What a push to the default branch says about itself. */
export interface PushedChanges {
  before: string;
  after: string;
  /** Paths added, modified or removed by the pushed commits. */
  paths: readonly string[];
  /** False when GitHub may have left commits out of the payload (it lists at most 20), or forced. */
  complete: boolean;
}

const isHotGrantPath = (p: string): boolean => {
  const where = parseGrantPath(p);
  return where !== null && !where.archived;
};

/**
 * The index after a push: when the push continues exactly the commit the index was built at
 * and lists all its commits, only the grant files it changed are read again (at `after`);
 * otherwise (a missed or reordered delivery, a force push, a truncated list) everything is read
 * again. Either way the result is what a full read at `after` would give.
 */
export async function updateDeadlineIndex(
  client: AppGitHub,
  branch: string,
  policies: PolicyCache,
  index: DeadlineIndex | undefined,
  push: PushedChanges,
): Promise<DeadlineIndex | null> {
  if (!index || !push.complete || push.before !== index.commit)
    return loadDeadlineIndex(client, branch, policies);
  const files = new Map(index.files);
  const changed = [...new Set(push.paths.filter(isHotGrantPath))];
  const read = await Promise.all(changed.map((p) => client.file(p, push.after)));
  changed.forEach((p, i) => {
    const f = read[i];
    if (f) files.set(p, f.text);
    else files.delete(p);
  });
  const policiesChanged = push.paths.some((p) => p.startsWith('policies/'));
  return build(client, push.after, policies, files, policiesChanged ? undefined : index.policies);
}

/**
 * Reads the hot path of `grants/` and the policies at the head of the default branch through
 * the API and computes every live grant's deadlines. A corrupt grant file is skipped (the
 * action reports it); the rest still get their deadlines.
 */
export async function loadDeadlineIndex(
  client: AppGitHub,
  branch: string,
  policies: PolicyCache,
): Promise<DeadlineIndex | null> {
  const sha = await client.branchSha(branch);
  if (!sha) return null;
  const dirs = (await client.directory(GRANTS_DIR, sha)).filter(
    (e) => e.type === 'dir' && e.name !== ARCHIVE_DIR,
  );
  const listings = await Promise.all(dirs.map((d) => client.directory(d.path, sha)));
  const paths = listings
    .flat()
    .filter((e) => e.type === 'file' && e.name.endsWith('.yaml'))
    .map((e) => e.path);
  const read = await Promise.all(paths.map((p) => client.file(p, sha)));
  const files = new Map(read.filter((f) => f !== null).map((f) => [f.path, f.text]));
  return build(client, sha, policies, files);
}

async function build(
  client: AppGitHub,
  sha: string,
  policies: PolicyCache,
  files: Map<string, string>,
  unchanged?: PolicySet,
): Promise<DeadlineIndex> {
  const loaded = unchanged ? { policies: unchanged } : await policies.at(client, sha);
  const { grants } = readGrantFiles([...files].map(([path, text]) => ({ path, text })));
  const live = grants.map((g: LiveGrantFile) => g.grant).filter((g) => isLive(g.status));
  const teams = new Set<string>();
  for (const g of live)
    for (const p of loaded.policies.resources.get(g.resource)?.requesters ?? [])
      if (isTeam(p)) teams.add(p.toLowerCase());
  return {
    commit: sha,
    deadlines: collectDeadlines(grants, loaded.policies),
    requesters: new Set(live.map((g) => g.requester.id)),
    requesterTeams: teams,
    files,
    policies: loaded.policies,
  };
}
