import { collectDeadlines, type Deadline } from '../core/deadlines.js';
import { ARCHIVE_DIR, GRANTS_DIR } from '../core/grant-file.js';
import { isLive } from '../core/grant-lifecycle.js';
import { isTeam } from '../core/identity.js';
import { readGrantFiles } from '../core/reconcile-plan.js';
import type { GitHubClient } from '../github/github-client.js';
import type { PolicyCache } from './deps.js';

/** What the app knows about live grants, rebuilt from the default branch (never stored). */
export interface DeadlineIndex {
  /** The default-branch commit it was read at. */
  commit: string;
  deadlines: Deadline[];
  /** Ids of the requesters of live grants (offboarding events about anyone else are ignored). */
  requesters: ReadonlySet<number>;
  /** Teams (`org/slug`, lower-case) that grant the right to request a resource with live grants. */
  requesterTeams: ReadonlySet<string>;
}

/**
 * Reads the hot path of `grants/` and the policies at the head of the default branch through
 * the API and computes every live grant's deadlines. A corrupt grant file is skipped (the
 * action reports it); the rest still get their deadlines.
 */
export async function loadDeadlineIndex(
  client: GitHubClient,
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
  const [files, loaded] = await Promise.all([
    Promise.all(paths.map((p) => client.file(p, sha))),
    policies.at(client, sha),
  ]);
  const { grants } = readGrantFiles(
    files.filter((f) => f !== null).map((f) => ({ path: f.path, text: f.text })),
  );
  const live = grants.map((g) => g.grant).filter((g) => isLive(g.status));
  const teams = new Set<string>();
  for (const g of live)
    for (const p of loaded.policies.resources.get(g.resource)?.requesters ?? [])
      if (isTeam(p)) teams.add(p.toLowerCase());
  return {
    commit: sha,
    deadlines: collectDeadlines(grants, loaded.policies),
    requesters: new Set(live.map((g) => g.requester.id)),
    requesterTeams: teams,
  };
}
