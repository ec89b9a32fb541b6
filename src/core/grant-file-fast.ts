import type { Grant } from './grant.js';
import { HEADER, MAX_GRANT_BYTES, grantFromValue, parseGrant } from './grant-file.js';
import type { Result } from './problem.js';
import { surelyMatchesGrantSchema } from './grant-schema-check.js';
import { standalone } from './string-copy.js';

/**
 * `parseGrant` for the many versions an audit reads. Files in the exact form `serializeGrant`
 * writes are read without the YAML library (ten times faster than it) and then validated
 * exactly as `parseGrant` validates them; anything else, and anything the validation refuses,
 * goes through `parseGrant` itself. So the result is always the one `parseGrant` gives.
 */
export function parseGrantFast(text: string, file: string): Result<Grant> {
  const value = readSerializedGrant(text);
  if (value !== null) {
    // The schema's own validator only when the quick one-sided test is not sure.
    const grant = grantFromValue(
      value,
      file,
      { value, lineOf: () => undefined },
      surelyMatchesGrantSchema(value),
    );
    if (grant.ok) return grant;
  }
  return parseGrant(text, file);
}

/*
 * A strict reader for the YAML subset `serializeGrant` emits: block mappings indented by two,
 * block sequences under them, `key: value` on one line, `|-`/`|` literals, `{}`/`[]`. A value
 * is accepted only in a form whose YAML meaning (core schema) is beyond doubt; anything else
 * (comments, anchors, tags, flow collections, escapes, odd spacing, duplicate keys, numbers that
 * are not plain integers…) returns null and the caller falls back to the YAML library.
 */

const MAX_DEPTH = 6;

/** YAML's printable set without the characters JavaScript or YAML treat as line breaks or BOM. */
const UNPRINTABLE =
  /[^\t\n\x20-\x7e\u{a0}-\u{2027}\u{202a}-\u{d7ff}\u{e000}-\u{fefe}\u{ff00}-\u{fffd}\u{10000}-\u{10ffff}]/u;
/** Keys the core schema would read as null or a boolean rather than as text. */
const SPECIAL_KEY = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;
const INTEGER = /^(?:0|-?[1-9][0-9]{0,14})$/;
/** A plain scalar starting with anything else might be an indicator: not ours. */
const PLAIN_START = /^[A-Za-z0-9_\u{80}-\u{10ffff}]/u;
/** The core schema's numbers (yaml/dist/schema/core): text that looks like one is not text. */
const NUMBER_LIKE =
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/;
const SPECIAL_PLAIN = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

/*
 * Character tests for the lines every grant file has, by hand rather than by regular
 * expression: the audit reads tens of thousands of files, and a match array and its strings per
 * line were most of the reader's time and garbage.
 */
const SP = 0x20;
const DASH = 0x2d;
const COLON = 0x3a;
const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** `[A-Za-z0-9_.-]`: the characters of a key after its first. */
const isKeyChar = (c: number): boolean =>
  isLetter(c) || isDigit(c) || c === 0x5f || c === 0x2e || c === DASH;

/** Whether `line` starts with `n` spaces. */
function indentedBy(line: string, n: number): boolean {
  for (let i = 0; i < n; i++) if (line.charCodeAt(i) !== SP) return false;
  return true;
}

/** Where the colon of `key:` starting at `from` is (`[A-Za-z_][A-Za-z0-9_.-]*:`), else -1. */
function keyEnd(line: string, from: number): number {
  const c = line.charCodeAt(from);
  if (!isLetter(c) && c !== 0x5f) return -1;
  let i = from + 1;
  while (isKeyChar(line.charCodeAt(i))) i += 1;
  return line.charCodeAt(i) === COLON ? i : -1;
}

/**
 * The keys of a grant file (GRANT_SCHEMA's), by length. A key read as one of these constants
 * rather than cut from the line is not a new string for every line of every file, and a
 * property lookup with it needs no hashing.
 */
const KNOWN_KEYS: string[][] = [];
for (const key of [
  'id',
  'resource',
  'status',
  'requester',
  'login',
  'duration',
  'justification',
  'ticket',
  'source',
  'issue',
  'pull_request',
  'policy_commit',
  'requested_at',
  'start_at',
  'extends',
  'break_glass',
  'reason',
  'approval',
  'approved_at',
  'rule',
  'approvers',
  'review_id',
  'via',
  'merge_commit',
  'issued_at',
  'expires_at',
  'revoke_requested',
  'by',
  'at',
  'ended_at',
  'end_reason',
  'issued',
])
  (KNOWN_KEYS[key.length] ??= []).push(key);

