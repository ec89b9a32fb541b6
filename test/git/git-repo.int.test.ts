import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError } from '../../src/core/errors.js';
import fc from 'fast-check';
import { GitRepo, stripspace, type LogCommit } from '../../src/git/git-repo.js';
import { appendGrantCommits, initAccessRepo, type AccessRepoFixture } from '../helpers/git.js';

let fx: AccessRepoFixture;
beforeEach(async () => {
  fx = await initAccessRepo();
});
afterEach(() => fx.cleanup());

const collect = async (it: AsyncIterable<LogCommit>): Promise<LogCommit[]> => {
  const out: LogCommit[] = [];
  for await (const c of it) out.push(c);
  return out;
};

describe('GitRepo basics', () => {
  it('refuses to open a folder that is not a repository', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-nogit-'));
    try {
      await expect(GitRepo.open(dir)).rejects.toThrow(GitError);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('authenticates git through its environment, never writing the token to .git/config', async () => {
    const token = 'ghs_0123456789abcdefghijklmnopqrstuvwxyzAB';
    const key = 'http.https://github.com/.extraheader';
    const repo = await GitRepo.open(fx.repo.dir, undefined, {
      httpAuth: { url: 'https://github.com/', token },
    });
    const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
    expect(await repo.config(key)).toBe(header);
    expect(readFileSync(join(fx.repo.dir, '.git', 'config'), 'utf8')).not.toContain('extraheader');
    expect(await fx.repo.config(key)).toBeNull();
    // A checkout that persisted its credentials keeps them: no second Authorization header.
    execFileSync('git', ['config', key, 'AUTHORIZATION: basic cGVyc2lzdGVk'], { cwd: fx.repo.dir });
    const persisted = await GitRepo.open(fx.repo.dir, undefined, {
      httpAuth: { url: 'https://github.com', token },
    });
    expect(await persisted.config(key)).toBe('AUTHORIZATION: basic cGVyc2lzdGVk');
  });

  it('starts from a clean clone holding policies/ and grants/', async () => {
    expect(await fx.repo.isClean()).toBe(true);
    expect(await fx.repo.listFiles('HEAD', 'policies')).toEqual(['policies/example.yaml']);
    expect(await fx.repo.revParse('origin/main')).toBe(await fx.repo.headSha());
    expect(await fx.repo.revParse('no-such-branch')).toBeNull();
  });

  it('commits as gatepass with the given author and returns the new sha', async () => {
    fx.write('grants/prod-db/g1.yaml', 'id: g1\n');
    expect(await fx.repo.isClean()).toBe(false);
    await fx.repo.add(['grants/prod-db/g1.yaml']);
    const sha = await fx.repo.commit('Grant g1\n\nGatepass-Grant: g1', {
      author: { name: 'Alice', email: 'alice@example.com' },
    });
    expect(sha).toBe(await fx.repo.headSha());
    expect(await fx.repo.isClean()).toBe(true);
    const [c] = await collect(fx.repo.logTrailers());
    expect(c).toMatchObject({
      sha,
      authorName: 'Alice',
      authorEmail: 'alice@example.com',
      message: 'Grant g1\n\nGatepass-Grant: g1',
      changes: [{ status: 'A', path: 'grants/prod-db/g1.yaml' }],
    });
    expect(await fx.repo.showFile(sha, 'grants/prod-db/g1.yaml')).toBe('id: g1\n');
    expect(await fx.repo.showFile(sha, 'grants/prod-db/missing.yaml')).toBeNull();
  });

  it('moves a file into a new folder and removes files', async () => {
    fx.write('grants/prod-db/g1.yaml', 'id: g1\n');
    fx.write('grants/prod-db/g2.yaml', 'id: g2\n');
    await fx.repo.add(['grants']);
    await fx.repo.commit('two grants');
    await fx.repo.mv('grants/prod-db/g1.yaml', 'grants/archive/2025/01/g1.yaml');
    await fx.repo.rm(['grants/prod-db/g2.yaml']);
    await fx.repo.commit('archive g1, drop g2');
    expect(await fx.repo.listFiles('HEAD', 'grants')).toEqual([
      'grants/.gitkeep',
      'grants/archive/2025/01/g1.yaml',
    ]);
    expect(existsSync(join(fx.dir, 'grants/prod-db/g2.yaml'))).toBe(false);
    const [c] = await collect(fx.repo.logTrailers({ paths: ['grants'] }));
    expect(c!.changes).toEqual([
      { status: 'A', path: 'grants/archive/2025/01/g1.yaml' },
      { status: 'D', path: 'grants/prod-db/g1.yaml' },
      { status: 'D', path: 'grants/prod-db/g2.yaml' },
    ]);
  });

  it('handles odd file names: spaces, quotes, unicode, newlines, leading dashes', async () => {
    const names = [
      'grants/x/with space.yaml',
      'grants/x/"quoted".yaml',
      'grants/x/ünïcödé.yaml',
      'grants/x/new\nline.yaml',
      'grants/x/-rf.yaml',
    ];
    for (const n of names) fx.write(n, n);
    await fx.repo.add(names);
    const sha = await fx.repo.commit('odd names');
    expect((await fx.repo.listFiles(sha, 'grants/x')).sort()).toEqual([...names].sort());
    for (const n of names) expect(await fx.repo.showFile(sha, n)).toBe(n);
    const [c] = await collect(fx.repo.logTrailers());
    expect(c!.changes.map((ch) => ch.path).sort()).toEqual([...names].sort());
  });

  it('does not run the repository hooks', async () => {
    fx.write('.git/hooks/pre-commit', '#!/bin/sh\nexit 1\n');
    const { chmodSync } = await import('node:fs');
    chmodSync(join(fx.dir, '.git/hooks/pre-commit'), 0o755);
    fx.write('grants/a.yaml', 'a');
    await fx.repo.add(['grants/a.yaml']);
    await expect(fx.repo.commit('despite the hook')).resolves.toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('GitRepo.commitPaths (the reconcile commit, plumbing only)', () => {
  const treeOf = (dir: string, rev = 'HEAD') =>
    execFileSync('git', ['rev-parse', `${rev}^{tree}`], { cwd: dir })
      .toString()
      .trim();
  const messageOf = (dir: string, rev = 'HEAD') =>
    execFileSync('git', ['cat-file', 'commit', rev], { cwd: dir })
      .toString()
      .split('\n\n')
      .slice(1)
      .join('\n\n');

  it('makes the tree and message `add -A -- <paths>` and `git commit` make, odd names included', async () => {
    const seed = ['grants/x/old.yaml', 'grants/x/gone.yaml', 'grants/x/kept.yaml'];
    for (const n of seed) fx.write(n, `${n}\n`);
    await fx.repo.add(seed);
    await fx.repo.commit('seed');
    expect(await fx.repo.push('origin', 'main')).toBe('ok');
    const porcelain = await fx.cloneAgain('porcelain');
    const plumbing = await fx.cloneAgain('plumbing');
    const named = [
      'grants/x/old.yaml', // changed
      'grants/x/gone.yaml', // removed
      'grants/archive/2030/01/x/new one.yaml', // new, in new folders, with a space
      'grants/x/ünï "q".yaml',
      'grants/x/-rf.yaml',
      'ssh/revoked.krl', // declared by a provider but never written: skipped
    ];
    const message =
      '\n\ngatepass: issued x  \n\n\n\nGatepass-Grant: g1\t\nGatepass-Event: active\n\n';
    for (const repo of [porcelain, plumbing]) {
      const w = (p: string, t: string) => fx.write(p, t, repo.dir);
      w('grants/x/old.yaml', 'changed\n');
      rmSync(join(repo.dir, 'grants/x/gone.yaml'));
      w('grants/archive/2030/01/x/new one.yaml', 'new\n');
      w('grants/x/ünï "q".yaml', 'q\n');
      w('grants/x/-rf.yaml', 'rf\n');
      w('grants/x/kept.yaml', 'an edit nobody named\n');
      w('stray.txt', 'left behind');
    }
    const present = named.filter((p) => p !== 'ssh/revoked.krl');
    execFileSync('git', ['add', '-A', '--', ...present], { cwd: porcelain.dir });
    await porcelain.commit(message);
    const sha = await plumbing.commitPaths(message, named);
    expect(sha).toBe(await plumbing.headSha());
    expect(treeOf(plumbing.dir)).toBe(treeOf(porcelain.dir));
    expect(messageOf(plumbing.dir)).toBe(messageOf(porcelain.dir));
    expect(await plumbing.revParse('HEAD~1')).toBe(await plumbing.revParse('origin/main'));
    // Nothing else was taken, and nothing else was touched: the work tree is the step's.
    expect(await plumbing.showFile('HEAD', 'grants/x/kept.yaml')).toBe('grants/x/kept.yaml\n');
    expect(await plumbing.showFile('HEAD', 'stray.txt')).toBeNull();
    expect(readFileSync(join(plumbing.dir, 'stray.txt'), 'utf8')).toBe('left behind');
    // The index agrees with the work tree for what was committed: only the two strays show.
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: plumbing.dir })
      .toString()
      .trimEnd()
      .split('\n')
      .sort();
    expect(status).toEqual([' M grants/x/kept.yaml', '?? stray.txt']);
    const [c] = await collect(plumbing.logTrailers());
    expect(c).toMatchObject({
      authorName: 'gatepass',
      authorEmail: 'gatepass@users.noreply.github.com',
    });
    expect(await plumbing.push('origin', 'main')).toBe('ok');
  });

  it('refuses a commit that changes nothing, and one with an empty message, moving nothing', async () => {
    const head = await fx.repo.headSha();
    fx.write('stray.txt', 'x');
    await expect(fx.repo.commitPaths('nothing', ['grants/none.yaml'])).rejects.toThrow(
      /nothing to commit/,
    );
    await expect(fx.repo.commitPaths('nothing', [])).rejects.toThrow(/nothing to commit/);
    fx.write('grants/a.yaml', 'a');
    await expect(fx.repo.commitPaths(' \n\t\n', ['grants/a.yaml'])).rejects.toThrow(
      /empty message/,
    );
    expect(await fx.repo.headSha()).toBe(head);
  });

  it('runs no hook of the repository', async () => {
    const { chmodSync } = await import('node:fs');
    for (const hook of ['pre-commit', 'commit-msg', 'post-commit', 'reference-transaction']) {
      fx.write(`.git/hooks/${hook}`, '#!/bin/sh\ntouch "$GIT_DIR/../hook-ran"\nexit 1\n');
      chmodSync(join(fx.dir, `.git/hooks/${hook}`), 0o755);
    }
    fx.write('grants/a.yaml', 'a');
    await expect(fx.repo.commitPaths('despite the hooks', ['grants/a.yaml'])).resolves.toMatch(
      /^[0-9a-f]{40}$/,
    );
    expect(existsSync(join(fx.dir, 'hook-ran'))).toBe(false);
  });

  it("cleans a message exactly as `git stripspace` (git commit's clean-up) does", () => {
    const text = fc.string({
      unit: fc.constantFrom(' ', '\t', '\r', '\n', '\n', '\v', '\f', 'a', 'b', '#', 'é', '日'),
      maxLength: 40,
    });
    fc.assert(
      fc.property(text, (m) => {
        const git = execFileSync('git', ['stripspace'], { input: m }).toString();
        expect(stripspace(m)).toBe(git);
      }),
      { numRuns: 150 },
    );
  });
});

describe('GitRepo push', () => {
  it('reports a push rejected by a concurrent commit, and succeeds after re-fetching', async () => {
    const other = await fx.cloneAgain();
    fx.write('grants/other.yaml', 'x', other.dir);
    await other.add(['grants/other.yaml']);
    await other.commit('concurrent run');
    expect(await other.push('origin', 'main')).toBe('ok');

    fx.write('grants/mine.yaml', 'y');
    await fx.repo.add(['grants/mine.yaml']);
    await fx.repo.commit('my run');
    expect(await fx.repo.push('origin', 'main')).toBe('rejected');

    await fx.repo.fetch('origin', 'main');
    await fx.repo.resetHard('origin/main');
    expect(await fx.repo.showFile('HEAD', 'grants/other.yaml')).toBe('x');
    fx.write('grants/mine.yaml', 'y');
    await fx.repo.add(['grants/mine.yaml']);
    const sha = await fx.repo.commit('my run, re-planned');
    expect(await fx.repo.push('origin', 'main')).toBe('ok');
    await other.fetch('origin', 'main');
    expect(await other.revParse('origin/main')).toBe(sha);
  });

  it('throws on a push that fails for another reason, without credentials in the message', async () => {
    const err = await fx.repo
      .push('https://x-access-token:ghs_secret123@127.0.0.1:1/acme/access.git', 'main')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    expect((err as Error).message).not.toContain('ghs_secret123');
  });
});

describe('GitRepo log reader', () => {
  it('streams a few hundred commits with their trailers and changed files', async () => {
    appendGrantCommits(fx.dir, 300);
    const started = Date.now();
    const commits = await collect(
      fx.repo.logTrailers({ paths: ['grants/prod-db'], reverse: true }),
    );
    const elapsed = Date.now() - started;
    expect(commits).toHaveLength(300);
    expect(commits[0]).toMatchObject({
      authorName: 'Req 1',
      authorEmail: 'r1@example.com',
      committedAt: new Date(1700000001 * 1000).toISOString().replace('.000Z', '+00:00'),
      message: 'Grant g1: requested\n\nGatepass-Grant: g1\nGatepass-Event: requested',
      changes: [{ status: 'A', path: 'grants/prod-db/g1.yaml' }],
    });
    expect(commits[299]!.changes).toEqual([{ status: 'A', path: 'grants/prod-db/g300.yaml' }]);
    expect(new Set(commits.map((c) => c.sha)).size).toBe(300);
    expect(elapsed).toBeLessThan(5000);
  });

  it('only yields commits touching the given paths, newest first by default', async () => {
    appendGrantCommits(fx.dir, 3);
    const all = await collect(fx.repo.logTrailers());
    expect(all.map((c) => c.message.split('\n')[0])).toEqual([
      'Grant g3: requested',
      'Grant g2: requested',
      'Grant g1: requested',
      'Initial access repo',
    ]);
    expect(await collect(fx.repo.logTrailers({ paths: ['policies'] }))).toHaveLength(1);
  });

  it('cannot be fooled by a commit message imitating record separators', async () => {
    fx.write('grants/a.yaml', 'a');
    await fx.repo.add(['grants/a.yaml']);
    const forged = 'subject\n\x1eabc\x1fdef\n\nGatepass-Grant: g9';
    await fx.repo.commit(forged);
    const [c, init] = await collect(fx.repo.logTrailers());
    expect(c!.message).toBe(forged);
    expect(c!.changes).toEqual([{ status: 'A', path: 'grants/a.yaml' }]);
    expect(init!.message).toBe('Initial access repo');
  });

  it('stops git when the reader stops early', async () => {
    appendGrantCommits(fx.dir, 200);
    let n = 0;
    for await (const _ of fx.repo.logTrailers()) {
      if (++n === 5) break;
    }
    expect(n).toBe(5);
  });
});

describe('GitRepo blob reader', () => {
  const hashObject = (text: string): string =>
    execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: fx.dir, input: text })
      .toString()
      .trim();

  it('answers overlapping reads each with its own blobs, in the order they were asked', async () => {
    const texts = Array.from({ length: 90 }, (_, i) => `blob ${i}\n${'x'.repeat(i * 997)}\n`);
    const ids = texts.map(hashObject);
    const reader = fx.repo.blobReader();
    try {
      const reads = [0, 30, 60].map((from) => reader.read(ids.slice(from, from + 30)));
      const missing = reader.read(['0'.repeat(40), 'HEAD:policies/example.yaml', ids[7]!]);
      const answers = await Promise.all(reads);
      expect(answers.flat()).toEqual(texts);
      // A rev:path spec is not an object id: it is not looked up at all.
      expect(await missing).toEqual([null, null, texts[7]]);
    } finally {
      await reader.close();
    }
  });

  it('reads the blobs a folder listing names, by id, and nothing for a spec that is not an id', async () => {
    fx.write('grants/db/a.yaml', 'first\n');
    fx.write('grants/db/b.yaml', 'second\n');
    await fx.repo.add(['grants']);
    await fx.repo.commit('two grants');
    const entries = await fx.repo.listDir('HEAD', 'grants/db');
    expect(entries.map((e) => e.name)).toEqual(['a.yaml', 'b.yaml']);
    const ids = entries.map((e) => e.id);
    expect(await fx.repo.readBlobs([...ids, '0'.repeat(40), 'HEAD:grants/db/a.yaml'])).toEqual([
      'first\n',
      'second\n',
      null,
      null,
    ]);
    expect(await fx.repo.readBlobs([])).toEqual([]);
  });

  it('refuses reads once git has gone away', async () => {
    const reader = fx.repo.blobReader();
    await reader.close();
    await expect(reader.read([hashObject('late\n')])).rejects.toThrow(GitError);
  });
});
