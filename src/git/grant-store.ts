import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GrantWriter } from '../core/ports.js';
import type { GitRepo } from './git-repo.js';

/**
 * The reconcile engine's grant writer over a checkout of `remote`/`branch`: files are written in
 * the work tree, committed (only the paths the step names, with git's plumbing: nothing walks
 * the whole checkout, so a step costs the same among 10 live grants as among 10,000) and pushed
 * to the branch.
 */
export function gitGrantWriter(repo: GitRepo, remote: string, branch: string): GrantWriter {
  const inside = (path: string): string => join(repo.dir, path);
  // Set when a provider got the work tree: it (or a command script) may have left anything.
  let lent = false;
  const discard = async () => {
    await repo.resetHard('HEAD');
    await repo.clean();
  };
  return {
    workdir: repo.dir,
    lendWorkTree() {
      lent = true;
      return repo.dir;
    },
    isClean: () => repo.isClean(),
    async refresh() {
      await repo.fetch(remote, branch);
      await repo.resetHard(`refs/remotes/${remote}/${branch}`);
      lent = false;
    },
    async discard() {
      await discard();
      lent = false;
    },
    async write(path, text) {
      await mkdir(dirname(inside(path)), { recursive: true });
      await writeFile(inside(path), text);
    },
    async remove(path) {
      await rm(inside(path), { force: true });
    },
    async commit(message, paths) {
      // Only `paths` are staged, never `.`, so a file a provider or command script left behind
      // is not pushed to the access repo; a script that borrowed the tree could also have
      // staged something, which the commit would take, so that is unstaged first.
      if (lent) await repo.unstageAll();
      await repo.commitPaths(message, paths);
      if (lent) {
        // What else the step left (untracked files, edits to tracked ones) goes: the next step
        // starts from the commit, and nothing stray survives into a later commit.
        await discard();
        lent = false;
      }
    },
    push: () => repo.push(remote, branch),
  };
}
