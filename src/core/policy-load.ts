import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDuration, formatDuration, DAY, type Seconds } from './duration.js';
import { isTeam, LOGIN_PATTERN, TEAM_PATTERN, type Principal } from './identity.js';
import {
  DEFAULT_REQUEST_TTL,
  DEFAULT_TOTAL_FACTOR,
  NAME_PATTERN,
  RESERVED_NAMES,
  type PolicySet,
  type ProviderKind,
  type Resource,
} from './policy.js';
import { validatePolicySchema } from './generated/policy-validator.js';
import type { Problem } from './problem.js';
import { pointerSegments, schemaProblems } from './schema-problems.js';
import { ticketPatternProblem } from './ticket-pattern.js';
import { dottedPath, parseYaml, type YamlDocument } from './yaml-document.js';

export { compileTicketPattern, ticketPatternProblem, MAX_TICKET_LENGTH } from './ticket-pattern.js';

export interface PolicyFile {
  /** Repository-relative path, used in messages. */
  path: string;
  text: string;
}

/** Where a resource's `target` is, so a provider can point its problems at the right line. */
export interface TargetLocation {
  file: string;
  /** Dotted path of the target, e.g. `resources.prod-db.target`. */
  path: string;
  line?: number;
  /** Line of a value inside the target, e.g. `lineOf(['roles', 0])`. */
  lineOf(relative: readonly (string | number)[]): number | undefined;
}

/**
 * Provider-specific checks of a target that already passed the schema. Problems missing a
 * file, path or line get the target's own.
 */
export type TargetValidator = (
  kind: ProviderKind,
  target: Record<string, unknown>,
  at: TargetLocation,
) => Problem[];

export interface LoadOptions {
  validateTarget?: TargetValidator;
}

export const DEFAULT_JUSTIFICATION = { required: true, min_length: 10 } as const;
export const DEFAULT_REVIEW_WITHIN: Seconds = DAY;
export const DEFAULT_KRL_PATH = 'ssh/revoked.krl';

/** Target keys that hold an admin secret and so must be an `env:NAME` reference. */
const SECRET_REF_KEYS = new Set(['admin_url', 'ca_key']);
const INLINE_SECRET = [
  /[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]*:[^/?#@\s]*@/i, // scheme://user:password@host
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/,
  /(?:^|\s)password\s*=/i, // libpq keyword/value connection strings
  /\bgh[pousr]_[A-Za-z0-9]{20,}/, // GitHub tokens
];

/**
 * Reads every policy file and returns the resources of the files that have no problem at all:
 * a file with any problem contributes nothing (deny by default), the other files still load.
 * Files are read in path order, so "which definition came second" does not depend on the order
 * a directory listing happened to return.
 */
export function loadPolicies(
  files: readonly PolicyFile[],
  options: LoadOptions = {},
): { policies: PolicySet; problems: Problem[] } {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const resources = new Map<string, Resource>();
  const firstSeen = new Map<string, { file: string; line?: number }>();
  const problems: Problem[] = [];
  for (const file of sorted) {
    const loaded = loadFile(file, firstSeen, options);
    problems.push(...loaded.problems.map(printable));
    if (loaded.problems.length === 0) for (const r of loaded.resources) resources.set(r.name, r);
  }
  return { policies: { resources }, problems };
}

function loadFile(
  { path: file, text }: PolicyFile,
  firstSeen: Map<string, { file: string; line?: number }>,
  options: LoadOptions,
): { resources: Resource[]; problems: Problem[] } {
  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text, file);
  } catch (e) {
    // The YAML library can still run out of stack on pathological nesting: report, never crash.
    return { resources: [], problems: [{ file, message: `YAML: ${(e as Error).message}` }] };
  }
  if (!parsed.ok) return { resources: [], problems: parsed.problems };
  const doc = parsed.value;
  const here = (path: readonly (string | number)[], message: string): Problem => ({
    file,
    path: dottedPath(path),
    line: doc.lineOf(path),
    message,
  });

  const validate = validator();
  validate(doc.value);
  // Resource names are checked below with a message that says why; the schema's
  // `propertyNames` is there for editors.
  const errors = (validate.errors ?? [])
    .filter((e) => e.keyword !== 'propertyNames' && !('propertyName' in e))
    .map(withReadableMessage);
  const invalid = new Set<string>();
  for (const e of errors) {
    // Raw segments: a resource may be named `0` or `00`, and here names are always map keys.
    const [top, name] = pointerSegments(e.instancePath);
    if (top === 'resources' && name !== undefined) invalid.add(name);
  }

  const problems: Problem[] = [];
  const root = doc.value;
  const entries = isRecord(root) && isRecord(root.resources) ? Object.entries(root.resources) : [];

  for (const [name] of entries) {
    const at = ['resources', name];
    if (!NAME_PATTERN.test(name)) {
      problems.push(
        here(
          at,
          `resource name ${shown(name)} is not allowed: use 1 to 64 lower-case letters, digits and "-", starting and ending with a letter or digit (names become paths and identifiers)`,
        ),
      );
      continue;
    }
    if (RESERVED_NAMES.includes(name)) {
      problems.push(here(at, `resource name ${shown(name)} is reserved by gatepass`));
      continue;
    }
    const first = firstSeen.get(name);
    if (first) {
      const where = first.line === undefined ? first.file : `${first.file}:${first.line}`;
      problems.push(
        here(
          at,
          `resource ${shown(name)} is already defined in ${where}; resource names must be unique across policy files`,
        ),
      );
    } else {
      firstSeen.set(name, { file, line: doc.lineOf(at) });
    }
  }

  const secretPaths = new Set<string>();
  for (const [name, raw] of entries) {
    if (!isRecord(raw) || !isRecord(raw.target)) continue;
    for (const p of inlineSecrets(raw.target, ['resources', name, 'target'], doc, file)) {
      secretPaths.add(p.path!);
      problems.push(p);
    }
  }
  // An inline secret in `admin_url` also fails the schema's `env:NAME` pattern: say it once.
  problems.push(...schemaProblems(errors, doc, file).filter((p) => !secretPaths.has(p.path ?? '')));

  const resources: Resource[] = [];
  for (const [name, raw] of entries) {
    if (invalid.has(name) || !NAME_PATTERN.test(name)) continue;
    const checked = checkResource(name, raw as RawResource, doc, file, options);
    problems.push(...checked.problems);
    if (checked.resource) resources.push(checked.resource);
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { resources, problems };
}

