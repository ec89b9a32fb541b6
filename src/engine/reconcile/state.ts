import { ARCHIVE_DIR, GRANTS_DIR } from '../../core/repo-layout.js';
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
  for (const d of dirs)
    for (const e of await history.listDir(rev, `${GRANTS_DIR}/${d.name}`))
      if (e.type === 'blob' && e.name.endsWith('.yaml'))
        paths.push(`${GRANTS_DIR}/${d.name}/${e.name}`);
  const texts = await history.readFiles(rev, paths);
  const { grants, problems } = readGrantFiles(
    paths.map((path) => ({ path, text: texts.get(path) ?? '' })),
  );
  const policies = await readPolicies(history, rev);
  return { grants, problems: [...policies.problems, ...problems], policies: policies.policies };
}
