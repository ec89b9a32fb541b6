import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GrantWriter } from '../core/ports.js';
import type { GitRepo } from './git-repo.js';

/**
 * The reconcile engine's grant writer over a checkout of `remote`/`branch`: files are written in
 * the work tree, committed (only the paths the step names; anything else left there is cleaned
 * away) and pushed to the branch.
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
    async commit(message, paths) {
      // `add -A -- <path>` stages a write, a change or a removal of exactly that path; never `.`,
      // so a file a provider or command script left behind is not pushed to the access repo.
      await repo.stage(paths);
      await repo.commit(message);
      // What else the step left (untracked files, edits to tracked ones) goes: the next step
      // starts from the commit, and nothing stray survives into a later commit.
      await repo.resetHard('HEAD');
      await repo.clean();
    },
    push: () => repo.push(remote, branch),
  };
}
