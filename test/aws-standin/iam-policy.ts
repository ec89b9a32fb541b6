/*
 * The part of IAM's policy language the stand-in needs: the grammar check IAM runs on
 * PutRolePolicy (MalformedPolicyDocument), the size limit, and the evaluation of Deny
 * statements against a role session (the only statements gatepass writes). Anything outside
 * that subset is refused loudly rather than evaluated wrongly.
 */

export interface Session {
  roleId: string;
  sessionName: string;
  sourceIdentity?: string;
  issuedAt: Date;
}

type Condition = Record<string, Record<string, string | string[]>>;
interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Condition;
}

const OPERATORS = new Set(['StringEquals', 'StringLike', 'DateLessThan', 'DateGreaterThan']);
const KEYS = new Set(['aws:userid', 'aws:TokenIssueTime', 'aws:SourceIdentity']);
/** IAM's limit on the inline policies of one role, whitespace not counted. */
export const ROLE_INLINE_LIMIT = 10_240;

/** Problems IAM would report as MalformedPolicyDocument. */
export function policyProblems(text: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return ['the policy is not JSON'];
  }
  if (typeof doc !== 'object' || doc === null) return ['the policy is not an object'];
  const d = doc as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys(d))
    if (!['Version', 'Id', 'Statement'].includes(k)) out.push(`unknown policy element ${k}`);
  if (d.Version !== '2012-10-17') out.push('Version must be 2012-10-17');
  const list = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (list.length === 0 || list[0] === undefined) out.push('a policy needs a Statement');
  const sids = new Set<string>();
  for (const s of list as Record<string, unknown>[]) {
    if (typeof s !== 'object' || s === null) {
      out.push('a statement must be an object');
      continue;
    }
    for (const k of Object.keys(s))
      if (!['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(k))
        out.push(`unsupported statement element ${k}`);
    if (s.Sid !== undefined) {
      if (typeof s.Sid !== 'string' || !/^[A-Za-z0-9]+$/.test(s.Sid))
        out.push(`Sid ${JSON.stringify(s.Sid)} must be alphanumeric`);
      else if (sids.has(s.Sid)) out.push(`Sid ${s.Sid} is used twice`);
      else sids.add(s.Sid);
    }
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') out.push('Effect must be Allow or Deny');
    if (s.Action === undefined || s.Resource === undefined)
      out.push('a statement needs Action and Resource');
    if (s.Condition !== undefined) {
      const c = s.Condition as Record<string, unknown>;
      for (const [op, kv] of Object.entries(c)) {
        if (!OPERATORS.has(op)) out.push(`condition operator ${op} is not supported here`);
        for (const [key, v] of Object.entries((kv ?? {}) as Record<string, unknown>)) {
          if (!KEYS.has(key)) out.push(`condition key ${key} is not supported here`);
          const values = Array.isArray(v) ? v : [v];
          if (values.some((x) => typeof x !== 'string'))
            out.push(`${op}/${key}: values must be strings`);
          if (op.startsWith('Date') && values.some((x) => Number.isNaN(Date.parse(String(x)))))
            out.push(`${op}/${key}: not a date`);
        }
      }
    }
  }
  return out;
}

export const policySize = (text: string): number => text.replace(/\s/g, '').length;

const glob = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value);

function contextValue(key: string, s: Session): string | undefined {
  if (key === 'aws:userid') return `${s.roleId}:${s.sessionName}`;
  if (key === 'aws:TokenIssueTime') return s.issuedAt.toISOString();
  return s.sourceIdentity;
}

function matches(op: string, key: string, values: string[], s: Session): boolean {
  const v = contextValue(key, s);
  if (v === undefined) return false;
  return values.some((want) => {
    switch (op) {
      case 'StringEquals':
        return v === want;
      case 'StringLike':
        return glob(want, v);
      case 'DateLessThan':
        return Date.parse(v) < Date.parse(want);
      case 'DateGreaterThan':
        return Date.parse(v) > Date.parse(want);
      default:
        throw new Error(`stand-in cannot evaluate ${op}`);
    }
  });
}

/** The Sid of the first Deny statement (Action and Resource `*`) that applies to the session. */
export function denyingStatement(policies: Iterable<string>, s: Session): string | undefined {
  for (const text of policies) {
    const doc = JSON.parse(text) as { Statement: Statement | Statement[] };
    const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    for (const st of list) {
      if (st.Effect !== 'Deny' || st.Action !== '*' || st.Resource !== '*') continue;
      const ok = Object.entries(st.Condition ?? {}).every(([op, kv]) =>
        Object.entries(kv).every(([key, v]) => matches(op, key, Array.isArray(v) ? v : [v], s)),
      );
      if (ok) return st.Sid ?? '(no Sid)';
    }
  }
  return undefined;
}
