import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GrantWriter } from '../core/ports.js';
import type { GitRepo } from './git-repo.js';

/**
 * The reconcile engine's grant writer over a checkout of `remote`/`branch`: files are written in
 * the work tree, committed with everything else a step left there, and pushed to the branch.
 */
export function gitGrantWriter(repo: GitRepo, remote: string, branch: string): GrantWriter {
  const inside = (path: string): string => join(repo.dir, path);
  return {
    workdir: repo.dir,
    isClean: () => repo.isClean(),
    async refresh() {
      await repo.fetch(remote, branch);
      await repo.resetHard(`refs/remotes/${remote}/${branch}`);
    },
    async discard() {
      await repo.resetHard('HEAD');
      await repo.clean();
    },
    async write(path, text) {
      await mkdir(dirname(inside(path)), { recursive: true });
      await writeFile(inside(path), text);
    },
    async remove(path) {
      await rm(inside(path), { force: true });
    },
    async commit(message) {
      // Everything in the work tree: the grant, and files a provider keeps in the repo (the KRL).
      await repo.add(['.']);
      await repo.commit(message);
    },
    push: () => repo.push(remote, branch),
  };
}
