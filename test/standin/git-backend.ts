/**
 * The stand-in's repository: a real bare git repo on disk, changed only with plumbing (no work
 * tree), so a clone or a push by the action sees exactly what the API wrote, and vice versa.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Person {
  name: string;
  email: string;
  /** ISO 8601; now when absent. */
  date?: string;
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: Required<Person>;
  committer: Required<Person>;
  message: string;
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
  path: string;
  /** Blobs only. */
  size?: number;
}

export interface FileDiff {
  filename: string;
  status: 'added' | 'modified' | 'removed' | 'renamed';
  additions: number;
  deletions: number;
  previous_filename?: string;
  sha: string;
}

/** A change to one path: new content, an existing object (`sha`), or null to delete it. */
export interface FileChange {
  path: string;
  content: Buffer | string | null;
  mode?: string;
  sha?: string;
}

const SAFE_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.pager=cat',
  'core.quotePath=false',
  'commit.gpgSign=false',
  'init.defaultBranch=main',
].flatMap((c) => ['-c', c]);

const MAX_BUFFER = 64 * 1024 * 1024;

export class GitCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
  }
}

const gitDate = (iso: string): string => `${Math.floor(Date.parse(iso) / 1000)} +0000`;

export class GitBackend {
  private constructor(
    readonly gitDir: string,
    private readonly now: () => Date,
  ) {}

  /** A new bare repo whose default branch holds `files` in one initial commit. */
  static async create(options: {
    dir: string;
    defaultBranch: string;
    files: Record<string, string>;
    author: Person;
    now: () => Date;
  }): Promise<GitBackend> {
    const backend = new GitBackend(options.dir, options.now);
    await backend.run(['init', '--quiet', '--bare', options.dir], { cwd: tmpdir() });
    await backend.run(['symbolic-ref', 'HEAD', `refs/heads/${options.defaultBranch}`]);
    const changes = Object.entries(options.files).map(([path, content]) => ({ path, content }));
    const sha = await backend.commitChanges(null, changes, 'Initial commit', options.author);
    await backend.updateRef(`refs/heads/${options.defaultBranch}`, sha, null);
    return backend;
  }

