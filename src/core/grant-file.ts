import type { ValidateFunction } from 'ajv';
import { stringify } from 'yaml';
import { formatDuration, parseDuration } from './duration.js';
import { type Grant, type GrantStatus, TERMINAL_STATUSES } from './grant.js';
import { NAME_PATTERN, RESERVED_NAMES } from './policy.js';
import { type Problem, type Result, fail, ok } from './problem.js';
import { validateGrantSchema } from './generated/grant-validator.js';
import { schemaProblems } from './schema-problems.js';
import { parseTimestamp } from './timestamp.js';
import { parseYaml, type YamlDocument } from './yaml-document.js';

/**
 * Grant ids become file names and commit trailers, so they follow the resource-name rules.
 * The app names them after the request: `req-42` for issue 42, `req-42-ext-1` for its first
 * extension.
 */
export const GRANT_ID_PATTERN = NAME_PATTERN;
export const GRANTS_DIR = 'grants';
export const ARCHIVE_DIR = 'archive';
/** A grant file is a page of YAML; anything bigger is not one of ours. */
export const MAX_GRANT_BYTES = 64 * 1024;

export const HEADER =
  '# Managed by gatepass. Request access with an issue; status changes are made by the\n' +
  '# gatepass action, each in its own commit. Edits by hand are refused or overwritten.\n';

export const isGrantId = (id: string): boolean =>
  typeof id === 'string' && GRANT_ID_PATTERN.test(id) && !RESERVED_NAMES.includes(id);
const isResourceName = (name: string): boolean =>
  typeof name === 'string' && NAME_PATTERN.test(name) && !RESERVED_NAMES.includes(name);

export const requestGrantId = (issue: number): string => `req-${issue}`;
export const extensionGrantId = (issue: number, n: number): string => `req-${issue}-ext-${n}`;

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

/**
 * Precompiled from GRANT_SCHEMA (grant-schema.ts) by `npm run gen:validators`: compiling the
 * schema with ajv at import cost every action run ~90 ms before its first API call.
 */
const validate = validateGrantSchema as ValidateFunction;

/** Key order in the file: identity, the ask, then the story in the order it happens. */
const KEY_ORDER: readonly (keyof Grant)[] = [
  'id',
  'resource',
  'status',
  'requester',
  'duration',
  'justification',
  'ticket',
  'source',
  'policy_commit',
  'requested_at',
  'start_at',
  'extends',
  'break_glass',
  'approval',
  'issued_at',
  'expires_at',
  'revoke_requested',
  'ended_at',
  'end_reason',
  'issued',
];

/** Stable text for a grant: the same grant always gives the same bytes, so diffs stay small. */
export function serializeGrant(grant: Grant): string {
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) {
    const v = grant[key];
    if (v === undefined) continue;
    out[key] = key === 'duration' ? formatDuration(v as number) : v;
  }
  const body = stringify(out, {
    lineWidth: 0,
    sortMapEntries: false,
    aliasDuplicateObjects: false,
  });
  return HEADER + body;
}

/** What each status needs (`+`) and must not have (`-`) to make sense. */
const STATUS_FIELDS: Record<GrantStatus, { need: (keyof Grant)[]; forbid: (keyof Grant)[] }> = {
  // A request carries nothing only gatepass may write: `issued` would pose as the action's own
  // crash marker and provider pre-state, `revoke_requested`/`end_reason` as its bookkeeping.
  pending: {
    need: [],
    forbid: [
      'approval',
      'issued_at',
      'expires_at',
      'ended_at',
      'issued',
      'revoke_requested',
      'end_reason',
    ],
  },
  approved: { need: ['approval'], forbid: ['issued_at', 'ended_at'] },
  active: { need: ['approval', 'issued_at', 'expires_at'], forbid: ['ended_at'] },
  // An approved grant that could not be issued in its window expires without ever being issued.
  expired: { need: ['approval', 'ended_at'], forbid: [] },
  revoked: { need: ['approval', 'ended_at'], forbid: [] },
  denied: { need: ['ended_at'], forbid: ['issued_at', 'expires_at'] },
  cancelled: { need: ['ended_at'], forbid: ['issued_at', 'expires_at'] },
};

/**
 * Consistency of a grant with itself: the fields its status needs, times in order, the
 * approval rule matching the grant. Used on parse and after every transition.
 */
