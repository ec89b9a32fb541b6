/**
 * People are identified by GitHub's numeric user id (logins can be renamed and re-registered);
 * the login is kept beside it for humans. Logins compare case-insensitively.
 */
export interface Person {
  login: string;
  id: number;
}

/** A policy principal: a user login (`alice`) or a team as `org/team-slug`. */
export type Principal = string;

export const LOGIN_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
export const TEAM_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9_.-]{1,100}$/;

export const isTeam = (p: Principal): boolean => p.includes('/');
export const sameLogin = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
export const samePerson = (a: Person, b: Person): boolean => a.id === b.id;

/**
 * Team memberships known at decision time: key is `org/team-slug` lower-cased, value the
 * numeric ids of its members. A team missing from the map has no known members (deny by default).
 */
export type Memberships = ReadonlyMap<string, ReadonlySet<number>>;

export const teamKey = (team: Principal): string => team.toLowerCase();

/** Whether `person` is named by any of `principals`, directly (by login) or through a team. */
export function matchesAny(
  person: Person,
  principals: readonly Principal[],
  memberships: Memberships,
): boolean {
  return matchingPrincipal(person, principals, memberships) !== undefined;
}

/** The first of `principals` that names `person`, directly (by login) or through a team. */
export function matchingPrincipal(
  person: Person,
  principals: readonly Principal[],
  memberships: Memberships,
): Principal | undefined {
  return principals.find((p) =>
    isTeam(p) ? (memberships.get(teamKey(p))?.has(person.id) ?? false) : sameLogin(p, person.login),
  );
}

export const formatPerson = (p: Person): string => `${p.login} (${p.id})`;
