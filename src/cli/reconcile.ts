import { resolve } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { formatProblem } from '../core/problem.js';
import { describeStep } from '../core/reconcile-plan.js';
import { reconcile } from '../engine/reconcile/index.js';
import { GitRepo } from '../git/git-repo.js';
import { assertDirectory } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

/**
 * `gatepass reconcile --dry-run`: the plan the action would follow for this checkout's HEAD.
 * Changing things (issuing, committing) is the action's job alone, where the secrets and the
 * concurrency group are.
 */
export async function runReconcile(
  io: CliIo,
  dir: string,
  opts: { dryRun?: boolean; at?: string },
  clock: Clock = systemClock,
): Promise<number> {
  if (!opts.dryRun) {
    io.err(
      'gatepass: reconcile only runs with --dry-run here; the gatepass action applies the plan\n',
    );
    return EXIT.usage;
  }
  const root = resolve(io.cwd, dir);
  if (!(await assertDirectory(io, root))) return EXIT.usage;
  let now = clock;
  if (opts.at !== undefined) {
    const t = new Date(opts.at);
    if (Number.isNaN(t.getTime())) {
      io.err(`gatepass: --at ${JSON.stringify(opts.at)} is not an ISO 8601 time\n`);
      return EXIT.usage;
    }
    now = { now: () => t };
  }
  const repo = await GitRepo.open(root).catch(() => null);
  if (!repo) {
    io.err(`gatepass: ${root} is not a git checkout\n`);
    return EXIT.usage;
  }
  const result = await reconcile({
    history: repo,
    branch: 'HEAD',
    clock: now,
    env: {},
    mask: () => {},
    log: () => {},
    dryRun: true,
  });
  if (result.plan.length === 0) io.out('nothing to do\n');
  for (const s of result.plan) io.out(`${describeStep(s)}\n`);
  for (const p of result.problems) io.err(`${formatProblem(p)}\n`);
  return result.problems.length ? EXIT.problems : EXIT.ok;
}
