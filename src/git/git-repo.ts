import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { GitError } from '../core/errors.js';
import { HistoryLogParser, historyLogArgs } from './history-log.js';
import type {
  AuditSource,
  BlobReader,
  HistoryCommit,
  Identity,
  TreeEntry,
  TreeReader,
} from '../core/ports.js';

export type { BlobReader, HistoryCommit, Identity, RawChange } from '../core/ports.js';

/** The identity gatepass commits as unless told otherwise. */
export const GATEPASS_IDENTITY: Identity = {
  name: 'gatepass',
  email: 'gatepass@users.noreply.github.com',
};

/** One path changed by a commit (`git log --name-status`). */
export interface FileChange {
  /** A, M, D, T, or R/C followed by a similarity score. */
  status: string;
  path: string;
  /** The old path of a rename or copy. */
  from?: string;
}

export interface LogCommit {
  sha: string;
  authorName: string;
  authorEmail: string;
  /** Committer date, strict ISO 8601. */
  committedAt: string;
  /** The full message (subject, body, trailers). */
  message: string;
  changes: FileChange[];
}

export interface LogOptions {
  /** Start point (default HEAD). */
  rev?: string;
  /** Only commits touching these paths. */
  paths?: string[];
  /** Oldest first (the order an audit replays history in). */
  reverse?: boolean;
}

export interface HistoryOptions extends LogOptions {
  /** Follow only first parents: the default branch as it was, merges shown against it. */
  firstParent?: boolean;
}

/**
 * Config for every command: the repository's own hooks, pagers, signing and fsmonitor are not
 * gatepass's business, and output must not depend on the user's settings.
 */
const SAFE_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.pager=cat',
  'core.quotePath=false',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'color.ui=false',
  'log.showSignature=false',
  'i18n.logOutputEncoding=UTF-8',
  'advice.detachedHead=false',
].flatMap((c) => ['-c', c]);

const MAX_BUFFER = 256 * 1024 * 1024;

/** Credentials embedded in remote URLs (`https://x-access-token:…@github.com`) never leave. */
const redactUrls = (s: string): string => s.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1[redacted]@');

interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * The one parser of `git cat-file --batch` output: appends to `out` the records complete in
 * `buf` (a blob's text; null for a missing or ambiguous name, or an object that is not a blob),
 * at most until `out` holds `want`, and returns the bytes consumed.
 */
function readBatch(buf: Buffer, want: number, out: (string | null)[]): number {
  let at = 0;
  while (out.length < want) {
    const nl = buf.indexOf(10, at);
    if (nl < 0) break;
    const header = buf.subarray(at, nl).toString('utf8');
    if (/ missing$| ambiguous$/.test(header)) {
      out.push(null);
      at = nl + 1;
      continue;
    }
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) throw new GitError(`git cat-file: unexpected output "${header.slice(0, 80)}"`);
    const size = Number(m[2]);
    if (buf.length < nl + 1 + size + 1) break;
    out.push(m[1] === 'blob' ? buf.subarray(nl + 1, nl + 1 + size).toString('utf8') : null);
    at = nl + 1 + size + 1;
  }
  return at;
}

/**
 * `git stripspace` without comment stripping, the clean-up `git commit --file` gives a message:
 * trailing whitespace off every line, leading and trailing blank lines dropped, runs of blank
 * lines made one, and a final newline.
 */
export function stripspace(message: string): string {
  let out = '';
  let blanks = 0;
  for (const raw of message.split('\n')) {
    let end = raw.length;
    while (end > 0 && GIT_SPACE.has(raw.charCodeAt(end - 1))) end--;
    if (end === 0) {
      blanks++;
      continue;
    }
    if (blanks > 0 && out !== '') out += '\n';
    blanks = 0;
    out += raw.slice(0, end) + '\n';
  }
  return out;
}