/** The known key `line` holds at `[from, end)`, if it is one. */
function knownKey(line: string, from: number, end: number): string | undefined {
  const candidates = KNOWN_KEYS[end - from];
  if (candidates === undefined) return undefined;
  next: for (const key of candidates) {
    for (let i = 0; i < key.length; i++)
      if (line.charCodeAt(from + i) !== key.charCodeAt(i)) continue next;
    return key;
  }
  return undefined;
}

const isSpecialKey = (key: string): boolean =>
  key === '__proto__' || ((key.length === 4 || key.length === 5) && SPECIAL_KEY.test(key));

/**
 * `[A-Za-z][A-Za-z0-9_.@/()+-]*` (the first character is checked by the caller): none of the
 * core schema's numbers, nulls or booleans but the few `isSpecialWord` names, and no indicator,
 * comment or `: ` inside, so it is text. Most values in a grant file are such.
 */
function isSimpleText(text: string): boolean {
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isLetter(c) || isDigit(c)) continue;
    // _ . @ / ( ) + -
    if (c === 0x5f || c === 0x2e || c === 0x40 || c === 0x2f || c === 0x28 || c === 0x29) continue;
    if (c === 0x2b || c === DASH) continue;
    return false;
  }
  return true;
}

const isSpecialWord = (text: string): boolean =>
  (text.length === 4 || text.length === 5) && SPECIAL_PLAIN.test(text);

/**
 * `[0-9][0-9a-z]*` not starting `0x` or `0o`, holding a letter no other number of the core
 * schema can hold (any but `e`, `o`, `x`): text, as a duration (`4h`) or a commit id usually is. The rest of INTEGER,
 * NUMBER_LIKE and the plain-scalar checks cannot apply to it: no sign, dot, space or indicator.
 */
function isDigitLedWord(text: string): boolean {
  // `0x…` and `0o…` are the core schema's hexadecimal and octal numbers.
  const second = text.charCodeAt(1);
  if (text.charCodeAt(0) === 0x30 && (second === 0x78 || second === 0x6f)) return false;
  let letter = false;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) continue;
    if (c < 0x61 || c > 0x7a) return false;
    if (c !== 0x65 && c !== 0x6f && c !== 0x78) letter = true;
  }
  return letter;
}

