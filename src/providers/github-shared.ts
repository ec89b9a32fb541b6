import type { Grant } from '../core/grant.js';
import {
  endHolding,
  type EndOutcome,
  type GrantRecord,
  type Holding,
  type PreState,
} from '../core/ownership.js';
import { ConfigurationError, ProviderError } from '../core/errors.js';
import type { Problem } from '../core/problem.js';
import type { ProviderGitHub } from '../core/ports.js';
import type { Issued, ProviderContext } from './provider.js';

export function requireGitHub(ctx: ProviderContext, kind: string): ProviderGitHub {
  if (!ctx.github) {
    throw new ConfigurationError(`${kind} provider needs a GitHub client in its context`);
  }
  return ctx.github;
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
 * How a GitHub provider's facts describe a share of shared access (see `core/ownership.ts`).
 * A provider stamps its kind in `issued.provider`, so facts another provider (a command
 * script) printed are never read as holding team or repository access.
 */
export interface SharedAccess {
  kind: 'github-team' | 'github-collaborator';
  /** The recorded target (team, repository) and the level given, or null before recording. */
  recorded(facts: Grant['issued']): { target: string; level: number } | null;
  /** The pre-state the facts carry (`before_*`), or null when they carry none. */
  before(facts: Grant['issued']): PreState | null;
  /** The pre-state of a grant recorded before `before_*` existed (`already_member`), or null. */
  legacyBefore(facts: Grant['issued'], level: number): PreState | null;
  /** The `before_*` facts recording a pre-state. */
  factsOf(before: PreState): Issued['facts'];
}

const NONE: PreState = { level: null, covered: null };
const sameTarget = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * The other live grants holding the same person's access to `target`: active, or approved with
 * facts recorded by a started issue (a run may have died after acting). Legacy grants, whose
 * facts carry no provider stamp, count only within the same resource.
 */
export function otherHolders(
  grant: Grant,
  ctx: ProviderContext,
  spec: SharedAccess,
  target: string,
): { grant: Grant; level: number }[] {
  const out: { grant: Grant; level: number }[] = [];
  for (const g of ctx.liveGrants) {
    if (g.id === grant.id || g.requester.id !== grant.requester.id) continue;
    if (g.status !== 'active' && g.status !== 'approved') continue;
    const stamp = g.issued?.provider;
    if (stamp === undefined ? g.resource !== grant.resource : stamp !== spec.kind) continue;
    const r = spec.recorded(g.issued);
    if (!r || !sameTarget(r.target, target)) continue;
    if (!spec.before(g.issued) && !spec.legacyBefore(g.issued, r.level)) continue;
    out.push({ grant: g, level: r.level });
  }
  return out.sort((a, b) => a.grant.id.localeCompare(b.grant.id));
}

/**
 * The pre-state of a grant's chain: its own `before_*` record; for a legacy grant that saw
 * another holder's access as its own (`already_member: true`), the record of that holder.
 */
export function preStateOf(
  grant: Grant,
  level: number,
  spec: SharedAccess,
  holders: readonly { grant: Grant; level: number }[],
): PreState {
  const own = spec.before(grant.issued);
  if (own) return own;
  const legacy = spec.legacyBefore(grant.issued, level);
  // Legacy "had it before", or no record at all: a holder's explicit record is the better truth.
  const fromHolder = holders
    .map((h) => spec.before(h.grant.issued) ?? spec.legacyBefore(h.grant.issued, h.level))
    .find((b) => b !== null && (b.level === null || b.level < level));
  if (grant.issued?.already_member !== false && fromHolder) return fromHolder;
  return legacy ?? NONE;
}

/**
 * Facts that record the pre-state at `prepareIssue`: copied from the live holders when there
 * are any (`joined`), observed otherwise (`observe` is only called then).
 */
export async function recordPreState(
  grant: Grant,
  ctx: ProviderContext,
  spec: SharedAccess,
  target: string,
  level: number,
  observe: () => Promise<Issued['facts']>,
): Promise<Issued['facts']> {
  const holders = otherHolders(grant, ctx, spec, target);
  const first = holders[0];
  if (!first) return observe();
  const before = preStateOf(first.grant, first.level, spec, holders.slice(1));
  ctx.log(
    `${spec.kind}: ${grant.requester.login} joins ${holders.map((h) => h.grant.id).join(', ')} on ${target}`,
  );
  return { joined: first.grant.id, ...spec.factsOf(before) };
}

/** What ending `grant` must do to the shared access, by the ownership rule. */
export function ending(
  grant: Grant,
  ctx: ProviderContext,
  spec: SharedAccess,
  target: string,
  level: number,
): EndOutcome {
  const holders = otherHolders(grant, ctx, spec, target);
  const me: Holding = {
    grant: grant.id,
    gives: level,
    before: preStateOf(grant, level, spec, holders),
  };
  return endHolding(
    me,
    holders.map((h) => ({ grant: h.grant.id, gives: h.level, before: me.before })),
  );
}

/**
 * The first half of ending shared access, the same for a team and a repository: what the
 * ownership rule says, and the login to act on. Null (with the reason logged) when nothing is to
 * change: other live grants still give it, the person had it before, or the account is gone.
 */
export async function endingFor(
  github: ProviderGitHub,
  grant: Grant,
  ctx: ProviderContext,
  o: { kind: string; spec: SharedAccess; target: string; level: number; hadBefore: string },
): Promise<{ outcome: Exclude<EndOutcome, { action: 'keep' }>; login: string } | null> {
  const outcome = ending(grant, ctx, o.spec, o.target, o.level);
  if (outcome.action === 'keep') {
    ctx.log(
      outcome.heldBy.length > 0
        ? `${o.kind}: ${outcome.heldBy.join(', ')} still give ${grant.requester.login} ${o.target}; kept`
        : `${o.kind}: ${grant.requester.login} had ${o.hadBefore} before; left as is`,
    );
    return null;
  }
  const login = await currentLogin(github, grant);
  if (login === null) {
    ctx.log(`${o.kind}: user ${grant.requester.id} no longer exists; nothing to remove`);
    return null;
  }
  return { outcome, login };
}

/**
 * Every grant's record on `target` (live and ended), for `unexplainedAccess` in drift
 * detection: the person, the level, the pre-state and whether it still holds.
 */
export function grantRecords(
  grants: readonly Grant[],
  spec: SharedAccess,
  target: string,
): GrantRecord[] {
  const out: GrantRecord[] = [];
  const mine = grants.filter((g) => {
    if (g.issued?.provider !== undefined && g.issued.provider !== spec.kind) return false;
    const r = spec.recorded(g.issued);
    return r !== null && sameTarget(r.target, target);
  });
  const at = (g: Grant) => g.issued_at ?? g.requested_at;
  for (const g of mine) {
    const r = spec.recorded(g.issued)!;
    // A legacy grant that saw access another grant of the person was giving as "already
    // had" (finding 1): the pre-state is that grant's, not "had it".
    const holders =
      spec.before(g.issued) === null && g.issued?.already_member === true
        ? mine
            .filter(
              (h) =>
                h.id !== g.id &&
                h.requester.id === g.requester.id &&
                at(h) < at(g) &&
                (h.ended_at === undefined || h.ended_at > at(g)),
            )
            .map((h) => ({ grant: h, level: spec.recorded(h.issued)!.level }))
        : [];
    const before = preStateOf(g, r.level, spec, holders);
    out.push({
      grant: g.id,
      person: g.requester.id,
      gives: r.level,
      before,
      live: g.status === 'active' || g.status === 'approved',
      at: at(g),
    });
  }
  return out;
}

/**
 * The recorded target of an issued grant; grants issued before targets were recorded fall
 * back to the policy's current target, which is said in the log.
 */
export function recordedOr<T>(
  grant: Grant,
  ctx: ProviderContext,
  kind: string,
  recorded: T | null,
  current: () => T,
): T {
  if (recorded) return recorded;
  ctx.log(
    `${kind}: grant ${grant.id} has no recorded target (issued before gatepass recorded it); using the policy's current target`,
  );
  return current();
}

/** The window residue is looked for in: from issue to the end (or now, while it lasts). */
export function grantWindow(grant: Grant, ctx: ProviderContext): { from: number; to: number } {
  const from = Date.parse(grant.issued_at ?? grant.requested_at);
  const to = grant.ended_at ? Date.parse(grant.ended_at) : ctx.clock.now().getTime();
  return { from, to };
}

export const within = (w: { from: number; to: number }, iso: string | undefined): boolean => {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return !Number.isNaN(t) && t >= w.from && t <= w.to;
};

/** Ids recorded at issue (`*_at_issue`), or null when none were. */
export function snapshotOf(facts: Grant['issued'], key: string): Set<number> | null {
  const v = facts?.[key];
  return Array.isArray(v) ? new Set(v.map(Number)) : null;
}
