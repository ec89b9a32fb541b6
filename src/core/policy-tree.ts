import type { PolicySet } from './policy.js';
import { loadPolicies, type LoadOptions } from './policy-load.js';
import type { TreeReader } from './ports.js';
import type { Problem } from './problem.js';
import { isPolicyFile, POLICIES_DIR } from './repo-layout.js';

/**
 * The one way policies are read, whatever holds them (a checkout, a commit, a ref on GitHub):
 * every YAML file below `policies/`, at any depth, through `loadPolicies`.
 */
export async function loadPolicyTree(
  tree: TreeReader,
  options: LoadOptions = {},
): Promise<{ policies: PolicySet; problems: Problem[] }> {
  const paths = (await tree.listFiles(POLICIES_DIR)).filter(isPolicyFile);
  const texts = await tree.readFiles(paths);
  return loadPolicies(
    paths.map((path) => ({ path, text: texts.get(path) ?? '' })),
    options,
  );
}
