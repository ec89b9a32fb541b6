import type { PolicySet } from '../core/policy.js';
import { loadPolicyTree as loadTree } from '../core/policy-tree.js';
import type { TreeReader } from '../core/ports.js';
import type { Problem } from '../core/problem.js';
import { validateTargetWithProviders } from '../providers/index.js';

/**
 * Policies as every path enforces them (app, action, audit, `validate`): recursive below
 * `policies/`, with each provider's own target checks, so a target a provider would refuse to
 * act on is refused everywhere (a file with any problem contributes nothing).
 */
export function loadPolicyTree(
  tree: TreeReader,
): Promise<{ policies: PolicySet; problems: Problem[] }> {
  return loadTree(tree, { validateTarget: validateTargetWithProviders });
}
