import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

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

export async function readPolicyFiles(root: string): Promise<RepoFile[]> {
  return readTree(root, 'policies', ['.yaml', '.yml']);
}