export function grantProblems(grant: Grant): Problem[] {
  const problems: Problem[] = [];
  const rule = STATUS_FIELDS[grant.status];
  if (!rule) return [{ path: 'status', message: `unknown status "${String(grant.status)}"` }];
  const a = /^[aeiou]/.test(grant.status) ? `an ${grant.status}` : `a ${grant.status}`;
  for (const key of rule.need)
    if (grant[key] === undefined)
      problems.push({ path: key, message: `${a} grant needs "${key}"` });
  for (const key of rule.forbid)
    if (grant[key] !== undefined)
      problems.push({ path: key, message: `${a} grant cannot have "${key}"` });
  if ((grant.issued_at === undefined) !== (grant.expires_at === undefined))
    problems.push({
      path: grant.issued_at === undefined ? 'issued_at' : 'expires_at',
      message: 'issued_at and expires_at go together',
    });

  const times: [keyof Grant | 'approval.approved_at', string | undefined][] = [
    ['requested_at', grant.requested_at],
    ['start_at', grant.start_at],
    ['approval.approved_at', grant.approval?.approved_at],
    ['issued_at', grant.issued_at],
    ['expires_at', grant.expires_at],
    ['ended_at', grant.ended_at],
  ];
  const at: Partial<Record<string, number>> = {};
  for (const [key, value] of times) {
    if (value === undefined) continue;
    const d = parseTimestamp(value);
    if (d) at[key] = d.getTime();
    else problems.push({ path: key, message: `"${value}" is not an ISO 8601 time with a zone` });
  }
  if (at.issued_at !== undefined && at.expires_at !== undefined && at.expires_at <= at.issued_at)
    problems.push({ path: 'expires_at', message: 'expires_at must be after issued_at' });
  const approvedAt = at['approval.approved_at'];
  if (approvedAt !== undefined && at.requested_at !== undefined && approvedAt < at.requested_at)
    problems.push({ path: 'approval.approved_at', message: 'approved before it was requested' });
  const approvalRule = grant.approval?.rule;
  if (approvalRule === 'break_glass' && !grant.break_glass)
    problems.push({
      path: 'approval.rule',
      message: 'approved as break-glass without break_glass',
    });
  if (approvalRule === 'reviews' && grant.approval!.approvers.length === 0)
    problems.push({ path: 'approval.approvers', message: 'approved by reviews without approvers' });
  if (grant.approval?.approvers.some((a) => a.id === grant.requester.id))
    problems.push({
      path: 'approval.approvers',
      message: 'the requester cannot be one of the approvers',
    });
  if (grant.extends !== undefined && grant.extends === grant.id)
    problems.push({ path: 'extends', message: 'a grant cannot extend itself' });
  return problems;
}

/** Reads a grant file; every problem carries the file, the dotted path and the line. */
export function parseGrant(text: string, file: string): Result<Grant> {
  const doc = parseYaml(text, file, MAX_GRANT_BYTES);
  if (!doc.ok) return doc;
  return grantFromValue(doc.value.value, file, doc.value);
}

/**
 * The checks of `parseGrant` after the YAML: schema, duration, location, consistency. For
 * readers that obtain the same value another way (`parseGrantFast`); without line numbers
 * (`lineOf` returning undefined), such a reader should ask `parseGrant` for the problems.
 */
export function grantFromValue(data: unknown, file: string, doc: YamlDocument): Result<Grant> {
  const lineOf = (path: string | undefined): number | undefined =>
    doc.lineOf(path ? path.split('.') : []);
  if (!validate(data)) return fail(...schemaProblems(validate.errors, doc, file));
  const raw = data as unknown as Omit<Grant, 'duration'> & { duration: string };

  const problems: Problem[] = [];
  const duration = parseDuration(raw.duration);
  if (!duration.ok)
    problems.push(
      ...duration.problems.map((p) => ({ ...p, file, path: 'duration', line: lineOf('duration') })),
    );
  const location = parseGrantPath(file);
  if (!location)
    problems.push({
      file,
      message: `grant files live at ${GRANTS_DIR}/<resource>/<id>.yaml (or under ${GRANTS_DIR}/${ARCHIVE_DIR}/YYYY/MM/)`,
    });
  else {
    if (location.resource !== raw.resource)
      problems.push({
        file,
        path: 'resource',
        line: lineOf('resource'),
        message: `resource "${raw.resource}" does not match the file's folder "${location.resource}"`,
      });
    if (location.id !== raw.id)
      problems.push({
        file,
        path: 'id',
        line: lineOf('id'),
        message: `id "${raw.id}" does not match the file name "${location.id}.yaml"`,
      });
    if (location.archived && !TERMINAL_STATUSES.includes(raw.status))
      problems.push({
        file,
        path: 'status',
        line: lineOf('status'),
        message: `only ended grants belong in the archive, this one is ${raw.status}`,
      });
  }
  if (problems.length) return fail(...problems);

  const grant = { ...raw, duration: duration.ok ? duration.value : 0 } as Grant;
  const consistency = grantProblems(grant).map((p) => ({ ...p, file, line: lineOf(p.path) }));
  if (location?.archived && grant.ended_at && consistency.length === 0) {
    const expected = archivePath(grant).split('/').slice(2, 4).join('/');
    if (expected !== location.month)
      consistency.push({
        file,
        path: 'ended_at',
        line: lineOf('ended_at'),
        message: `ended_at falls in ${expected}, but the file is archived under ${location.month}`,
      });
  }
  return consistency.length ? fail(...consistency) : ok(grant);
}
