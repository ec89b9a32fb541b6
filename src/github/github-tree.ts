import type { AppGitHub, TreeReader } from '../core/ports.js';

/**
 * The files of the access repo at `ref` through the contents API, as a tree reader: folders
 * are listed recursively (a policy in `policies/team/x.yaml` counts like any other).
 */
export function githubTree(client: Pick<AppGitHub, 'directory' | 'file'>, ref: string): TreeReader {
  async function walk(dir: string, out: string[]): Promise<void> {
    const entries = await client.directory(dir, ref);
    const folders: string[] = [];
    for (const e of entries) {
      if (e.type === 'file') out.push(e.path);
      else if (e.type === 'dir') folders.push(e.path);
    }
    for (const f of folders) await walk(f, out);
  }
  return {
    async listFiles(dir) {
      const out: string[] = [];
      await walk(dir, out);
      return out.sort();
    },
    async readFiles(paths) {
      const files = await Promise.all(paths.map((p) => client.file(p, ref)));
      return new Map(paths.map((p, i) => [p, files[i]?.text ?? null]));
    },
  };
}
