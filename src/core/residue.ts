/**
 * Where the end of a grant on a resource with `allow_lasting_access` keeps the residue its
 * provider found (things made during the window that can outlive it): a list of
 * `kind: description` strings in the ended grant's `issued` facts. The end commit carries it, so
 * `gatepass audit --verify`, which reads only git, reports it as a finding.
 */
export const RESIDUE_FACT = 'residue';

/** The residue recorded in a grant's facts (empty when none was found or none was looked for). */
export function recordedResidue(facts: Record<string, unknown> | undefined): string[] {
  const v = facts?.[RESIDUE_FACT];
  return Array.isArray(v) ? v.map(String) : [];
}
