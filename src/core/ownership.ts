/*
 * Ownership of shared access (a team membership, a repository permission) across live grants.
 *
 * Access gatepass gives is held by the set of live grants that give it to the same person on
 * the same target. The first of them records the person's access before any gatepass grant
 * (the pre-state); a grant issued while others hold the access joins them and copies that
 * pre-state instead of observing the access the others gave. Ending any grant — expiry, early
 * revoke, refusal, cancellation — asks `endHolding` what the remaining holders still need, so
 * the access falls back to exactly the pre-state when the last holder ends, whatever the order.
 *
 * Levels are ranks (0 weakest): a team's member < maintainer; a repository's pull < … < admin.
 */

/** What the person had before any live gatepass grant gave them access to the target. */
export interface PreState {
  /** The level gatepass manages (team role, direct collaborator permission); null: none. */
  level: number | null;
  /**
   * What already covered a level without gatepass writing anything: for a repository, the
   * effective permission through a team or the organisation; for a team, the same as `level`.
   */
  covered: number | null;
}

/** One live grant's share of the access. */
export interface Holding {
  grant: string;
  /** The level the grant gives. */
  gives: number;
  /** Recorded once by the first holder, copied by every grant that joined. */
  before: PreState;
}

export type EndOutcome =
  /** The access stays as it is: the pre-state or the remaining holders need all of it. */
  | { action: 'keep'; level: number | null; heldBy: string[] }
  /** Lower the access to `level` (a remaining holder's, or the pre-state). */
  | { action: 'set'; level: number; heldBy: string[] }
  /** The last holder ended and the person had none before: remove it. */
  | { action: 'remove'; heldBy: [] };

const max = (xs: readonly (number | null)[]): number | null =>
  xs.reduce<number | null>((m, x) => (x === null ? m : m === null || x > m ? x : m), null);

/**
 * The level gatepass keeps while `gives` are held: the pre-state, raised to any held level
 * that the pre-state did not already cover.
 */
export function heldLevel(before: PreState, gives: readonly number[]): number | null {
  const covered = max([before.covered, before.level]);
  return max([before.level, ...gives.filter((g) => covered === null || g > covered)]);
}

/**
 * What ending `ending` must do, given the other live grants holding access of the same person
 * on the same target (with what they recorded). The pre-state is the ending grant's own
 * record: it is the one every holder of the chain copied.
 */
export function endHolding(ending: Holding, others: readonly Holding[]): EndOutcome {
  const heldBy = others.map((o) => o.grant).sort();
  const now = heldLevel(ending.before, [ending.gives, ...others.map((o) => o.gives)]);
  const after = heldLevel(
    ending.before,
    others.map((o) => o.gives),
  );
  if (after === now) return { action: 'keep', level: after, heldBy };
  if (after === null) return { action: 'remove', heldBy: [] };
  return { action: 'set', level: after, heldBy };
}

/** Access as a provider observed it on a target, for drift detection. */
export interface ObservedAccess {
  /** GitHub user id. */
  person: number;
  level: number;
  /** Passed through, to name the access in a report. */
  key: string;
}

/** A grant's record for a target (live or ended), as drift detection reads it. */
export interface GrantRecord extends Holding {
  person: number;
  live: boolean;
  /** When the grant was issued (ISO 8601); the latest record's pre-state is the newest known. */
  at: string;
}

export interface Unexplained extends ObservedAccess {
  /** The most access gatepass can account for (null: none). */
  explained: number | null;
}

/**
 * Access that neither a live grant nor a recorded pre-state explains. Only people gatepass has
 * a record of on this target are judged: someone who never had a grant there holds access
 * gatepass knows nothing about (a team's permanent members), which is not drift.
 */
export function unexplainedAccess(
  observed: readonly ObservedAccess[],
  records: readonly GrantRecord[],
): Unexplained[] {
  const out: Unexplained[] = [];
  for (const o of observed) {
    const mine = records.filter((r) => r.person === o.person);
    if (mine.length === 0) continue;
    const live = mine.filter((r) => r.live);
    const latest = [...(live.length > 0 ? live : mine)].sort((a, b) =>
      b.at.localeCompare(a.at),
    )[0]!;
    const explained = heldLevel(
      latest.before,
      live.map((r) => r.gives),
    );
    if (explained === null || o.level > explained) out.push({ ...o, explained });
  }
  return out;
}
