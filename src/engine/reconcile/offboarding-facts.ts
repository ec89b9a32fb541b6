import type { Grant } from '../../core/grant.js';
import { isLive } from '../../core/grant-lifecycle.js';
import { isTeam } from '../../core/identity.js';
import {
  ineligibleRequesters,
  requesterTeams,
  type Ineligible,
  type RequesterFacts,
} from '../../core/offboarding.js';
import type { PolicySet } from '../../core/policy.js';
import type { OffboardingGitHub } from '../../core/ports.js';

export interface OffboardingLookups {
  github: OffboardingGitHub;
  /** The run's cached login lookup (`GET /user/{id}`), shared with confirmation and delivery. */
  loginOf(id: number): Promise<string | null>;
  log(line: string): void;
}

/**
 * The facts the plan's offboarding rule needs, looked up in one batch per run: each live
 * requester's account (once per person), the membership of every team a live grant's
 * resource names as requesters (once per team), and — only when some such resource names
 * people by login and the repo belongs to an organization — each of those people's
 * organization membership. Nothing here decides: `ineligibleRequesters` does.
 */
export async function lookUpIneligible(
  grants: readonly Grant[],
  policies: PolicySet,
  deps: OffboardingLookups,
): Promise<Ineligible> {
  const live = grants.filter((g) => isLive(g.status));
  if (live.length === 0) return { people: new Map(), requesters: new Map() };
  const { github } = deps;
  const ids = [...new Set(live.map((g) => g.requester.id))];
  const byLogin = live.some((g) =>
    (policies.resources.get(g.resource)?.requesters ?? []).some((p) => !isTeam(p)),
  );
  const org = github.repoRef.owner;
  const [logins, memberships, isOrg] = await Promise.all([
    Promise.all(ids.map((id) => deps.loginOf(id))),
    github.memberships(requesterTeams(live, policies)),
    byLogin ? github.isOrganization(org) : Promise.resolve(false),
  ]);
  const facts = new Map<number, RequesterFacts>();
  await Promise.all(
    ids.map(async (id, i) => {
      const login = logins[i] ?? null;
      const orgMember = isOrg && login !== null ? await github.orgMember(org, login) : undefined;
      facts.set(id, { login, ...(orgMember !== undefined ? { orgMember } : {}) });
    }),
  );
  const out = ineligibleRequesters(live, policies, facts, memberships);
  for (const [id, why] of out.people) deps.log(`offboarding: requester ${id}: ${why}`);
  for (const [key, why] of out.requesters) deps.log(`offboarding: ${key}: ${why}`);
  return out;
}
