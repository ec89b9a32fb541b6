import { GRANT_STATUSES } from './grant.js';
import { NAME_PATTERN } from './policy.js';

/**
 * A quick, one-sided test of GRANT_SCHEMA for the values the fast grant reader builds: true
 * only for values the schema's validator accepts (test/core/grant-schema-check.test.ts holds it
 * to that), false for anything it is not sure of, which then goes to the validator itself. It
 * accepts the usual spellings only (timestamps as `toISOString` writes them, lengths counted in
 * UTF-16 units, which are never fewer than the schema's code points), and allocates nothing: an
 * audit runs it on tens of thousands of grant versions.
 */
export function surelyMatchesGrantSchema(value: unknown): boolean {
  if (!isObject(value)) return false;
  let required = 0;
  for (const key in value) {
    const v = value[key];
    if (v === undefined) return false;
    switch (key) {
      case 'id':
      case 'resource':
        if (!isName(v)) return false;
        required += 1;
        break;
      case 'status':
        if (!(GRANT_STATUSES as readonly unknown[]).includes(v)) return false;
        required += 1;
        break;
      case 'requester':
        if (!isPerson(v)) return false;
        required += 1;
        break;
      case 'duration':
        if (!isText(v, 1, 32)) return false;
        required += 1;
        break;
      case 'justification':
        if (!isText(v, 0, 2000)) return false;
        required += 1;
        break;
      case 'ticket':
        if (!isText(v, 1, 100)) return false;
        break;
      case 'source':
        if (!isSource(v)) return false;
        required += 1;
        break;
      case 'policy_commit':
        if (!isSha(v)) return false;
        required += 1;
        break;
      case 'requested_at':
        if (!isTime(v)) return false;
        required += 1;
        break;
      case 'start_at':
      case 'issued_at':
      case 'expires_at':
      case 'ended_at':
        if (!isTime(v)) return false;
        break;
      case 'extends':
        if (!isName(v)) return false;
        break;
      case 'break_glass':
        if (!isBreakGlass(v)) return false;
        break;
      case 'approval':
        if (!isApproval(v)) return false;
        break;
      case 'revoke_requested':
        if (!isRevokeRequest(v)) return false;
        break;
      case 'end_reason':
        if (!isText(v, 0, 2000)) return false;
        break;
      case 'issued':
        if (!isIssued(v)) return false;
        break;
      default:
        return false;
    }
  }
  // id, resource, status, requester, duration, justification, source, policy_commit,
  // requested_at: each key is seen once, so nine means all of them.
  return required === 9;
}

type Obj = Record<string, unknown>;

/** The schema's `object`: not null, not an array (its keys are those `for…in` sees, as ajv's). */
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string of `min` to `max` characters (UTF-16 units: at least as many as code points). */
const isText = (v: unknown, min: number, max: number): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max;

const isName = (v: unknown): boolean => typeof v === 'string' && NAME_PATTERN.test(v);

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const isSha = (v: unknown): boolean => typeof v === 'string' && SHA.test(v);

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1;

function isPerson(v: unknown): boolean {
  if (!isObject(v)) return false;
  let n = 0;
  for (const key in v) {
    if (key === 'login' ? !isText(v[key], 1, 39) : key !== 'id' || !isCount(v[key])) return false;
    n += 1;
  }
  return n === 2;
}

function isSource(v: unknown): boolean {
  if (!isObject(v)) return false;
  let n = 0;
  for (const key in v) {
    if ((key !== 'issue' && key !== 'pull_request') || !isCount(v[key])) return false;
    n += 1;
  }
  return n >= 1;
}

function isBreakGlass(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const key in v) if (key !== 'reason') return false;
  return isText(v.reason, 1, 2000);
}

const RULE = /^(reviews|break_glass|auto_approve:[A-Za-z0-9_.-]{1,64})$/;

function isApproval(v: unknown): boolean {
  if (!isObject(v)) return false;
  let required = 0;
  for (const key in v) {
    const x = v[key];
    if (key === 'approved_at') {
      if (!isTime(x)) return false;
      required += 1;
    } else if (key === 'rule') {
      if (!(typeof x === 'string' && RULE.test(x))) return false;
      required += 1;
    } else if (key === 'approvers') {
      if (!isApprovers(x)) return false;
      required += 1;
    } else if (key !== 'merge_commit' || !isSha(x)) return false;
  }
  return required === 3;
}

function isApprovers(v: unknown): boolean {
  if (!Array.isArray(v) || v.length > 50) return false;
  for (const a of v as unknown[]) {
    if (!isObject(a)) return false;
    let required = 0;
    for (const key in a) {
      const x = a[key];
      if (key === 'login') {
        if (!isText(x, 1, 39)) return false;
        required += 1;
      } else if (key === 'id' || key === 'review_id') {
        if (!isCount(x)) return false;
        required += 1;
      } else if (key !== 'via' || !isText(x, 0, 140)) return false;
    }
    if (required !== 3) return false;
  }
  return true;
}

function isRevokeRequest(v: unknown): boolean {
  if (!isObject(v)) return false;
  let required = 0;
  for (const key in v) {
    const x = v[key];
    if (key === 'by') {
      if (!isPerson(x)) return false;
      required += 1;
    } else if (key === 'at') {
      if (!isTime(x)) return false;
      required += 1;
    } else if (key !== 'reason' || !isText(x, 0, 2000)) return false;
  }
  return required === 2;
}

const FACT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function isIssued(v: unknown): boolean {
  if (!isObject(v)) return false;
  let n = 0;
  for (const key in v) {
    if (!FACT_NAME.test(key) || !isFact(v[key])) return false;
    n += 1;
  }
  return n <= 50;
}

function isFact(v: unknown): boolean {
  if (typeof v === 'string') return v.length <= 4000;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v === 'boolean') return true;
  if (!Array.isArray(v) || v.length > 100) return false;
  for (const x of v as unknown[]) if (!isText(x, 0, 4000)) return false;
  return true;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number the `count` digits of `v` at `at` spell, or -1 when one is not a digit. */
function digits(v: string, at: number, count: number): number {
  let num = 0;
  for (let i = at; i < at + count; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (!(c >= 0 && c <= 9)) return -1;
    num = num * 10 + c;
  }
  return num;
}

/**
 * The schema's `date-time` in `toISOString`'s spelling only (`YYYY-MM-DDTHH:MM:SS[.mmm]Z`,
 * uppercase): a real date, hour to 23, minute and second to 59.
 */
function isTime(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const n = v.length;
  if (n !== 20 && n !== 24) return false;
  if (v.charCodeAt(n - 1) !== 0x5a) return false;
  if (n === 24 && (v.charCodeAt(19) !== 0x2e || digits(v, 20, 3) < 0)) return false;
  if (v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':') return false;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  const hour = digits(v, 11, 2);
  const minute = digits(v, 14, 2);
  const second = digits(v, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS[month - 1]!);
}
