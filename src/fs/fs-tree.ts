import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { TreeReader } from '../core/ports.js';

const toPosix = (p: string): string => p.split(sep).join('/');

/** A checkout on disk as a tree reader (what `gatepass validate` and the generators read). */
export function fsTree(root: string): TreeReader {
  return {
    async listFiles(dir) {
      const base = join(root, dir);
      const s = await stat(base).catch(() => undefined);
      if (!s?.isDirectory()) return [];
      const entries = await readdir(base, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => toPosix(relative(root, join(e.parentPath, e.name))))
        .sort();
    },
    async readFiles(paths) {
      const texts = await Promise.all(
        paths.map((p) =>
          readFile(join(root, p), 'utf8').catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT' || e.code === 'EISDIR') return null;
            throw e;
          }),
        ),
      );
      return new Map(paths.map((p, i) => [p, texts[i] ?? null]));
    },
  };
}
