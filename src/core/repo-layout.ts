import type { Grant } from './grant.js';
import { NAME_PATTERN, RESERVED_NAMES } from './policy.js';
import { isGrantId } from './request-naming.js';
import { parseTimestamp } from './timestamp.js';

/**
 * Where things live in the access repository, in one place: policies, live and archived grant
 * files, break-glass review records, and the predicates that recognise their paths.
 */
export const POLICIES_DIR = 'policies';
export const GRANTS_DIR = 'grants';
export const ARCHIVE_DIR = 'archive';
/** After-the-fact reviews of break-glass grants (see break-glass.ts). */
export const REVIEWS_DIR = 'reviews';
export const BREAK_GLASS_REVIEWS_DIR = `${REVIEWS_DIR}/break-glass`;

/** A policy file is any YAML file below `policies/`, at any depth. */
export const isPolicyFile = (path: string): boolean =>
  path.startsWith(`${POLICIES_DIR}/`) && /\.ya?ml$/.test(path);

/** Whether a path is inside `grants/` (or is it). */
export const isUnderGrants = (path: string): boolean =>
  path === GRANTS_DIR || path.startsWith(`${GRANTS_DIR}/`);

const isResourceName = (name: string): boolean =>
  typeof name === 'string' && NAME_PATTERN.test(name) && !RESERVED_NAMES.includes(name);

/**
 * Building a path from an unchecked name is a bug in the caller (names are validated when
 * read), so this throws rather than returning a Problem.
 */
export function grantPath(resource: string, id: string): string {
  if (!isResourceName(resource)) throw new RangeError(`not a resource name: ${resource}`);
  if (!isGrantId(id)) throw new RangeError(`not a grant id: ${id}`);
  return `${GRANTS_DIR}/${resource}/${id}.yaml`;
}

/** Where a terminal grant is moved: by the month it ended, so the live tree stays small. */
export function archivePath(grant: Grant): string {
  const ended = grant.ended_at === undefined ? null : parseTimestamp(grant.ended_at);
  if (!ended) throw new RangeError(`grant ${grant.id} has not ended`);
  const yyyy = String(ended.getUTCFullYear()).padStart(4, '0');
  const mm = String(ended.getUTCMonth() + 1).padStart(2, '0');
  const live = grantPath(grant.resource, grant.id);
  return `${GRANTS_DIR}/${ARCHIVE_DIR}/${yyyy}/${mm}/${live.slice(GRANTS_DIR.length + 1)}`;
}

export interface GrantPath {
  resource: string;
  id: string;
  archived: boolean;
  /** `YYYY/MM` for archived grants. */
  month?: string;
}

/** Reads a repository path as a grant file location, or null for anything else or anything odd. */
export function parseGrantPath(path: string): GrantPath | null {
  if (typeof path !== 'string' || path.length > 300) return null;
  const parts = path.split('/');
  if (parts[0] !== GRANTS_DIR || parts.some((p) => p === '')) return null;
  const file = parts[parts.length - 1]!;
  if (!file.endsWith('.yaml')) return null;
  const id = file.slice(0, -'.yaml'.length);
  if (parts.length === 3) {
    const resource = parts[1]!;
    return isResourceName(resource) && isGrantId(id) ? { resource, id, archived: false } : null;
  }
  if (parts.length === 6 && parts[1] === ARCHIVE_DIR) {
    const [, , yyyy, mm, resource] = parts as [string, string, string, string, string];
    if (!/^\d{4}$/.test(yyyy) || !/^(0[1-9]|1[0-2])$/.test(mm)) return null;
    return isResourceName(resource) && isGrantId(id)
      ? { resource, id, archived: true, month: `${yyyy}/${mm}` }
      : null;
  }
  return null;
}
