import { GitError } from '../core/errors.js';
import type { HistoryCommit, HistoryOptions, RawChange } from '../core/ports.js';

/**
 * The `git log` an audit replays, and its reader. The command line is exported so the bench's
 * baseline can run exactly what the audit runs (docs/performance.md: a baseline an outsider
 * would accept), and the reader is pure so it can be tested on any byte stream.
 */

/**
 * Arguments after `git` (and its `-c` config) for the commits of `options`: each record is the
 * marker, then sha, parents, author name and email, committer name and email, committer date
 * and the raw message, NUL-terminated, then git's own NUL and the `--raw` lines of the changed
 * paths (`:<mode> <mode> <old> <new> <status>` NUL path NUL).
 */
export function historyLogArgs(options: HistoryOptions, marker: string): string[] {
  return [
    'log',
    '-z',
    '--no-renames',
    '--raw',
    '--no-abbrev',
    `--format=${marker}%x00%H%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B%x00`,
    ...(options.firstParent ? ['--first-parent'] : []),
    ...(options.reverse ? ['--reverse'] : []),
    '--end-of-options',
    options.rev ?? 'HEAD',
    '--',
    ...(options.paths ?? []),
  ];
}

/** sha, parents, author name, author email, committer name, committer email, date, message. */
const FIELDS = 8;
const NUL = 0;
const LF = 10;
const EMPTY = Buffer.alloc(0);

/**
 * `:<mode> <mode> <old> <new> <status>[<score>]` in `buf[start, end)`, RAW's form
 * (`^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*$`) read by position: a log has one such line per
 * changed path, and a string and a match for each was a good part of reading it.
 */
function readRaw(buf: Buffer, start: number, end: number): Omit<RawChange, 'path'> | null {
  if (buf[start] !== COLON) return null;
  const mode1 = skip(buf, start + 1, end, DIGITS);
  if (mode1 === start + 1 || buf[mode1] !== SPACE) return null;
  const mode2 = skip(buf, mode1 + 1, end, DIGITS);
  if (mode2 === mode1 + 1 || buf[mode2] !== SPACE) return null;
  const oldFrom = mode2 + 1;
  const oldTo = skip(buf, oldFrom, end, HEX);
  if (oldTo === oldFrom || buf[oldTo] !== SPACE) return null;
  const newFrom = oldTo + 1;
  const newTo = skip(buf, newFrom, end, HEX);
  if (newTo === newFrom || buf[newTo] !== SPACE) return null;
  const status = buf[newTo + 1]!;
  if (newTo + 1 >= end || status < 0x41 || status > 0x5a) return null;
  if (skip(buf, newTo + 2, end, DIGITS) !== end) return null;
  return {
    oldBlob: buf.toString('latin1', oldFrom, oldTo),
    newBlob: buf.toString('latin1', newFrom, newTo),
    status: String.fromCharCode(status),
  };
}

const COLON = 0x3a;
const SPACE = 0x20;
const DIGITS = 0;
const HEX = 1;

/** Where the run of digits (or lowercase hex digits) from `at` ends, at most `end`. */
function skip(buf: Buffer, at: number, end: number, kind: typeof DIGITS | typeof HEX): number {
  while (at < end) {
    const c = buf[at]!;
    if (!((c >= 0x30 && c <= 0x39) || (kind === HEX && c >= 0x61 && c <= 0x66))) break;
    at += 1;
  }
  return at;
}

/**
 * Reads `historyLogArgs` output as it arrives, in one pass over the bytes: a field is decoded
 * only once its terminating NUL is in, so a chunk may end anywhere (inside a UTF-8 character
 * too), and only the unfinished field is carried over to the next chunk. Memory holds one
 * chunk and the commit being read, however long the log.
 *
 * The marker (random per run) starts every record, so a message cannot pass for a record
 * boundary: messages and paths are taken by position, and the marker is only looked for where
 * a record may start. Anything else where a `--raw` line belongs is refused (GitError) rather
 * than skipped: an audit must not drop a change it cannot read.
 */
export class HistoryLogParser {
  private readonly marker: Buffer;
  private rest: Buffer = EMPTY;
  /** Fields of the commit being read, until all FIELDS are in. */
  private fields: string[] = [];
  private current: HistoryCommit | null = null;
  /** The `--raw` line whose path comes next. */
  private raw: Omit<RawChange, 'path'> | null = null;
  private started = false;

  constructor(marker: string) {
    this.marker = Buffer.from(marker, 'latin1');
  }

  /** Commits completed by this chunk, oldest in the log first. */
  push(chunk: Buffer): HistoryCommit[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const done: HistoryCommit[] = [];
    let at = 0;
    for (;;) {
      const end = buf.indexOf(NUL, at);
      if (end < 0) break;
      const finished = this.token(buf, at, end);
      if (finished) done.push(finished);
      at = end + 1;
    }
    // A view, not a copy: it keeps one chunk alive until the next arrives.
    this.rest = at === buf.length ? EMPTY : buf.subarray(at);
    return done;
  }

  /** The last commit, once the output has ended. */
  end(): HistoryCommit | null {
    if (this.rest.length) {
      const buf = this.rest;
      this.rest = EMPTY;
      const finished = this.token(buf, 0, buf.length);
      if (finished) throw new GitError('git log: unexpected output at the end of the log');
    }
    if (this.raw) throw new GitError('git log: a changed path is missing at the end of the log');
    if (this.started && !this.current) throw new GitError('git log: the last commit is truncated');
    const last = this.current;
    this.current = null;
    return last;
  }

  /** One NUL-terminated field, `buf[start, end)`; returns a commit when this field ends one. */
  private token(buf: Buffer, start: number, end: number): HistoryCommit | null {
    if (!this.current && this.started) {
      this.field(buf, start, end);
      return null;
    }
    if (this.raw) {
      const { oldBlob, newBlob, status } = this.raw;
      this.current!.changes.push({
        oldBlob,
        newBlob,
        status,
        path: buf.toString('utf8', start, end),
      });
      this.raw = null;
      return null;
    }
    if (end === start) return null; // git's own NUL after the message
    if (
      end - start === this.marker.length &&
      buf.compare(this.marker, 0, this.marker.length, start, end) === 0
    ) {
      const finished = this.current;
      this.current = null;
      this.fields = [];
      this.started = true;
      return finished;
    }
    if (!this.current) throw new GitError('git log: output does not start with a record');
    // `:100644 100644 <old> <new> M`, after a newline that separates it from the message.
    const from = buf[start] === LF ? start + 1 : start;
    const raw = readRaw(buf, from, end);
    if (!raw)
      throw new GitError(
        `git log: unexpected output "${buf.toString('latin1', from, end).slice(0, 80)}"`,
      );
    this.raw = raw;
    return null;
  }

  private field(buf: Buffer, start: number, end: number): void {
    const i = this.fields.length;
    if (i === FIELDS - 1) {
      // The message without its trailing newlines, trimmed before decoding.
      let stop = end;
      while (stop > start && buf[stop - 1] === LF) stop -= 1;
      const [sha, parents, an, ae, cn, ce, committedAt] = this.fields as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      this.current = {
        sha,
        parents: parents ? parents.split(' ') : [],
        author: { name: an, email: ae },
        committer: { name: cn, email: ce },
        committedAt,
        message: buf.toString('utf8', start, stop),
        changes: [],
      };
      return;
    }
    // Ids, parents and the date are ASCII; names and emails may be anything.
    const ascii = i <= 1 || i === 6;
    this.fields.push(buf.toString(ascii ? 'latin1' : 'utf8', start, end));
  }
}
