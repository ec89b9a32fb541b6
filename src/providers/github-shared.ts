import type { Grant } from '../core/grant.js';
import { ConfigurationError, ProviderError } from '../core/errors.js';
import type { Problem } from '../core/problem.js';
import type { ProviderGitHub } from '../core/ports.js';
import type { ProviderContext } from './provider.js';

export function requireGitHub(ctx: ProviderContext, kind: string): ProviderGitHub {
  if (!ctx.github) {
    throw new ConfigurationError(`${kind} provider needs a GitHub client in its context`);
  }
  return ctx.github;
}

/**
 * Another live grant of the same resource to the same person (threat #18): the shared
 * membership must stay until the last of them ends.
 */
export function otherLiveGrant(grant: Grant, ctx: ProviderContext): Grant | undefined {
  return ctx.liveGrants.find(
    (g) =>
      g.id !== grant.id &&
      g.resource === grant.resource &&
      g.status === 'active' &&
      g.requester.id === grant.requester.id,
  );
}

/**
 * The requester's login now. Grants record the id because logins are renamed and
 * re-registered: granting to a stale login could give access to someone else, and revoking a
 * stale login would "succeed" while the renamed account keeps the access.
 */
export const currentLogin = (github: ProviderGitHub, grant: Grant): Promise<string | null> =>
  github.loginForId(grant.requester.id);

export function mustHaveLogin(login: string | null, grant: Grant, kind: string): string {
  if (login === null) {
    throw new ProviderError(
      `${kind}: GitHub user ${grant.requester.id} (${grant.requester.login}) no longer exists`,
    );
  }
  return login;
}

/** Unknown keys in a target are mistakes (a typo would silently change what is granted). */
export function unknownKeys(target: Record<string, unknown>, known: readonly string[]): Problem[] {
  return Object.keys(target)
    .filter((k) => !known.includes(k))
    .map((k) => ({ path: `target.${k}`, message: `unknown key "${k}"` }));
}

/**
 * The login whose access a revoke should remove, or null when it must stay: the person had it
 * before gatepass, another live grant still gives it (threat #18), or the account is gone.
 */
export async function loginToRevoke(
  github: ProviderGitHub,
  grant: Grant,
  ctx: ProviderContext,
  o: { kind: string; what: string; hadItBefore: string },
): Promise<string | null> {
  if (grant.issued?.already_member === true) {
    ctx.log(`${o.kind}: ${grant.requester.login} ${o.hadItBefore}; left as is`);
    return null;
  }
  const other = otherLiveGrant(grant, ctx);
  if (other) {
    ctx.log(`${o.kind}: grant ${other.id} still gives ${grant.requester.login} ${o.what}; kept`);
    return null;
  }
  const login = await currentLogin(github, grant);
  if (login === null)
    ctx.log(`${o.kind}: user ${grant.requester.id} no longer exists; nothing to remove`);
  return login;
}
