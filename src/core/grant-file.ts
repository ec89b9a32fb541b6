import type { ValidateFunction } from 'ajv';
import { stringify } from 'yaml';
import { type Seconds, formatDuration, parseDuration } from './duration.js';
import { type Grant, type GrantStatus, TERMINAL_STATUSES } from './grant.js';
import { type Problem, type Result, fail, ok } from './problem.js';
import { validateGrantSchema } from './generated/grant-validator.js';
import { schemaProblems } from './schema-problems.js';
import { timestampMs } from './timestamp.js';
import { parseYaml, type YamlDocument } from './yaml-document.js';
import { ARCHIVE_DIR, GRANTS_DIR, archivePath, parseGrantPath } from './repo-layout.js';

export {
  ARCHIVE_DIR,
  GRANTS_DIR,
  archivePath,
  grantPath,
  parseGrantPath,
  type GrantPath,
} from './repo-layout.js';
export { GRANT_ID_PATTERN, extensionGrantId, isGrantId, requestGrantId } from './request-naming.js';

/** A grant file is a page of YAML; anything bigger is not one of ours. */
export const MAX_GRANT_BYTES = 64 * 1024;

export const HEADER =
  '# Managed by gatepass. Request access with an issue; status changes are made by the\n' +
  '# gatepass action, each in its own commit. Edits by hand are refused or overwritten.\n';

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
  // crash marker and provider pre-state, `end_reason` as its bookkeeping. `revoke_requested`
  // may be on a pending grant of the default branch (merged, not yet issued: `/revoke` then
  // stops it being issued); a request PR never carries it (`requestProblems` in approval.ts).
  pending: {
    need: [],
    forbid: ['approval', 'issued_at', 'expires_at', 'ended_at', 'issued', 'end_reason'],
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
  const a = (): string =>
    /^[aeiou]/.test(grant.status) ? `an ${grant.status}` : `a ${grant.status}`;
  for (const key of rule.need)
    if (grant[key] === undefined)
      problems.push({ path: key, message: `${a()} grant needs "${key}"` });
  for (const key of rule.forbid)
    if (grant[key] !== undefined)
      problems.push({ path: key, message: `${a()} grant cannot have "${key}"` });
  if ((grant.issued_at === undefined) !== (grant.expires_at === undefined))
    problems.push({
      path: grant.issued_at === undefined ? 'issued_at' : 'expires_at',
      message: 'issued_at and expires_at go together',
    });

  // Each time read once, in this order (no table of them: this runs on every grant version an
  // audit reads).
  const requestedAt = instant(problems, 'requested_at', grant.requested_at);
  instant(problems, 'start_at', grant.start_at);
  const approvedAt = instant(problems, 'approval.approved_at', grant.approval?.approved_at);
  const issuedAt = instant(problems, 'issued_at', grant.issued_at);
  const expiresAt = instant(problems, 'expires_at', grant.expires_at);
  instant(problems, 'ended_at', grant.ended_at);
  if (issuedAt !== undefined && expiresAt !== undefined && expiresAt <= issuedAt)
    problems.push({ path: 'expires_at', message: 'expires_at must be after issued_at' });
  if (approvedAt !== undefined && requestedAt !== undefined && approvedAt < requestedAt)
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

/** The instant `value` names, or a problem and undefined when it is not a time with a zone. */
function instant(problems: Problem[], path: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = timestampMs(value);
  if (ms !== null) return ms;
  problems.push({ path, message: `"${value}" is not an ISO 8601 time with a zone` });
  return undefined;
}

/**
 * `parseDuration`, remembered for the few spellings a repository uses (`1h`, `4h`…): an audit
 * reads the duration of every grant version. The results are never changed by their users.
 */
const durations = new Map<string, Result<Seconds>>();
function durationOf(text: string): Result<Seconds> {
  let known = durations.get(text);
  if (known === undefined) {
    known = parseDuration(text);
    if (durations.size >= 64) durations.clear();
    durations.set(text, known);
  }
  return known;
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
export function grantFromValue(
  data: unknown,
  file: string,
  doc: YamlDocument,
  /** The caller knows the schema accepts `data` (`surelyMatchesGrantSchema`). */
  schemaAccepts = false,
): Result<Grant> {
  const lineOf = (path: string | undefined): number | undefined =>
    doc.lineOf(path ? path.split('.') : []);
  if (!schemaAccepts && !validate(data)) return fail(...schemaProblems(validate.errors, doc, file));
  const raw = data as unknown as Omit<Grant, 'duration'> & { duration: string };

  const problems: Problem[] = [];
  const duration = durationOf(raw.duration);
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
