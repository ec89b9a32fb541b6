import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GitRepo } from '../../src/git/git-repo.js';

export interface AccessRepoFixture {
  /** Temp folder holding everything; removed by cleanup. */
  root: string;
  /** The bare repository playing GitHub. */
  remote: string;
  /** A clone with `main` checked out. */
  dir: string;
  repo: GitRepo;
  /** Another clone of the same remote (a concurrent run). */
  cloneAgain(name?: string): Promise<GitRepo>;
  write(path: string, content: string, base?: string): void;
  cleanup(): void;
}

const git = (cwd: string, args: string[], input?: string): string =>
  execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    input,
    encoding: 'utf8',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });

export const POLICY_EXAMPLE = `resources:
  prod-db:
    description: Production database, read-only
    provider: postgres
`;

/** A bare remote and a clone with an initial commit holding `policies/` and `grants/`. */
export async function initAccessRepo(): Promise<AccessRepoFixture> {
  const root = mkdtempSync(join(tmpdir(), 'gatepass-git-'));
  const remote = join(root, 'remote.git');
  git(root, ['init', '--quiet', '--bare', remote]);
  const dir = join(root, 'work');
  const repo = await GitRepo.clone(remote, dir);
  const write = (path: string, content: string, base = dir) => {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), content);
  };
  git(dir, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  write('policies/example.yaml', POLICY_EXAMPLE);
  write('grants/.gitkeep', '');
  await repo.add(['policies', 'grants']);
  await repo.commit('Initial access repo');
  if ((await repo.push('origin', 'main')) !== 'ok') throw new Error('initial push failed');
  git(remote, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  return {
    root,
    remote,
    dir,
    repo,
    write,
    cloneAgain: (name = 'other') => GitRepo.clone(remote, join(root, name)),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Appends `count` commits to the repo's current branch in one `git fast-import` (a few
 * hundred commits in milliseconds), each adding `grants/<resource>/gN.yaml` with trailers.
 */
export function appendGrantCommits(
  dir: string,
  count: number,
  resource = 'prod-db',
  /** Folder of the i-th grant below `grants/` (real repos archive by month: small folders). */
  folder: (i: number) => string = () => resource,
): void {
  const head = git(dir, ['rev-parse', 'HEAD']).trim();
  const branch = git(dir, ['symbolic-ref', 'HEAD']).trim();
  let stream = '';
  for (let i = 1; i <= count; i++) {
    const msg = `Grant g${i}: requested\n\nGatepass-Grant: g${i}\nGatepass-Event: requested\n`;
    const body = `id: g${i}\nresource: ${resource}\n`;
    stream +=
      `commit ${branch}\n` +
      `author Req ${i} <r${i}@example.com> ${1700000000 + i} +0000\n` +
      `committer gatepass <gatepass@users.noreply.github.com> ${1700000000 + i} +0000\n` +
      `data ${Buffer.byteLength(msg)}\n${msg}` +
      (i === 1 ? `from ${head}\n` : '') +
      `M 100644 inline grants/${folder(i)}/g${i}.yaml\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  }
  git(dir, ['fast-import', '--quiet'], stream);
  git(dir, ['reset', '--quiet', '--hard']);
}
