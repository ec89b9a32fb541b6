import type { State } from './state.js';
import { providerContext, safeMessage } from './steps.js';
import type { RunContext } from './types.js';

/**
 * Access a provider lists that no live grant explains, reported (and removed when asked). The
 * run's other results stand whatever happens here: a failure is one `drift` failure per resource.
 */
export async function detectDrift(ctx: RunContext, s: State): Promise<void> {
  const { result, log } = ctx;
  const live = new Set(
    s.grants
      .filter((g) => g.grant.status === 'active' || g.grant.status === 'approved')
      .map((g) => g.grant.id),
  );
  const liveGrants = s.grants.map((g) => g.grant).filter((g) => live.has(g.id));
  for (const resource of s.policies.resources.values()) {
    const provider = ctx.providerFor(resource.provider);
    if (!provider.list) continue;
    try {
      const pctx = providerContext(ctx, resource, liveGrants);
      for (const access of await provider.list(pctx)) {
        // Access the provider cannot attribute to a grant (a team's permanent members) is
        // not ours to judge, and never removed.
        if (!access.unexplained && (access.grantId === undefined || live.has(access.grantId)))
          continue;
        let removed = false;
        if (ctx.options.removeDrift && provider.removeDrift) {
          await provider.removeDrift(access, pctx);
          removed = true;
        }
        result.drift.push({ resource: resource.name, access, removed });
        log(
          `drift on ${resource.name}: ${access.description} has no live grant${removed ? ' (removed)' : ''}`,
        );
      }
    } catch (e) {
      result.failures.push({ grant: resource.name, step: 'drift', message: safeMessage(e) });
    }
  }
}