/** A resource as written, once it has passed the schema. */
interface RawResource {
  description: string;
  provider: ProviderKind;
  target: Record<string, unknown>;
  max_duration: string;
  default_duration: string;
  requesters: string[];
  approvers: string[];
  approvals_required: number;
  request?: {
    justification?: { required?: boolean; min_length?: number };
    ticket?: { required?: boolean; pattern?: string };
  };
  auto_approve?: { name: string; requester_in: string[]; max_duration: string }[];
  break_glass?: { allowed: string[]; max_duration: string; review_within?: string };
  request_ttl?: string;
  max_total_duration?: string;
  allow_lasting_access?: boolean;
}

/**
 * Why a target lets a grantee create access that outlives the grant, when a policy can tell
 * without asking the target (PostgreSQL role attributes are checked at issue, in the database).
 */
export function lastingAccess(
  kind: ProviderKind,
  target: Record<string, unknown>,
): { key: string; why: string } | undefined {
  if (kind === 'github-team' && target.role === 'maintainer')
    return {
      key: 'role',
      why: 'a team maintainer can add members to the team, who stay after the grant ends',
    };
  if (
    kind === 'github-collaborator' &&
    (target.permission === 'admin' || target.permission === 'maintain')
  )
    return {
      key: 'permission',
      why:
        target.permission === 'admin'
          ? 'admin on a repository can add collaborators, deploy keys and webhooks, which stay after the grant ends'
          : 'maintain on a repository can change its settings and the workflows that run with its secrets, which can leave access after the grant ends',
    };
  return undefined;
}