  /** Runs git in the bare repo; rejects with GitCommandError on a non-zero exit. */
  async run(
    args: string[],
    opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string } = {},
  ): Promise<string> {
    const r = await this.exec(args, opts);
    if (r.code !== 0) throw new GitCommandError(args, r.code, r.stderr);
    return r.stdout;
  }

  private exec(
    args: string[],
    opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string } = {},
  ): Promise<{ stdout: string; stderr: string; code: number }> {
    return new Promise((resolve) => {
      const child = execFile(
        'git',
        [...SAFE_CONFIG, ...args],
        {
          cwd: opts.cwd ?? this.gitDir,
          env: {
            ...process.env,
            ...(opts.cwd ? {} : { GIT_DIR: this.gitDir }),
            GIT_TERMINAL_PROMPT: '0',
            ...opts.env,
          },
          maxBuffer: MAX_BUFFER,
          encoding: 'buffer',
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), code });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  /** The commit a ref or sha names, or null. */
  async resolveCommit(rev: string): Promise<string | null> {
    if (rev.startsWith('-')) return null;
    const r = await this.exec(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
    return r.code === 0 ? r.stdout.trim() : null;
  }

  /** The object a sha names and its type, or null. */
  async objectType(sha: string): Promise<string | null> {
    if (!/^[0-9a-f]{4,40}$/.test(sha)) return null;
    const r = await this.exec(['cat-file', '-t', sha]);
    return r.code === 0 ? r.stdout.trim() : null;
  }

  /** Full ref names and the commit each points at, for refs under `prefix` (e.g. `refs/heads/`). */
  async refs(prefix = 'refs/'): Promise<{ ref: string; sha: string }[]> {
    const out = await this.run(['for-each-ref', '--format=%(refname) %(objectname)', prefix]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [ref = '', sha = ''] = line.split(' ');
        return { ref, sha };
      });
  }

  /**
   * Moves a ref only if it still points at `expected` (null: must not exist), as a push does:
   * false when someone else moved it first.
   */
  async updateRef(ref: string, sha: string, expected: string | null): Promise<boolean> {
    const old = expected ?? '0'.repeat(40);
    const r = await this.exec(['update-ref', ref, sha, old]);
    return r.code === 0;
  }

  async deleteRef(ref: string, expected?: string): Promise<boolean> {
    const r = await this.exec(['update-ref', '-d', ref, ...(expected ? [expected] : [])]);
    return r.code === 0;
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const r = await this.exec(['merge-base', '--is-ancestor', ancestor, descendant]);
    return r.code === 0;
  }

  async mergeBase(a: string, b: string): Promise<string | null> {
    const r = await this.exec(['merge-base', a, b]);
    return r.code === 0 ? r.stdout.trim() : null;
  }

  async commit(sha: string): Promise<CommitInfo | null> {
    const r = await this.exec(['cat-file', 'commit', sha]);
    if (r.code !== 0) return null;
    const [head = '', ...rest] = r.stdout.split('\n\n');
    const parents: string[] = [];
    let tree = '';
    const people: Record<string, Required<Person>> = {};
    for (const line of head.split('\n')) {
      const [key = '', ...value] = line.split(' ');
      if (key === 'tree') tree = value[0] ?? '';
      else if (key === 'parent') parents.push(value[0] ?? '');
      else if (key === 'author' || key === 'committer') {
        const m = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(value.join(' '));
        if (m) {
          people[key] = {
            name: m[1] ?? '',
            email: m[2] ?? '',
            date: new Date(Number(m[3]) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          };
        }
      }
    }
    const unknown = { name: '', email: '', date: new Date(0).toISOString() };
    return {
      sha,
      tree,
      parents,
      author: people.author ?? unknown,
      committer: people.committer ?? unknown,
      message: rest.join('\n\n'),
    };
  }

  /** Commits reachable from `head` and not from `base`, oldest first. */
  async commitsBetween(base: string, head: string): Promise<string[]> {
    const out = await this.run(['rev-list', '--reverse', `${base}..${head}`]);
    return out.split('\n').filter(Boolean);
  }

  /** Commits reachable from `head`, newest first, optionally only those touching `path`. */
  async log(head: string, path?: string): Promise<string[]> {
    const out = await this.run(['rev-list', head, ...(path ? ['--', path] : [])]);
    return out.split('\n').filter(Boolean);
  }

  /** The entry at `path` in a commit's tree ('' for the root tree), or null. */
  async entry(commit: string, path: string): Promise<TreeEntry | null> {
    if (path === '') {
      const info = await this.commit(commit);
      return info ? { mode: '040000', type: 'tree', sha: info.tree, path: '' } : null;
    }
    const r = await this.exec(['ls-tree', '-l', '--full-tree', commit, '--', path]);
    if (r.code !== 0) return null;
    const entry = parseTree(r.stdout)[0];
    return entry && entry.path === path ? entry : null;
  }

  /** Entries of a tree (by tree or commit sha); all descendants with `recursive`. */
  async tree(treeish: string, recursive = false): Promise<TreeEntry[]> {
    const r = await this.exec(['ls-tree', '-l', ...(recursive ? ['-r', '-t'] : []), treeish]);
    if (r.code !== 0) throw new GitCommandError(['ls-tree', treeish], r.code, r.stderr);
    return parseTree(r.stdout);
  }

  async readBlob(sha: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        [...SAFE_CONFIG, 'cat-file', 'blob', sha],
        {
          env: { ...process.env, GIT_DIR: this.gitDir },
          encoding: 'buffer',
          maxBuffer: MAX_BUFFER,
        },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
    });
  }

  async writeBlob(content: Buffer | string): Promise<string> {
    return (await this.run(['hash-object', '-w', '--stdin'], { input: content })).trim();
  }

  /**
   * A tree: `base` (a tree or commit, or null for empty) with `changes` applied, built in a
   * throw-away index so nothing else is disturbed.
   */
  async writeTree(base: string | null, changes: FileChange[]): Promise<string> {
    const tmp = mkdtempSync(join(tmpdir(), 'standin-index-'));
    const env = { GIT_INDEX_FILE: join(tmp, 'index') };
    try {
      if (base) await this.run(['read-tree', base], { env });
      else await this.run(['read-tree', '--empty'], { env });
      let input = '';
      for (const change of changes) {
        if (change.sha) {
          input += `${change.mode ?? '100644'} ${change.sha}\t${change.path}\n`;
        } else if (change.content === null) {
          await this.run(['update-index', '--force-remove', '--', change.path], { env });
        } else {
          const sha = await this.writeBlob(change.content);
          input += `${change.mode ?? '100644'} ${sha}\t${change.path}\n`;
        }
      }
      if (input) await this.run(['update-index', '--add', '--index-info'], { env, input });
      return (await this.run(['write-tree'], { env })).trim();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  async commitTree(
    tree: string,
    parents: string[],
    message: string,
    author: Person,
    committer: Person = author,
  ): Promise<string> {
    const date = this.now().toISOString();
    const env = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_AUTHOR_DATE: gitDate(author.date ?? date),
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
      GIT_COMMITTER_DATE: gitDate(committer.date ?? date),
    };
    const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p])];
    return (await this.run(args, { env, input: message })).trim();
  }

  /** One commit on `parent` (null: a root commit) applying `changes`. */
  async commitChanges(
    parent: string | null,
    changes: FileChange[],
    message: string,
    author: Person,
    committer: Person = author,
  ): Promise<string> {
    const tree = await this.writeTree(parent, changes);
    return this.commitTree(tree, parent ? [parent] : [], message, author, committer);
  }

  /** The tree of merging two commits, or null when they conflict (`merge-tree --write-tree`). */
  async mergeTree(ours: string, theirs: string): Promise<string | null> {
    const r = await this.exec(['merge-tree', '--write-tree', '--no-messages', ours, theirs]);
    if (r.code === 0) return (r.stdout.split('\n')[0] ?? '').trim();
    if (r.code === 1) return null;
    throw new GitCommandError(['merge-tree', ours, theirs], r.code, r.stderr);
  }

  /** Files changed between two commits, as the pulls and commits APIs list them. */
  async diff(base: string | null, head: string): Promise<FileDiff[]> {
    const from = base ?? (await this.writeTree(null, []));
    const nameStatus = await this.run(['diff-tree', '-r', '-M', '--raw', '-z', from, head]);
    const numstat = await this.run(['diff-tree', '-r', '-M', '--numstat', '-z', from, head]);
    const counts = new Map<string, { additions: number; deletions: number }>();
    const numParts = numstat.split('\0');
    for (let i = 0; i < numParts.length; i++) {
      const m = /^(\d+|-)\t(\d+|-)\t(.*)$/.exec(numParts[i] ?? '');
      if (!m) continue;
      let path = m[3] ?? '';
      if (path === '') {
        // A rename: the old and new paths follow as separate fields.
        i += 2;
        path = numParts[i] ?? '';
      }
      counts.set(path, { additions: Number(m[1]) || 0, deletions: Number(m[2]) || 0 });
    }
    const parts = nameStatus.split('\0');
    const files: FileDiff[] = [];
    for (let i = 0; i < parts.length; i++) {
      const meta = parts[i] ?? '';
      if (!meta.startsWith(':')) continue;
      const [, , , newSha = '', status = ''] = meta.slice(1).split(' ');
      const kind = status[0];
      let filename = parts[++i] ?? '';
      let previous: string | undefined;
      if (kind === 'R' || kind === 'C') {
        previous = filename;
        filename = parts[++i] ?? '';
      }
      const c = counts.get(filename) ?? { additions: 0, deletions: 0 };
      files.push({
        filename,
        status:
          kind === 'A' ? 'added' : kind === 'D' ? 'removed' : kind === 'R' ? 'renamed' : 'modified',
        ...c,
        ...(previous ? { previous_filename: previous } : {}),
        sha: kind === 'D' ? '0'.repeat(40) : newSha,
      });
    }
    return files;
  }
}

function parseTree(out: string): TreeEntry[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [meta = '', path = ''] = line.split('\t');
      const [mode = '', type = '', sha = '', size = '-'] = meta.split(/\s+/);
      return {
        mode,
        type: type as TreeEntry['type'],
        sha,
        path,
        ...(type === 'blob' ? { size: Number(size) } : {}),
      };
    });
}