/** INTEGER (`0`, or 1 to 15 digits without a leading zero) for a text starting with a digit. */
function isSmallInteger(text: string): boolean {
  const n = text.length;
  if (n > 15 || (n > 1 && text.charCodeAt(0) === 0x30)) return false;
  for (let i = 1; i < n; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.mmm]Z` by shape (what `toISOString` writes): plain text to the core
 * schema (no number, null or boolean looks like it, and it holds no space, `#` or `: `). The
 * values are not checked here; the schema and `grantProblems` do that.
 */
function isCanonicalTime(t: string): boolean {
  const n = t.length;
  if (n !== 20 && n !== 24) return false;
  for (let i = 0; i < n - 1; i++) {
    const c = t.charCodeAt(i);
    const want =
      i === 4 || i === 7
        ? DASH
        : i === 10
          ? 0x54
          : i === 13 || i === 16
            ? COLON
            : i === 19
              ? 0x2e
              : 0;
    if (want === 0 ? !isDigit(c) : c !== want) return false;
  }
  return t.charCodeAt(n - 1) === 0x5a;
}

const NO = Symbol('not in the serialized form');
type Value = string | number | boolean | Value[] | { [key: string]: Value };

/** What the YAML library reads from a file in `serializeGrant`'s form; null for any other text. */
export function readSerializedGrant(text: string): unknown {
  if (text.length > MAX_GRANT_BYTES || !text.startsWith(HEADER) || !text.endsWith('\n'))
    return null;
  if (Buffer.byteLength(text, 'utf8') > MAX_GRANT_BYTES || UNPRINTABLE.test(text)) return null;
  const lines = text.slice(HEADER.length, -1).split('\n');
  const reader = new Reader(lines);
  const value = reader.map(0, 0);
  return value === NO || reader.at !== lines.length ? null : value;
}

class Reader {
  at = 0;
  constructor(private readonly lines: string[]) {}

  /**
   * A block mapping whose keys start at column `indent`. With `dashed`, its first line is a
   * sequence item's (`- key: …`, the dash two columns left of `indent`), already checked by `seq`.
   */
  map(indent: number, depth: number, dashed = false): Value | typeof NO {
    if (depth > MAX_DEPTH) return NO;
    const out: { [key: string]: Value } = {};
    let keys = 0;
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (!(dashed && keys === 0) && (!indentedBy(line, indent) || line.charCodeAt(indent) === SP))
        break;
      // `key:` then the end of the line or a space (KEY, by hand: this runs on every line).
      const colon = keyEnd(line, indent);
      if (colon < 0) return NO;
      const known = knownKey(line, indent, colon);
      const key = known ?? line.slice(indent, colon);
      // A known key is no property of Object.prototype, and no value is undefined.
      if (
        known !== undefined
          ? out[known] !== undefined
          : isSpecialKey(key) || Object.hasOwn(out, key)
      )
        return NO;
      this.at += 1;
      let value: Value | typeof NO;
      if (colon + 1 === line.length) value = this.nested(indent, depth);
      else if (line.charCodeAt(colon + 1) === SP)
        value = this.scalar(line.slice(colon + 2), indent);
      else return NO;
      if (value === NO) return NO;
      out[key] = value;
      keys += 1;
    }
    return keys === 0 ? NO : out;
  }

  /** What follows `key:` at the end of a line: a mapping or a sequence two columns in. */
  private nested(indent: number, depth: number): Value | typeof NO {
    const line = this.lines[this.at];
    if (line === undefined || !indentedBy(line, indent + 2) || line.charCodeAt(indent + 2) === SP)
      return NO;
    return line.startsWith('- ', indent + 2)
      ? this.seq(indent + 2, depth + 1)
      : this.map(indent + 2, depth + 1);
  }

  /** A block sequence whose dashes are at column `indent`. */
  private seq(indent: number, depth: number): Value | typeof NO {
    if (depth > MAX_DEPTH) return NO;
    const out: Value[] = [];
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (
        !indentedBy(line, indent) ||
        line.charCodeAt(indent) !== DASH ||
        line.charCodeAt(indent + 1) !== SP
      )
        break;
      const from = indent + 2;
      const colon = keyEnd(line, from);
      let item: Value | typeof NO;
      if (colon >= 0 && (colon + 1 === line.length || line.charCodeAt(colon + 1) === SP)) {
        // `- key: value`: a mapping whose first key shares the dash's line.
        item = this.map(from, depth + 1, true);
      } else {
        this.at += 1;
        const rest = line.slice(from);
        item = rest.startsWith('|') ? NO : this.scalar(rest, indent);
      }
      if (item === NO) return NO;
      out.push(item);
    }
    return out;
  }

  /** The text after `key: ` (a literal block continues on the next lines). */
  scalar(text: string, indent: number): Value | typeof NO {
    const first = text.charCodeAt(0);
    if (isLetter(first)) {
      if (isSimpleText(text) && !isSpecialWord(text)) return standalone(text);
    } else if (isDigit(first)) {
      if (isCanonicalTime(text) || isDigitLedWord(text)) return standalone(text);
      if (isSmallInteger(text)) return Number(text);
    }
    if (text === '{}') return {};
    if (text === '[]') return [];
    if (text === '|-' || text === '|') return this.literal(indent + 2, text === '|');
    if (text.startsWith('"')) {
      const m = /^"((?:[^"\\]|\\["\\nt])*)"$/.exec(text);
      return m
        ? standalone(m[1]!).replace(/\\(.)/g, (_, c: string) =>
            c === 'n' ? '\n' : c === 't' ? '\t' : c,
          )
        : NO;
    }
    if (text.startsWith("'")) {
      const m = /^'((?:[^']|'')*)'$/.exec(text);
      return m ? standalone(m[1]!).replace(/''/g, "'") : NO;
    }
    if (INTEGER.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    if (
      !PLAIN_START.test(text) ||
      NUMBER_LIKE.test(text) ||
      SPECIAL_PLAIN.test(text) ||
      /^\s|\s$|\s#/.test(text) ||
      text.endsWith(':') ||
      text.includes(': ') ||
      text.includes(' #') ||
      text.includes('\t')
    )
      return NO;
    return standalone(text);
  }

  /** A `|-` (or `|`) block: every line blank or indented by exactly `indent` at least. */
  private literal(indent: number, keepOne: boolean): Value | typeof NO {
    const pad = ' '.repeat(indent);
    const body: string[] = [];
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (line !== '' && !line.startsWith(pad)) break;
      body.push(line.slice(indent));
      this.at += 1;
    }
    // The first line fixes the indentation: it must be the one YAML would detect.
    if (body.length === 0 || body[0] === '' || /^\s/.test(body[0]!)) return NO;
    if (/^\s*$/.test(body[body.length - 1]!)) return NO;
    return body.join('\n') + (keepOne ? '\n' : '');
  }
}
