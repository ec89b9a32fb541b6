import { resolve } from 'node:path';
import { formatProblem } from '../core/problem.js';
import { validateRepo } from '../core/validate-repo.js';
import { ISSUE_FORM_PATH } from '../core/issue-form.js';
import { getProvider, validateTargetWithProviders } from '../providers/index.js';
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
  opts: { json?: boolean; online?: boolean },
): Promise<number> {
  const root = resolve(io.cwd, dir);
  if (!(await assertDirectory(io, root))) return EXIT.usage;
  const { policies, problems } = validateRepo(await readRepoSnapshot(root), {
    validateTarget: validateTargetWithProviders,
  });
  // Online checks ask the targets themselves (with the providers' credentials): warnings only,
  // and only for policies that are valid offline.
  const warnings: string[] = [];
  if (opts.online && problems.length === 0)
    for (const resource of policies.resources.values()) {
      const check = getProvider(resource.provider).checkResource;
      if (!check) continue;
      const where = `${resource.source.file}${resource.source.line ? `:${resource.source.line}` : ''}`;
      for (const w of await check(resource))
        warnings.push(`${where}: warning: resource ${resource.name}: ${w}`);
    }
  if (opts.json)
    io.out(
      JSON.stringify(
        { ok: problems.length === 0, problems, ...(opts.online ? { warnings } : {}) },
        null,
        2,
      ) + '\n',
    );
  else for (const p of [...problems.map(formatProblem), ...warnings]) io.out(p + '\n');
  return problems.length === 0 ? EXIT.ok : EXIT.problems;
}
