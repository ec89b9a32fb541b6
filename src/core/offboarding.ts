import type { Grant } from './grant.js';
import { isLive } from './grant-lifecycle.js';
import { isTeam, matchesAny, type Memberships } from './identity.js';
import type { PolicySet } from './policy.js';

/**
 * Offboarding: a person who may no longer request a resource keeps none of its grants. The
 * reconcile plan takes this fact as input (user id → why), computed by the engine from API
 * lookups made once per run; the rule that ends the grants lives in the plan, so every path
 * (organization removal, team removal, account deletion, a policy change) is the same check.
 */
export interface Ineligible {
  /** Requesters who may hold no grant at all (account gone, left the organization). */
  people: ReadonlyMap<number, string>;
  /** `resource:id` → why: no longer among that resource's requesters. */
  requesters: ReadonlyMap<string, string>;
}

export const NO_ONE_INELIGIBLE: Ineligible = { people: new Map(), requesters: new Map() };
const key = (resource: string, id: number): string => `${resource}:${id}`;

/** Why `grant`'s requester may no longer hold it, or undefined. */
export function offboardingReason(
  facts: Ineligible | undefined,
  grant: Pick<Grant, 'resource' | 'requester'>,
): string | undefined {
  if (!facts) return undefined;
  return (
    facts.people.get(grant.requester.id) ??
    facts.requesters.get(key(grant.resource, grant.requester.id))
  );
}

/** What the engine learned about one requester this run. */
export interface RequesterFacts {
  /** The account's current login, or null when the account is gone. */
  login: string | null;
  /**
   * Whether the person is a member of the access repo's organization: false when the
   * organization says they are not, undefined when that could not be told (not an organization,
   * or the token may not see it). Only a definite false ends grants.
   */
  orgMember?: boolean;
}

/** The teams whose membership decides whether live grants' requesters may still hold them. */
export function requesterTeams(grants: readonly Grant[], policies: PolicySet): string[] {
  const teams = new Set<string>();
  for (const g of grants) {
    if (!isLive(g.status)) continue;
    for (const p of policies.resources.get(g.resource)?.requesters ?? [])
      if (isTeam(p)) teams.add(p.toLowerCase());
  }
  return [...teams];
}

/**
 * The requesters of live grants who are no longer eligible, with the reason: the account is
 * gone, they left the organization, or the resource's `requesters` (as the default branch has
 * them now, teams looked up now) no longer name them — the same rule a new request is judged
 * by. A resource no longer in policy is left alone here (its grants still end at expiry).
 */
export function ineligibleRequesters(
  grants: readonly Grant[],
  policies: PolicySet,
  facts: ReadonlyMap<number, RequesterFacts>,
  memberships: Memberships,
): Ineligible {
  const people = new Map<number, string>();
  const requesters = new Map<string, string>();
  for (const g of grants) {
    if (!isLive(g.status) || people.has(g.requester.id)) continue;
    const f = facts.get(g.requester.id);
    if (!f) continue;
    if (f.login === null) {
      people.set(
        g.requester.id,
        `the account of @${g.requester.login} (${g.requester.id}) is gone`,
      );
      continue;
    }
    if (f.orgMember === false) {
      people.set(g.requester.id, `@${f.login} is no longer a member of the organization`);
      continue;
    }
    const resource = policies.resources.get(g.resource);
    if (!resource) continue;
    const person = { login: f.login, id: g.requester.id };
    if (!matchesAny(person, resource.requesters, memberships))
      requesters.set(
        key(g.resource, g.requester.id),
        `@${f.login} is no longer among the requesters of "${g.resource}" (directly or through a team)`,
      );
  }
  return { people, requesters };
}
