import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { GitError } from '../../src/core/errors.js';
import type { HistoryCommit, RawChange } from '../../src/core/ports.js';
import { GitRepo } from '../../src/git/git-repo.js';
import { HistoryLogParser, historyLogArgs } from '../../src/git/history-log.js';

const MARKER = 'gatepass-0123456789abcdef01234567';

/**
 * The reader as it was before the one-pass parser: the whole output as text, split on NUL,
 * fields by position and `--raw` lines by pattern. Slow, and plainly right.
 */
function reference(output: string, marker: string): HistoryCommit[] {
  const out: HistoryCommit[] = [];
  let fields: string[] | null = null;
  let current: HistoryCommit | null = null;
  let raw: Omit<RawChange, 'path'> | null = null;
  for (const token of output.split('\0')) {
    // Fields and changed paths are taken by position even when they spell the marker (the
    // earlier reader checked the marker first: harmless with a random marker, wrong all the same).
    if (fields) {
      fields.push(token);
      if (fields.length === 8) {
        const [sha, parents, an, ae, cn, ce, committedAt, message] = fields as string[];
        current = {
          sha: sha!,
          parents: parents ? parents.split(' ') : [],
          author: { name: an!, email: ae! },
          committer: { name: cn!, email: ce! },
          committedAt: committedAt!,
          message: message!.replace(/\n+$/, ''),
          changes: [],
        };
        fields = null;
      }
      continue;
    }
    if (current && raw) {
      current.changes.push({ ...raw, path: token });
      raw = null;
      continue;
    }
    if (token === marker) {
      if (current) out.push(current);
      current = null;
      fields = [];
      continue;
    }
    const m = /^\n?:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*$/.exec(token);
    if (m) raw = { oldBlob: m[1]!, newBlob: m[2]!, status: m[3]! };
  }
  if (current) out.push(current);
  return out;
}

/** Feeds `bytes` to a fresh parser in pieces cut at `cuts` (anywhere, inside a character too). */
function parseInPieces(bytes: Buffer, cuts: number[], marker = MARKER): HistoryCommit[] {
  const parser = new HistoryLogParser(marker);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: HistoryCommit[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    out.push(...parser.push(bytes.subarray(from, to)));
    from = to;
  }
  const last = parser.end();
  if (last) out.push(last);
  return out;
}

// Git's output for one commit, as `historyLogArgs` asks for it (checked against real git below).
interface Change {
  status: 'A' | 'M' | 'D' | 'T';
  score: string;
  oldBlob: string;
  newBlob: string;
  path: string;
}
interface Commit {
  sha: string;
  parents: string[];
  an: string;
  ae: string;
  cn: string;
  ce: string;
  date: string;
  message: string;
  changes: Change[];
}
const render = (commits: Commit[], marker = MARKER): Buffer =>
  Buffer.from(
    commits
      .map(
        (c) =>
          `${marker}\0${c.sha}\0${c.parents.join(' ')}\0${c.an}\0${c.ae}\0${c.cn}\0${c.ce}\0` +
          `${c.date}\0${c.message}\n\0\0` +
          (c.changes.length ? '\n' : '') +
          c.changes
            .map(
              (ch) =>
                `:${ch.status === 'A' ? '000000' : '100644'} ${ch.status === 'D' ? '000000' : '100755'} ` +
                `${ch.oldBlob} ${ch.newBlob} ${ch.status}${ch.score}\0${ch.path}\0`,
            )
            .join(''),
      )
      .join(''),
    'utf8',
  );

const hex = (n: number) =>
  fc
    .array(fc.constantFrom(...'0123456789abcdef'), { minLength: n, maxLength: n })
    .map((a) => a.join(''));
/** Text without NUL (git's output has none inside a field), rich in what trips parsers. */
const oddText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.constantFrom(
        '\n',
        '\n\n',
        ' ',
        '"',
        "'",
        '\\',
        ':100644 100644 ',
        MARKER,
        'gatepass-',
        'Gatepass-Grant: g1',
        'é',
        '日本',
        '🔑',
        '\t',
        '\r\n',
      ),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join('').replace(/\0/g, ''));