function checkResource(
  name: string,
  raw: RawResource,
  doc: YamlDocument,
  file: string,
  options: LoadOptions,
): { resource?: Resource; problems: Problem[] } {
  const base = ['resources', name];
  const problems: Problem[] = [];
  const here = (rel: readonly (string | number)[], message: string): void => {
    const path = [...base, ...rel];
    problems.push({ file, path: dottedPath(path), line: doc.lineOf(path), message });
  };
  const duration = (rel: readonly (string | number)[], text: string): Seconds => {
    const r = parseDuration(text);
    if (r.ok) return r.value;
    for (const p of r.problems) here(rel, p.message);
    return NaN;
  };
  // NaN compares false, so an unparseable duration is reported once, not again as "too long".
  const notLonger = (
    rel: readonly (string | number)[],
    what: string,
    value: Seconds,
    limit: Seconds,
  ): void => {
    if (value > limit)
      here(
        rel,
        `${what} (${formatDuration(value)}) is longer than the resource's max_duration (${formatDuration(limit)})`,
      );
  };
  const principals = (rel: readonly (string | number)[], list: readonly string[]): void =>
    list.forEach((p, i) => {
      const problem = principalProblem(p);
      if (problem) here([...rel, i], problem);
    });

  const max = duration(['max_duration'], raw.max_duration);
  const def = duration(['default_duration'], raw.default_duration);
  notLonger(['default_duration'], 'default_duration', def, max);
  const ttl =
    raw.request_ttl === undefined
      ? DEFAULT_REQUEST_TTL
      : duration(['request_ttl'], raw.request_ttl);

  const total =
    raw.max_total_duration === undefined
      ? max * DEFAULT_TOTAL_FACTOR
      : duration(['max_total_duration'], raw.max_total_duration);
  if (total < max)
    here(
      ['max_total_duration'],
      `max_total_duration (${formatDuration(total)}) is shorter than max_duration (${formatDuration(max)}), so no grant could be issued in full`,
    );

  principals(['requesters'], raw.requesters);
  principals(['approvers'], raw.approvers);
  if (!raw.approvers.some(isTeam)) {
    const distinct = new Set(raw.approvers.map((a) => a.toLowerCase())).size;
    if (raw.approvals_required > distinct)
      here(
        ['approvals_required'],
        `approvals_required is ${raw.approvals_required} but only ${distinct} approver${distinct === 1 ? ' is' : 's are'} listed, so no request could ever be approved`,
      );
  }

  const ticket = raw.request?.ticket;
  if (ticket?.pattern !== undefined) {
    const problem = ticketPatternProblem(ticket.pattern);
    if (problem) here(['request', 'ticket', 'pattern'], problem);
  }

  const ruleNames = new Set<string>();
  const autoApprove = (raw.auto_approve ?? []).map((rule, i) => {
    if (ruleNames.has(rule.name))
      here(['auto_approve', i, 'name'], `auto_approve rule "${rule.name}" is defined twice`);
    ruleNames.add(rule.name);
    principals(['auto_approve', i, 'requester_in'], rule.requester_in);
    const ruleMax = duration(['auto_approve', i, 'max_duration'], rule.max_duration);
    notLonger(['auto_approve', i, 'max_duration'], 'auto_approve max_duration', ruleMax, max);
    return { name: rule.name, requester_in: [...rule.requester_in], max_duration: ruleMax };
  });

  let breakGlass: Resource['break_glass'];
  if (raw.break_glass) {
    const bg = raw.break_glass;
    principals(['break_glass', 'allowed'], bg.allowed);
    const bgMax = duration(['break_glass', 'max_duration'], bg.max_duration);
    notLonger(['break_glass', 'max_duration'], 'break_glass max_duration', bgMax, max);
    const review =
      bg.review_within === undefined
        ? DEFAULT_REVIEW_WITHIN
        : duration(['break_glass', 'review_within'], bg.review_within);
    breakGlass = { allowed: [...bg.allowed], max_duration: bgMax, review_within: review };
  }

  // Provider-specific values (timeouts in seconds, addresses…) are each provider's to judge,
  // through `validateTarget`: the access durations' 1m floor does not apply to them.
  if (options.validateTarget) {
    const targetPath = [...base, 'target'];
    const at: TargetLocation = {
      file,
      path: dottedPath(targetPath),
      line: doc.lineOf(targetPath),
      lineOf: (relative) => doc.lineOf([...targetPath, ...relative]),
    };
    for (const p of options.validateTarget(raw.provider, raw.target, at)) {
      // Providers speak of `target.<key>` relative to the resource; place it in the file.
      const rel = p.path?.startsWith('target') ? relativeSegments(p.path).slice(1) : undefined;
      const full = rel ? [...targetPath, ...rel] : undefined;
      problems.push({
        ...p,
        file: p.file ?? at.file,
        path: full ? dottedPath(full) : (p.path ?? at.path),
        line: p.line ?? (full ? doc.lineOf(full) : undefined) ?? at.line,
      });
    }
  }

  const lasting = lastingAccess(raw.provider, raw.target);
  if (lasting && raw.allow_lasting_access !== true)
    here(
      ['target', lasting.key],
      `${lasting.why}; grant less, or set allow_lasting_access: true on the resource to accept it (gatepass then reports what was created during each grant)`,
    );

  if (problems.length > 0) return { problems };
  const target: Record<string, unknown> = { ...raw.target };
  if (raw.provider === 'ssh-certificate' && target.krl_path === undefined)
    target.krl_path = DEFAULT_KRL_PATH;
  const justification = raw.request?.justification;
  return {
    problems,
    resource: {
      name,
      description: raw.description,
      provider: raw.provider,
      target,
      max_duration: max,
      default_duration: def,
      requesters: [...raw.requesters],
      approvers: [...raw.approvers],
      approvals_required: raw.approvals_required,
      request: {
        justification: {
          required: justification?.required ?? DEFAULT_JUSTIFICATION.required,
          min_length: justification?.min_length ?? DEFAULT_JUSTIFICATION.min_length,
        },
        ticket: {
          required: ticket?.required ?? false,
          ...(ticket?.pattern !== undefined ? { pattern: ticket.pattern } : {}),
        },
      },
      auto_approve: autoApprove,
      ...(breakGlass ? { break_glass: breakGlass } : {}),
      request_ttl: ttl,
      max_total_duration: total,
      ...(raw.allow_lasting_access === true ? { allow_lasting_access: true } : {}),
      source: { file, line: doc.lineOf(base) },
    },
  };
}

