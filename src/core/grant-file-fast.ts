import type { Grant } from './grant.js';
import { HEADER, MAX_GRANT_BYTES, grantFromValue, parseGrant } from './grant-file.js';
import type { Result } from './problem.js';

/**
 * `parseGrant` for the many versions an audit reads. Files in the exact form `serializeGrant`
 * writes are read without the YAML library (ten times faster than it) and then validated
 * exactly as `parseGrant` validates them; anything else, and anything the validation refuses,
 * goes through `parseGrant` itself. So the result is always the one `parseGrant` gives.
 */
export function parseGrantFast(text: string, file: string): Result<Grant> {
  const value = readSerializedGrant(text);
  if (value !== null) {
    const grant = grantFromValue(value, file, { value, lineOf: () => undefined });
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
const KEY = /^([A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?$/;
/** KEY read from `lastIndex` on (no copy of the line's indentation-free rest). */
const KEY_AT = /([A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?$/y;
/** Indentation strings by width: the reader asks for the same few many times per file. */
const PADS = Array.from({ length: 2 * MAX_DEPTH + 4 }, (_, i) => ' '.repeat(i));
const spaces = (n: number): string => PADS[n] ?? ' '.repeat(n);
/**
 * A plain scalar of letters, digits and `_.@/()+-` that starts with a letter: none of the core
 * schema's numbers, nulls or booleans but the few SPECIAL_PLAIN spells out, and no indicator,
 * comment or `: ` inside, so it is text. Most values in a grant file are such.
 */
const SIMPLE_TEXT = /^[A-Za-z][A-Za-z0-9_.@/()+-]*$/;
/** Keys the core schema would read as null or a boolean rather than as text. */
const SPECIAL_KEY = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;
const INTEGER = /^(?:0|-?[1-9][0-9]{0,14})$/;
/** A plain scalar starting with anything else might be an indicator: not ours. */
const PLAIN_START = /^[A-Za-z0-9_\u{80}-\u{10ffff}]/u;
/** The core schema's numbers (yaml/dist/schema/core): text that looks like one is not text. */
const NUMBER_LIKE =
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/;
const SPECIAL_PLAIN = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

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

  /** A block mapping whose keys start at column `indent`. */
  map(indent: number, depth: number): Value | typeof NO {
    if (depth > MAX_DEPTH) return NO;
    const out: { [key: string]: Value } = {};
    const pad = spaces(indent);
    let keys = 0;
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (!line.startsWith(pad) || line[indent] === ' ') break;
      KEY_AT.lastIndex = indent;
      const m = KEY_AT.exec(line);
      if (!m) return NO;
      const key = m[1]!;
      if (SPECIAL_KEY.test(key) || key === '__proto__' || Object.hasOwn(out, key)) return NO;
      this.at += 1;
      const value = m[2] === undefined ? this.nested(indent, depth) : this.scalar(m[2], indent);
      if (value === NO) return NO;
      out[key] = value;
      keys += 1;
    }
    return keys === 0 ? NO : out;
  }

  /** What follows `key:` at the end of a line: a mapping or a sequence two columns in. */
  private nested(indent: number, depth: number): Value | typeof NO {
    const line = this.lines[this.at];
    const inner = spaces(indent + 2);
    if (line === undefined || !line.startsWith(inner) || line[indent + 2] === ' ') return NO;
    return line.startsWith('- ', indent + 2)
      ? this.seq(indent + 2, depth + 1)
      : this.map(indent + 2, depth + 1);
  }

  /** A block sequence whose dashes are at column `indent`. */
  private seq(indent: number, depth: number): Value | typeof NO {
    if (depth > MAX_DEPTH) return NO;
    const out: Value[] = [];
    const dash = `${spaces(indent)}- `;
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (!line.startsWith(dash)) break;
      const rest = line.slice(dash.length);
      let item: Value | typeof NO;
      if (KEY.test(rest)) {
        // `- key: value`: a mapping whose first key shares the dash's line.
        this.lines[this.at] = spaces(indent + 2) + rest;
        item = this.map(indent + 2, depth + 1);
      } else {
        this.at += 1;
        item = rest.startsWith('|') ? NO : this.scalar(rest, indent);
      }
      if (item === NO) return NO;
      out.push(item);
    }
    return out;
  }

  /** The text after `key: ` (a literal block continues on the next lines). */
  scalar(text: string, indent: number): Value | typeof NO {
    if (SIMPLE_TEXT.test(text) && !SPECIAL_PLAIN.test(text) && text !== 'true' && text !== 'false')
      return text;
    if (text === '{}') return {};
    if (text === '[]') return [];
    if (text === '|-' || text === '|') return this.literal(indent + 2, text === '|');
    if (text.startsWith('"')) {
      const m = /^"((?:[^"\\]|\\["\\nt])*)"$/.exec(text);
      return m
        ? m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c))
        : NO;
    }
    if (text.startsWith("'")) {
      const m = /^'((?:[^']|'')*)'$/.exec(text);
      return m ? m[1]!.replace(/''/g, "'") : NO;
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
    return text;
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