const change: fc.Arbitrary<Change> = fc.record({
  status: fc.constantFrom('A', 'M', 'D', 'T'),
  score: fc.constantFrom('', '', '100'),
  oldBlob: fc.oneof(hex(40), fc.constant('0'.repeat(40)), hex(64)),
  newBlob: fc.oneof(hex(40), fc.constant('0'.repeat(40)), hex(64)),
  path: oddText.filter((p) => p !== ''),
});
const commit: fc.Arbitrary<Commit> = fc.record({
  sha: hex(40),
  // A root commit, a plain one, a merge (shown against its first parent).
  parents: fc.array(hex(40), { maxLength: 2 }),
  an: oddText,
  ae: oddText,
  cn: oddText,
  ce: oddText,
  date: fc.constantFrom('2030-01-01T00:00:00+00:00', '2030-06-30T23:59:59-07:00'),
  message: oddText,
  // An empty commit has no `--raw` lines at all.
  changes: fc.array(change, { maxLength: 4 }),
});

describe('HistoryLogParser', () => {
  it('agrees with the reference reader on random logs, however the output is cut', () => {
    fc.assert(
      fc.property(
        fc.array(commit, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (commits, cuts) => {
          const bytes = render(commits);
          const expected = reference(bytes.toString('utf8'), MARKER);
          expect(parseInPieces(bytes, cuts)).toEqual(expected);
          // And the reference itself reads back what was written.
          expect(expected.map((c) => [c.sha, c.message, c.changes.map((x) => x.path)])).toEqual(
            commits.map((c) => [
              c.sha,
              c.message.replace(/\n+$/, ''),
              c.changes.map((x) => x.path),
            ]),
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reads a log fed one byte at a time', () => {
    const [sample] = fc.sample(fc.array(commit, { minLength: 3, maxLength: 3 }), {
      seed: 17,
      numRuns: 1,
    });
    const bytes = render(sample!);
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    expect(parseInPieces(bytes, cuts)).toEqual(reference(bytes.toString('utf8'), MARKER));
  });

  it('does not take a message or a path that spells the marker for a record boundary', () => {
    const forged: Commit = {
      sha: 'a'.repeat(40),
      parents: [],
      an: 'x',
      ae: 'x@example.com',
      cn: 'x',
      ce: 'x@example.com',
      date: '2030-01-01T00:00:00+00:00',
      message: MARKER,
      changes: [
        { status: 'A', score: '', oldBlob: '0'.repeat(40), newBlob: 'b'.repeat(40), path: MARKER },
      ],
    };
    const [c] = parseInPieces(render([forged]), []);
    expect(c).toMatchObject({
      message: MARKER,
      changes: [{ path: MARKER, newBlob: 'b'.repeat(40) }],
    });
  });

  it('refuses output it cannot read instead of dropping a change', () => {
    const good = render([
      {
        sha: 'a'.repeat(40),
        parents: [],
        an: 'x',
        ae: 'x@example.com',
        cn: 'x',
        ce: 'x@example.com',
        date: '2030-01-01T00:00:00+00:00',
        message: 'm',
        changes: [
          {
            status: 'M',
            score: '',
            oldBlob: 'c'.repeat(40),
            newBlob: 'd'.repeat(40),
            path: 'grants/p/g.yaml',
          },
        ],
      },
    ]).toString('utf8');
    const bad = (text: string) => () => parseInPieces(Buffer.from(text, 'utf8'), []);
    // Where a `--raw` line belongs: something else.
    expect(bad(good.replace(':100644', ':what'))).toThrow(GitError);
    // Output that does not begin with a record.
    expect(bad(`noise\0${good}`)).toThrow(GitError);
    // Cut off inside a record, or before a changed path.
    expect(bad(good.slice(0, good.indexOf('m\n')))).toThrow(GitError);
    expect(bad(good.slice(0, good.lastIndexOf('grants/')))).toThrow(GitError);
    expect(parseInPieces(Buffer.alloc(0), [])).toEqual([]);
  });

  it('reads a `--raw` line exactly when the pattern does, and refuses it otherwise', () => {
    const commit: Commit = {
      sha: 'a'.repeat(40),
      parents: [],
      an: 'x',
      ae: 'x@example.com',
      cn: 'x',
      ce: 'x@example.com',
      date: '2030-01-01T00:00:00+00:00',
      message: 'm',
      changes: [
        {
          status: 'M',
          score: '',
          oldBlob: 'c'.repeat(40),
          newBlob: 'd'.repeat(40),
          path: 'grants/p/g.yaml',
        },
      ],
    };
    const good = render([commit]).toString('latin1');
    const from = good.indexOf(':100644');
    const to = good.indexOf('\0', from);
    const edit = fc.tuple(
      fc.nat(),
      fc.oneof(fc.nat({ max: 2 }), fc.constant(6)),
      fc.constantFrom('', '0', '7', 'a', 'f', 'g', 'A', 'M', 'Z', ' ', ':', '\n', 'é'),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let line = good.slice(from, to);
        for (const [at, del, insert] of edits) {
          const i = at % (line.length + 1);
          line = line.slice(0, i) + insert + line.slice(i + del);
        }
        if (line.includes('\0')) return;
        const text = good.slice(0, from) + line + good.slice(to);
        const m = /^\n?:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*$/.exec(line);
        const read = () => parseInPieces(Buffer.from(text, 'latin1'), []);
        if (!m) return expect(read).toThrow(GitError);
        expect(read()[0]!.changes).toEqual([
          { oldBlob: m[1], newBlob: m[2], status: m[3], path: 'grants/p/g.yaml' },
        ]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('HistoryLogParser on real git output', () => {
  it('reads odd paths, merges, deletions and empty commits as the reference does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-history-log-'));
    try {
      const git = (...args: string[]) =>
        execFileSync(
          'git',
          ['-c', 'user.name=Zoë "Q" Ünïcode', '-c', 'user.email=z@example.com', ...args],
          {
            cwd: dir,
          },
        ).toString();
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      };
      git('init', '--quiet', '-b', 'main');
      const odd = [
        'grants/p/with space.yaml',
        'grants/p/"quoted".yaml',
        'grants/p/日本語.yaml',
        'grants/p/new\nline.yaml',
        'grants/p/-dash.yaml',
      ];
      for (const p of odd) write(p, `${p}\n`);
      git('add', '-A');
      git('commit', '--quiet', '-m', 'odd names\n\nwith a body\n\nGatepass-Grant: g1\n');
      git('commit', '--quiet', '--allow-empty', '-m', 'empty');
      git('checkout', '--quiet', '-b', 'side');
      write('grants/p/side.yaml', 'side\n');
      git('add', '-A');
      git('commit', '--quiet', '-m', 'on the side');
      git('checkout', '--quiet', 'main');
      unlinkSync(join(dir, odd[0]!));
      write('grants/p/日本語.yaml', 'changed\n');
      git('add', '-A');
      git('commit', '--quiet', '-m', 'delete and change');
      git('merge', '--quiet', '--no-ff', '-m', 'merge side', 'side');
      for (const options of [
        { reverse: true, firstParent: true },
        { reverse: false, firstParent: false },
        { reverse: true, firstParent: true, paths: ['grants/'] },
      ]) {
        const bytes = execFileSync('git', historyLogArgs(options, MARKER), { cwd: dir });
        const expected = reference(bytes.toString('utf8'), MARKER);
        expect(expected.length).toBeGreaterThanOrEqual(3);
        for (const cuts of [
          [],
          [1, 2, 3, 50, 51, 52, 400],
          Array.from({ length: 60 }, (_, i) => i * 7),
        ])
          expect(parseInPieces(bytes, cuts)).toEqual(expected);
        const streamed: HistoryCommit[] = [];
        for await (const c of (await GitRepo.open(dir)).logHistory(options)) streamed.push(c);
        expect(streamed).toEqual(expected);
      }
      const all = reference(
        execFileSync('git', historyLogArgs({ reverse: true, firstParent: true }, MARKER), {
          cwd: dir,
        }).toString('utf8'),
        MARKER,
      );
      expect(all.map((c) => c.message.split('\n')[0])).toEqual([
        'odd names',
        'empty',
        'delete and change',
        'merge side',
      ]);
      expect(all[0]!.changes.map((c) => c.path).sort()).toEqual([...odd].sort());
      expect(all[0]!.author.name).toBe('Zoë "Q" Ünïcode');
      expect(all[1]!.changes).toEqual([]);
      expect(all[2]!.changes.map((c) => c.status).sort()).toEqual(['D', 'M']);
      // The merge, shown against its first parent: the side branch's file arrives.
      expect(all[3]!.parents).toHaveLength(2);
      expect(all[3]!.changes).toMatchObject([{ status: 'A', path: 'grants/p/side.yaml' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
