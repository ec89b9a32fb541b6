import { resolve } from 'node:path';
import { formatProblem } from '../core/problem.js';
import { validateRepo } from '../core/validate-repo.js';
import { ISSUE_FORM_PATH } from '../core/issue-form.js';
import { validateTargetWithProviders } from '../providers/index.js';
import { assertDirectory, readOptional, readPolicyFiles, readTree } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export async function readRepoSnapshot(root: string) {
  return {
    policies: await readPolicyFiles(root),
    issueForm: await readOptional(root, ISSUE_FORM_PATH),
    grants: await readTree(root, 'grants', ['.yaml', '.yml']),
  };
}

export async function runValidate(
  io: CliIo,
  dir: string,
  opts: { json?: boolean },
): Promise<number> {
  const root = resolve(io.cwd, dir);
  if (!(await assertDirectory(io, root))) return EXIT.usage;
  const { problems } = validateRepo(await readRepoSnapshot(root), {
    validateTarget: validateTargetWithProviders,
  });
  if (opts.json) io.out(JSON.stringify({ ok: problems.length === 0, problems }, null, 2) + '\n');
  else for (const p of problems) io.err(formatProblem(p) + '\n');
  return problems.length === 0 ? EXIT.ok : EXIT.problems;
}