/** What git's `isspace` calls space (its own ctype table: not vertical tab or form feed). */
const GIT_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The only place that runs git (create-pull-request's GitCommandManager): one method per
 * verb, all through `exec`, no shell, fixed identity, no prompts.
 */
export class GitRepo implements AuditSource {
  /** Config handed to every git process through its environment (never written to disk). */
  private envConfig: [string, string][] = [];

  private constructor(
    readonly dir: string,
    private readonly identity: Identity,
  ) {}

  /**
   * Opens an existing work tree. With `httpAuth`, git authenticates to `url` with the token
   * through its environment, so the checkout can be made with `persist-credentials: false`
   * and no token sits in `.git/config` for a script to read; a checkout that already holds a
   * header for that URL (persisted credentials) keeps using it.
   */
  static async open(
    dir: string,
    identity: Identity = GATEPASS_IDENTITY,
    options: { httpAuth?: { url: string; token: string } } = {},
  ): Promise<GitRepo> {
    const repo = new GitRepo(resolve(dir), identity);
    await repo.exec(['rev-parse', '--git-dir']);
    if (options.httpAuth) {
      const key = `http.${options.httpAuth.url.replace(/\/+$/, '')}/.extraheader`;
      if ((await repo.config(key)) === null) {
        const basic = Buffer.from(`x-access-token:${options.httpAuth.token}`).toString('base64');
        repo.envConfig = [[key, `AUTHORIZATION: basic ${basic}`]];
      }
    }
    return repo;
  }

  /** A config value as git sees it (files and environment), or null when unset. */
  async config(key: string): Promise<string | null> {
    const r = await this.exec(['config', '--get', key], { allowFail: true });
    return r.code === 0 ? r.stdout.trim() : null;
  }

  static async clone(
    url: string,
    dir: string,
    identity: Identity = GATEPASS_IDENTITY,
  ): Promise<GitRepo> {
    const target = resolve(dir);
    await mkdir(dirname(target), { recursive: true });
    await new GitRepo(dirname(target), identity).exec(['clone', '--quiet', '--', url, target]);
    return new GitRepo(target, identity);
  }

  async headSha(): Promise<string> {
    return (await this.exec(['rev-parse', '--verify', 'HEAD^{commit}'])).stdout.trim();
  }

  /** The branch HEAD is on (also before the first commit), or null when HEAD is detached. */
  async currentBranch(): Promise<string | null> {
    const r = await this.exec(['symbolic-ref', '--quiet', '--short', 'HEAD'], { allowFail: true });
    return r.code === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
  }

  /** A remote's URL as configured (before `insteadOf` rewrites; credentials removed), or null. */
  async remoteUrl(name: string): Promise<string | null> {
    const r = await this.exec(['config', '--get', `remote.${name}.url`], { allowFail: true });
    return r.code === 0 ? redactUrls(r.stdout.trim()) : null;
  }

  /** The commit a ref names, or null when it names none. */
  async revParse(ref: string): Promise<string | null> {
    const r = await this.exec(
      ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
      {
        allowFail: true,
      },
    );
    return r.code === 0 ? r.stdout.trim() : null;
  }

  /** Fetches one branch into `refs/remotes/<remote>/<branch>`. */
  async fetch(remote: string, branch: string): Promise<void> {
    await this.exec([
      'fetch',
      '--quiet',
      '--no-tags',
      '--',
      remote,
      `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`,
    ]);
  }

  async resetHard(ref: string): Promise<void> {
    await this.exec(['reset', '--quiet', '--hard', ref, '--']);
  }

  /** Makes the index HEAD's again (a mixed reset): nothing staged, the work tree untouched. */
  async unstageAll(): Promise<void> {
    await this.exec(['reset', '--quiet', '--mixed', 'HEAD', '--']);
  }

  async checkout(ref: string): Promise<void> {
    await this.exec(['checkout', '--quiet', ref, '--']);
  }

  async add(paths: string[]): Promise<void> {
    if (paths.length) await this.exec(['add', '--', ...paths]);
  }

  async rm(paths: string[]): Promise<void> {
    if (paths.length) await this.exec(['rm', '--quiet', '--', ...paths]);
  }

  /** Moves a tracked file, creating the destination folder (archive paths are new folders). */
  async mv(from: string, to: string): Promise<void> {
    await mkdir(dirname(join(this.dir, to)), { recursive: true });
    await this.exec(['mv', '--', from, to]);
  }

  /** Commits what is staged; returns the new commit's sha. */
  async commit(
    message: string,
    options: { author?: Identity; allowEmpty?: boolean } = {},
  ): Promise<string> {
    const args = ['commit', '--quiet', '--no-verify', '--file=-'];
    if (options.allowEmpty) args.push('--allow-empty');
    if (options.author) args.push(`--author=${options.author.name} <${options.author.email}>`);
    await this.exec(args, { input: message });
    return this.headSha();
  }

  /**
   * Commits exactly `paths` as they are in the work tree (written, changed or removed; a path
   * neither there nor tracked is skipped) on top of HEAD, and moves HEAD's branch to it only if
   * it still points where it did. Git's plumbing, not `add` + `commit`: those refresh every
   * index entry against the work tree, and `reset --hard` + `clean` would walk it again, so a
   * commit cost grew with every file in the checkout (10,000 live grants: ~95 ms against ~16 ms
   * for ten). Here only the named paths are looked at; what grows is the one tree object of the
   * folder that changed. The message gets `git commit`'s whitespace clean-up; no hooks run.
   */
  async commitPaths(message: string, paths: readonly string[]): Promise<string> {
    const text = stripspace(message);
    if (text === '') throw new GitError('refusing to commit with an empty message');
    const [head] = await Promise.all([
      // HEAD and its tree in one process; an unborn branch (no commit yet) has neither.
      this.exec(['rev-parse', 'HEAD^{commit}', 'HEAD^{tree}'], { allowFail: true }).then((r) => {
        const [commit, tree] = r.stdout.trim().split('\n');
        return r.code === 0 && commit && tree ? { commit, tree } : null;
      }),
      paths.length
        ? this.exec(['update-index', '--add', '--remove', '--', ...paths])
        : Promise.resolve(),
    ]);
    const tree = (await this.exec(['write-tree'])).stdout.trim();
    if (head?.tree === tree)
      throw new GitError(`nothing to commit in ${paths.join(', ') || 'no paths'}`);
    const parent = head?.commit;
    const commit = (
      await this.exec(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'], {
        input: text,
      })
    ).stdout.trim();
    // The old value makes the move conditional: a HEAD that moved meanwhile fails it.
    await this.exec([
      'update-ref',
      '-m',
      `commit: ${text.slice(0, text.indexOf('\n'))}`,
      'HEAD',
      commit,
      parent ?? '',
    ]);
    return commit;
  }

  /**
   * Pushes HEAD to a branch. A push refused because the branch moved (someone else pushed
   * first) is an expected outcome, returned as `rejected` for the caller to re-fetch and re-plan.
   */
  async push(remote: string, branch: string): Promise<'ok' | 'rejected'> {
    const r = await this.exec(['push', '--porcelain', '--', remote, `HEAD:refs/heads/${branch}`], {
      allowFail: true,
    });
    if (r.code === 0) return 'ok';
    const out = `${r.stdout}\n${r.stderr}`;
    if (
      /^!\t.*\[rejected\]|non-fast-forward|fetch first|\[remote rejected\].*(?:cannot lock ref|incorrect old value)/m.test(
        out,
      )
    ) {
      return 'rejected';
    }
    throw new GitError(`git push failed (exit ${r.code}): ${redactUrls(r.stderr.trim())}`);
  }

  /** A file's content at a revision, or null when it does not exist there. */
  async showFile(rev: string, path: string): Promise<string | null> {
    const r = await this.exec(['cat-file', 'blob', `${rev}:${path}`], { allowFail: true });
    if (r.code === 0) return r.stdout;
    if (
      /does not exist|exists on disk, but not in|Not a valid object name|bad revision/i.test(
        r.stderr,
      )
    ) {
      return null;
    }
    throw new GitError(`git cat-file failed for ${rev}:${path}: ${r.stderr.trim()}`);
  }

  /** Files under a folder at a revision (recursive, repository-relative paths). */
  async listFiles(rev: string, prefix: string): Promise<string[]> {
    const r = await this.exec([
      'ls-tree',
      '-r',
      '-z',
      '--name-only',
      '--end-of-options',
      rev,
      '--',
      prefix,
    ]);
    return r.stdout.split('\0').filter((p) => p !== '');
  }

  /**
   * The commit on the first-parent line of `rev` that last added `path`, or null. First parent
   * only: on the default branch, a PR's own commits are not "the commit that added it", its
   * merge (or squash) commit is.
   */
  async addedIn(rev: string, path: string): Promise<string | null> {
    const r = await this.exec([
      'log',
      '--first-parent',
      '--no-renames',
      '--diff-merges=first-parent',
      '--no-patch',
      '--diff-filter=A',
      '--format=%H',
      '-n',
      '1',
      '--end-of-options',
      rev,
      '--',
      path,
    ]);
    const sha = r.stdout.trim();
    return sha === '' ? null : sha;
  }

  /**
   * Whether `ancestor` is reachable from `rev` (so it is part of that branch's history); false
   * when either is unknown, so a forged commit id reads as "not on the branch".
   */
  async isAncestor(ancestor: string, rev: string): Promise<boolean> {
    const r = await this.exec(['merge-base', '--is-ancestor', '--end-of-options', ancestor, rev], {
      allowFail: true,
    });
    if (r.code === 0) return true;
    if (r.code === 1) return false;
    if (/not a valid|unknown revision|bad object|no such/i.test(r.stderr)) return false;
    throw new GitError(`git merge-base failed (exit ${r.code}): ${r.stderr.trim()}`);
  }

  /** The files of one revision as a tree reader (policies are loaded through it). */
  treeAt(rev: string): TreeReader {
    return {
      listFiles: async (dir) => (await this.listFiles(rev, dir)).sort(),
      readFiles: (paths) => this.readFiles(rev, paths),
    };
  }

  /** The full message of one commit. */
  async commitMessage(rev: string): Promise<string> {
    const r = await this.exec(['log', '-1', '--format=%B', '--end-of-options', rev, '--']);
    return r.stdout.replace(/\n+$/, '');
  }

  /** Entries directly inside a folder at a revision: type `tree` or `blob`, and object id. */
  async listDir(rev: string, dir: string): Promise<TreeEntry[]> {
    const r = await this.exec(['ls-tree', '-z', '--end-of-options', `${rev}:${dir}`], {
      allowFail: true,
    });
    if (r.code !== 0) return [];
    return r.stdout
      .split('\0')
      .filter((e) => e !== '')
      .map((e) => {
        const tab = e.indexOf('\t');
        const [, type = '', id = ''] = e.slice(0, tab).split(' ');
        return { name: e.slice(tab + 1), type, id };
      });
  }

  /**
   * Many files at one revision in a single `git cat-file --batch` (one process, not one per
   * file); a missing path maps to null.
   */
  async readFiles(rev: string, paths: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    if (paths.length === 0) return out;
    for (const p of paths)
      if (/[\n\0]/.test(p)) throw new GitError(`path with a newline or NUL: ${JSON.stringify(p)}`);
    const texts = await this.catFileBatch(paths.map((p) => `${rev}:${p}`));
    paths.forEach((p, i) => out.set(p, texts[i] ?? null));
    return out;
  }

  /**
   * Blobs by object id (as `listDir` gives them), in one `git cat-file --batch`. By id, not by
   * `rev:path`: git resolves each path by scanning its folder, which is quadratic in a folder
   * of thousands of grants.
   */
  readBlobs(ids: readonly string[]): Promise<(string | null)[]> {
    if (ids.length === 0) return Promise.resolve([]);
    // A hex id names one object; anything else is asked as `0`, which names none.
    return this.catFileBatch(ids.map((id) => (/^[0-9a-f]{4,64}$/.test(id) ? id : '0')));
  }

  private async catFileBatch(specs: readonly string[]): Promise<(string | null)[]> {
    const raw = await new Promise<Buffer>((res, rej) => {
      const child = spawn('git', [...SAFE_CONFIG, 'cat-file', '--batch'], {
        cwd: this.dir,
        env: this.env(),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const chunks: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 10_000) stderr += d.toString('utf8');
      });
      child.on('error', rej);
      child.on('close', (code) =>
        code === 0
          ? res(Buffer.concat(chunks))
          : rej(new GitError(`git cat-file --batch failed (exit ${code}): ${stderr.trim()}`)),
      );
      child.stdin.on('error', () => {});
      child.stdin.end(specs.map((s) => `${s}\n`).join(''));
    });
    const texts: (string | null)[] = [];
    readBatch(raw, specs.length, texts);
    if (texts.length < specs.length) throw new GitError('git cat-file --batch: truncated output');
    return texts;
  }

  /** Deletes untracked files and folders (not ignored ones): what a failed step left behind. */
  async clean(): Promise<void> {
    await this.exec(['clean', '-q', '-f', '-d']);
  }

  /** No staged, unstaged or untracked changes. */
  async isClean(): Promise<boolean> {
    return (
      (await this.exec(['status', '--porcelain', '-z', '--untracked-files=all'])).stdout === ''
    );
  }

  /**
   * Streams commits (newest first unless `reverse`) with their changed files, one at a time:
   * memory stays flat however long the history (an audit reads tens of thousands of commits).
   */
  async *logTrailers(options: LogOptions = {}): AsyncGenerator<LogCommit> {
    // The same reader as logHistory, in the narrower shape most callers want.
    for await (const c of this.logHistory(options))
      yield {
        sha: c.sha,
        authorName: c.author.name,
        authorEmail: c.author.email,
        committedAt: c.committedAt,
        message: c.message,
        changes: c.changes.map((ch) => ({ status: ch.status, path: ch.path })),
      };
  }

  /**
   * Streams commits with parents, author, committer and blob ids of each changed path, one at
   * a time (what `gatepass audit` replays). Renames come as delete + add.
   */
  async *logHistory(options: HistoryOptions = {}): AsyncGenerator<HistoryCommit> {
    const marker = `gatepass-${randomBytes(12).toString('hex')}`;
    const child = spawn('git', [...SAFE_CONFIG, ...historyLogArgs(options, marker)], {
      cwd: this.dir,
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 10_000) stderr += d;
    });
    const exited = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
    const parser = new HistoryLogParser(marker);
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>)
        for (const c of parser.push(chunk)) yield c;
      const code = await exited;
      if (code !== 0)
        throw new GitError(`git log failed (exit ${code}): ${redactUrls(stderr.trim())}`);
      const last = parser.end();
      if (last) yield last;
    } finally {
      if (child.exitCode === null) child.kill();
    }
  }

  /**
   * One long-lived `git cat-file --batch`: an audit reads thousands of small grant files, and
   * a process per file would cost more than the whole log.
   */
  blobReader(): BlobReader {
    const child = spawn('git', [...SAFE_CONFIG, 'cat-file', '--batch'], {
      cwd: this.dir,
      env: this.env(),
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.stdin.on('error', () => {});
    let buffer: Buffer = Buffer.alloc(0);
    interface Waiting {
      want: number;
      results: (string | null)[];
      resolve: (results: (string | null)[]) => void;
      reject: (e: Error) => void;
    }
    // cat-file answers in request order, so reads may overlap: the next batch can be asked for
    // while the previous one is still being used.
    const waiting: Waiting[] = [];
    let failed: Error | null = null;
    const fail = (e: Error) => {
      failed ??= e;
      for (const w of waiting.splice(0)) w.reject(failed);
    };
    const drain = () => {
      while (waiting.length > 0) {
        const w = waiting[0]!;
        try {
          buffer = buffer.subarray(readBatch(buffer, w.want, w.results));
        } catch (e) {
          fail(e as Error);
          child.kill();
          return;
        }
        if (w.results.length < w.want) return;
        waiting.shift();
        w.resolve(w.results);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      drain();
    });
    const exited = new Promise<void>((res) => child.on('close', () => res()));
    child.on('close', () => fail(new GitError('git cat-file exited')));
    return {
      read: (ids) =>
        new Promise((resolve, reject) => {
          if (ids.length === 0) return resolve([]);
          if (failed) return reject(failed);
          waiting.push({ want: ids.length, results: [], resolve, reject });
          // Object ids only: a `rev:path` spec could name anything, a hex id names one object.
          child.stdin.write(
            ids.map((id) => (/^[0-9a-f]{4,64}$/.test(id) ? id : '0')).join('\n') + '\n',
          );
        }),
      close: async () => {
        child.stdin.end();
        await exited;
      },
    };
  }

  private env(): NodeJS.ProcessEnv {
    const config = Object.fromEntries(
      this.envConfig.flatMap(([k, v], i) => [
        [`GIT_CONFIG_KEY_${i}`, k],
        [`GIT_CONFIG_VALUE_${i}`, v],
      ]),
    );
    return {
      ...process.env,
      ...(this.envConfig.length > 0
        ? { GIT_CONFIG_COUNT: String(this.envConfig.length), ...config }
        : {}),
      GIT_TERMINAL_PROMPT: '0',
      GIT_COMMITTER_NAME: this.identity.name,
      GIT_COMMITTER_EMAIL: this.identity.email,
      GIT_AUTHOR_NAME: this.identity.name,
      GIT_AUTHOR_EMAIL: this.identity.email,
      LC_ALL: 'C',
    };
  }

  private exec(
    args: string[],
    options: { allowFail?: boolean; input?: string } = {},
  ): Promise<ExecResult> {
    return new Promise((res, rej) => {
      const child = execFile(
        'git',
        [...SAFE_CONFIG, ...args],
        { cwd: this.dir, env: this.env(), maxBuffer: MAX_BUFFER, encoding: 'utf8' },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          if (code !== 0 && !options.allowFail) {
            rej(
              new GitError(
                `git ${args[0]} failed (exit ${code}): ${redactUrls(String(stderr).trim() || String(error?.message))}`,
              ),
            );
            return;
          }
          res({ stdout: String(stdout), stderr: String(stderr), code });
        },
      );
      // A command that exits without reading stdin must not fail on EPIPE.
      child.stdin?.on('error', () => {});
      child.stdin?.end(options.input);
    });
  }
}
