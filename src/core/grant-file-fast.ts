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
const PIPE = 0x7c;
const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** `[A-Za-z0-9_.-]`: the characters of a key after its first. */
const isKeyChar = (c: number): boolean =>
  isLetter(c) || isDigit(c) || c === 0x5f || c === 0x2e || c === DASH;

/**
 * The keys of a grant file (GRANT_SCHEMA's), by length. A key read as one of these constants
 * rather than cut from the line is not a new string for every line of every file, and a
 * property lookup with it needs no hashing.
 */
const KEYS: readonly string[] = [
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
];
/** Indexes into KEYS by key length. */
const KEYS_BY_LENGTH: number[][] = [];
KEYS.forEach((key, i) => (KEYS_BY_LENGTH[key.length] ??= []).push(i));

/** The index in KEYS of the key `text` holds at `[from, end)`, or -1. */
function knownKey(text: string, from: number, end: number): number {
  const candidates = KEYS_BY_LENGTH[end - from];
  if (candidates === undefined) return -1;
  next: for (const k of candidates) {
    const key = KEYS[k]!;
    for (let i = 0; i < key.length; i++)
      if (text.charCodeAt(from + i) !== key.charCodeAt(i)) continue next;
    return k;
  }
  return -1;
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
  const reader = new Reader(text, HEADER.length);
  const value = reader.map(0, 0);
  return value === NO || reader.at !== reader.count ? null : value;
}

/**
 * Reads the lines of `text` from `from` on (each ends with a newline, the text too), by position:
 * line `i` is `text[starts[i], starts[i + 1] - 1)`, and the character after a line is always
 * its newline. No string per line.
 */
class Reader {
  at = 0;
  readonly count: number;
  private readonly starts: number[] = [];

  constructor(
    private readonly text: string,
    from: number,
  ) {
    for (let i = from; i < text.length; i = text.indexOf('\n', i) + 1) this.starts.push(i);
    this.count = this.starts.length;
    this.starts.push(text.length);
  }

  private start(i: number): number {
    return this.starts[i]!;
  }

  private end(i: number): number {
    return this.starts[i + 1]! - 1;
  }

  /** Whether line `i` starts with `n` spaces. */
  private indentedBy(i: number, n: number): boolean {
    const s = this.start(i);
    if (this.end(i) - s < n) return false;
    for (let k = s; k < s + n; k++) if (this.text.charCodeAt(k) !== SP) return false;
    return true;
  }

  /** The character at column `col` of line `i` (NaN past its end, as `charCodeAt` gives). */
  private charAt(i: number, col: number): number {
    const at = this.start(i) + col;
    return at < this.end(i) ? this.text.charCodeAt(at) : NaN;
  }

  /** The column of the colon of `key:` at column `col` of line `i`, else -1. */
  private keyEnd(i: number, col: number): number {
    const s = this.start(i);
    const e = this.end(i);
    const c = s + col < e ? this.text.charCodeAt(s + col) : NaN;
    if (!isLetter(c) && c !== 0x5f) return -1;
    let k = s + col + 1;
    while (k < e && isKeyChar(this.text.charCodeAt(k))) k += 1;
    return k < e && this.text.charCodeAt(k) === COLON ? k - s : -1;
  }

  /** Line `i` from column `col` to its end. */
  private rest(i: number, col: number): string {
    return this.text.slice(this.start(i) + col, this.end(i));
  }

  /**
   * A block mapping whose keys start at column `indent`. With `dashed`, its first line is a
   * sequence item's (`- key: …`, the dash two columns left of `indent`), already checked by `seq`.
   */
  map(indent: number, depth: number, dashed = false): Value | typeof NO {
    if (depth > MAX_DEPTH) return NO;
    const out: { [key: string]: Value } = {};
    let keys = 0;
    let seen = 0;
    while (this.at < this.count) {
      const i = this.at;
      if (!(dashed && keys === 0) && (!this.indentedBy(i, indent) || this.charAt(i, indent) === SP))
        break;
      // `key:` then the end of the line or a space (KEY, by hand: this runs on every line).
      const colon = this.keyEnd(i, indent);
      if (colon < 0) return NO;
      const s = this.start(i);
      const known = knownKey(this.text, s + indent, s + colon);
      const key = known >= 0 ? KEYS[known]! : this.text.slice(s + indent, s + colon);
      // Known keys seen so far are bits of `seen` (a 33rd key would share a bit: a false
      // duplicate, read by the YAML library instead, never a duplicate missed).
      if (known >= 0 ? (seen & (1 << known)) !== 0 : isSpecialKey(key) || Object.hasOwn(out, key))
        return NO;
      if (known >= 0) seen |= 1 << known;
      this.at += 1;
      let value: Value | typeof NO;
      if (s + colon + 1 === this.end(i)) value = this.nested(indent, depth);
      else if (this.charAt(i, colon + 1) === SP)
        value = this.scalar(this.rest(i, colon + 2), indent);
      else return NO;
      if (value === NO) return NO;
      out[key] = value;
      keys += 1;
    }
    return keys === 0 ? NO : out;
  }

  /** What follows `key:` at the end of a line: a mapping or a sequence two columns in. */
  private nested(indent: number, depth: number): Value | typeof NO {
    const i = this.at;
    if (i >= this.count || !this.indentedBy(i, indent + 2) || this.charAt(i, indent + 2) === SP)
      return NO;
    return this.charAt(i, indent + 2) === DASH && this.charAt(i, indent + 3) === SP
      ? this.seq(indent + 2, depth + 1)
      : this.map(indent + 2, depth + 1);
  }

  /** A block sequence whose dashes are at column `indent`. */
  private seq(indent: number, depth: number): Value | typeof NO {
    if (depth > MAX_DEPTH) return NO;
    const out: Value[] = [];
    while (this.at < this.count) {
      const i = this.at;
      if (
        !this.indentedBy(i, indent) ||
        this.charAt(i, indent) !== DASH ||
        this.charAt(i, indent + 1) !== SP
      )
        break;
      const from = indent + 2;
      const colon = this.keyEnd(i, from);
      let item: Value | typeof NO;
      if (
        colon >= 0 &&
        (this.start(i) + colon + 1 === this.end(i) || this.charAt(i, colon + 1) === SP)
      ) {
        // `- key: value`: a mapping whose first key shares the dash's line.
        item = this.map(from, depth + 1, true);
      } else {
        this.at += 1;
        item = this.charAt(i, from) === PIPE ? NO : this.scalar(this.rest(i, from), indent);
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
    const body: string[] = [];
    while (this.at < this.count) {
      const i = this.at;
      const empty = this.start(i) === this.end(i);
      if (!empty && !this.indentedBy(i, indent)) break;
      body.push(empty ? '' : this.rest(i, indent));
      this.at += 1;
    }
    // The first line fixes the indentation: it must be the one YAML would detect.
    if (body.length === 0 || body[0] === '' || /^\s/.test(body[0]!)) return NO;
    if (/^\s*$/.test(body[body.length - 1]!)) return NO;
    return body.join('\n') + (keepOne ? '\n' : '');
  }
}
