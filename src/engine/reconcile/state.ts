import type { Grant } from '../../core/grant.js';
import { ARCHIVE_DIR, GRANTS_DIR, parseGrantPath } from '../../core/repo-layout.js';
import type { PolicySet } from '../../core/policy.js';
import type { GrantHistory } from '../../core/ports.js';
import type { Problem } from '../../core/problem.js';
import { readGrantFiles, type LiveGrantFile } from '../../core/reconcile-plan.js';
import { loadPolicyTree } from '../policies.js';

export interface State {
  grants: LiveGrantFile[];
  problems: Problem[];
  policies: PolicySet;
}

/** The policies at `rev` of the grant history. */
export function readPolicies(history: GrantHistory, rev: string) {
  return loadPolicyTree({
    listFiles: async (dir) => (await history.listFiles(rev, dir)).sort(),
    readFiles: (paths) => history.readFiles(rev, paths),
  });
}

/** The grant files of the hot path and the policies, both read at `rev`. */
export async function readState(history: GrantHistory, rev: string): Promise<State> {
  const dirs = (await history.listDir(rev, GRANTS_DIR)).filter(
    (e) => e.type === 'tree' && e.name !== ARCHIVE_DIR,
  );
  const paths: string[] = [];
  const ids: string[] = [];
  for (const d of dirs)
    for (const e of await history.listDir(rev, `${GRANTS_DIR}/${d.name}`))
      if (e.type === 'blob' && e.name.endsWith('.yaml')) {
        paths.push(`${GRANTS_DIR}/${d.name}/${e.name}`);
        ids.push(e.id);
      }
  // By object id: the listing has them, and a lookup by path is a folder scan per file.
  const texts = await history.readBlobs(ids);
  const { grants, problems } = readGrantFiles(
    paths.map((path, i) => ({ path, text: texts[i] ?? '' })),
  );
  const policies = await readPolicies(history, rev);
  return { grants, problems: [...policies.problems, ...problems], policies: policies.policies };
}

/** A grant file a step committed: `grant` now at `to`, and no longer at `from`. */
export interface Written {
  from: string;
  to: string;
  grant: Grant;
}

/**
 * The state after the commit of `written`, without reading it again: a step changes only the
 * grant files it wrote (policies and other grants are as they were), so the hot path loses `from`
 * and gains `to` unless `to` is in the archive. Grants stay in path order, the order a read gives.
 */
export function applyWritten(state: State, written: readonly Written[]): State {
  let grants = state.grants;
  for (const w of written) {
    grants = grants.filter((g) => g.path !== w.from && g.path !== w.to);
    const where = parseGrantPath(w.to);
    if (where && !where.archived) {
      let i = grants.findIndex((g) => g.path > w.to);
      if (i < 0) i = grants.length;
      grants = [...grants.slice(0, i), { path: w.to, grant: w.grant }, ...grants.slice(i)];
    }
  }
  return { ...state, grants };
}