function principalProblem(p: Principal): string | undefined {
  if (isTeam(p))
    return TEAM_PATTERN.test(p)
      ? undefined
      : `${shown(p)} is not a team: write teams as org/team-slug`;
  return LOGIN_PATTERN.test(p)
    ? undefined
    : `${shown(p)} is not a GitHub login (letters, digits and "-", at most 39 characters) nor a team (org/team-slug)`;
}

/** Values anywhere in a target that look like a secret written inline. Never echoes the value. */
function inlineSecrets(
  value: unknown,
  path: (string | number)[],
  doc: YamlDocument,
  file: string,
): Problem[] {
  const at = (message: string): Problem => ({
    file,
    path: dottedPath(path),
    line: doc.lineOf(path),
    message,
  });
  if (typeof value === 'string') {
    const key = path[path.length - 1];
    if (typeof key === 'string' && SECRET_REF_KEYS.has(key) && path.length === 4) {
      return value.startsWith('env:')
        ? []
        : [
            at(
              `${key} must name an environment variable, as env:NAME, not hold the secret itself; put the secret in the environment (a CI secret) and write e.g. env:${key === 'ca_key' ? 'SSH_CA_KEY' : 'PROD_PG_ADMIN_URL'}`,
            ),
          ];
    }
    return INLINE_SECRET.some((re) => re.test(value))
      ? [
          at(
            'looks like a secret written inline; secrets are only referenced, as env:NAME, and kept in the environment',
          ),
        ]
      : [];
  }
  if (Array.isArray(value))
    return value.flatMap((v, i) => inlineSecrets(v, [...path, i], doc, file));
  if (isRecord(value))
    return Object.entries(value).flatMap(([k, v]) => inlineSecrets(v, [...path, k], doc, file));
  return [];
}

/**
 * Precompiled from POLICY_SCHEMA by `npm run gen:validators` (verbose, so errors carry the
 * `patternErrorMessage` of their schema): no ajv compile on the action's or the app's load path.
 */
function validator(): ValidateFunction {
  return validatePolicySchema as ValidateFunction;
}

function withReadableMessage(e: ErrorObject): ErrorObject {
  const custom = (e.parentSchema as { patternErrorMessage?: unknown } | undefined)
    ?.patternErrorMessage;
  return e.keyword === 'pattern' && typeof custom === 'string' ? { ...e, message: custom } : e;
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** Quoted, with control and non-ASCII characters escaped, so look-alikes show what they are. */
function shown(text: string): string {
  return JSON.stringify(text).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Paths are built from keys in the file; keep NULs and look-alikes out of check runs. */
function printable(p: Problem): Problem {
  return p.path === undefined
    ? p
    : {
        ...p,
        path: p.path.replace(
          /[^\x20-\x7e]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        ),
      };
}

/** `target.principals[1]` → `['target', 'principals', 1]`. */
function relativeSegments(path: string): (string | number)[] {
  return path
    .split('.')
    .flatMap((part) =>
      [...part.matchAll(/([^[\]]+)|\[(\d+)\]/g)].map((m) =>
        m[2] !== undefined ? Number(m[2]) : m[1]!,
      ),
    );
}
