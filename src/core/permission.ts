/** Repository permissions as the collaborator API names them, weakest first. */
export const REPO_PERMISSIONS = ['pull', 'triage', 'push', 'maintain', 'admin'] as const;
export type RepoPermission = (typeof REPO_PERMISSIONS)[number];

/** `role_name` from the permission API (`read`/`write` are the API's names for pull/push). */
const ROLE_TO_PERMISSION: Record<string, RepoPermission> = {
  read: 'pull',
  pull: 'pull',
  triage: 'triage',
  write: 'push',
  push: 'push',
  maintain: 'maintain',
  admin: 'admin',
};

/** Maps an API role name to a permission; custom roles and `none` give null. */
export function toRepoPermission(role: string | null | undefined): RepoPermission | null {
  return role ? (ROLE_TO_PERMISSION[role.toLowerCase()] ?? null) : null;
}

/**
 * Orders permissions (a domain rule: ending a grant never leaves more than it gave); no
 * permission ranks below every real one.
 */
export const permissionRank = (p: RepoPermission | null): number =>
  p === null ? -1 : REPO_PERMISSIONS.indexOf(p);
