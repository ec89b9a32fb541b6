import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { formatProblem } from '../core/problem.js';
import type { PolicySet } from '../core/policy.js';
import { isPolicyFile, POLICIES_DIR } from '../core/repo-layout.js';
import { loadPolicyTree } from '../engine/policies.js';
import { fsTree } from '../fs/fs-tree.js';
import { EXIT, type CliIo } from './io.js';

export interface RepoFile {
  /** Repository-relative, `/`-separated. */
  path: string;
  text: string;
}

const toPosix = (p: string): string => p.split(sep).join('/');

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Files under `dir` (relative to `root`) whose names end in one of `extensions`, sorted. */
export async function readTree(
  root: string,
  dir: string,
  extensions: readonly string[],
): Promise<RepoFile[]> {
  const base = join(root, dir);
  if (!(await exists(base))) return [];
  const entries = await readdir(base, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && extensions.some((x) => e.name.endsWith(x)))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  return Promise.all(
    files.map(async (f) => ({ path: toPosix(relative(root, f)), text: await readFile(f, 'utf8') })),
  );
}

export async function readOptional(root: string, path: string): Promise<string | undefined> {
  return readFile(join(root, path), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

/** Every policy file of a checkout, read as every other path reads them (recursive). */
export async function readPolicyFiles(root: string): Promise<RepoFile[]> {
  const tree = fsTree(root);
  const paths = (await tree.listFiles(POLICIES_DIR)).filter(isPolicyFile);
  const texts = await tree.readFiles(paths);
  return paths.map((path) => ({ path, text: texts.get(path) ?? '' }));
}

/**
 * Policies of a checkout for commands that generate files from them: a broken policy set is
 * reported and yields nothing, since generating from it would offer what the app refuses.
 */
export async function loadCheckedPolicies(
  io: CliIo,
  dir: string,
): Promise<{ root: string; policies: PolicySet } | { exit: number }> {
  const root = resolve(io.cwd, dir);
  if (!(await assertDirectory(io, root))) return { exit: EXIT.usage };
  const { policies, problems } = await loadPolicyTree(fsTree(root));
  if (problems.length > 0) {
    for (const p of problems) io.err(formatProblem(p) + '\n');
    return { exit: EXIT.problems };
  }
  // A form with no resource is one GitHub refuses, and a CODEOWNERS file written here would be
  // a stray: this is almost always the wrong directory.
  if (policies.resources.size === 0) {
    io.err(
      `gatepass: no resources in ${join(root, 'policies')}/*.yaml; run this in the access repo (or pass its directory), or start one with \`gatepass init\`\n`,
    );
    return { exit: EXIT.usage };
  }
  return { root, policies };
}

export async function assertDirectory(io: CliIo, root: string): Promise<boolean> {
  const s = await stat(root).catch(() => undefined);
  if (!s?.isDirectory()) {
    io.err(`gatepass: ${root} is not a directory\n`);
    return false;
  }
  return true;
}
