import { resolve } from 'node:path';
import { systemClock } from '../core/clock.js';
import type { PolicySet } from '../core/policy.js';
import { formatProblem, type Problem } from '../core/problem.js';
import { validateRepo } from '../core/validate-repo.js';
import { ISSUE_FORM_PATH } from '../core/issue-form.js';
import { GRANTS_DIR } from '../core/repo-layout.js';
import { getProvider, validateTargetWithProviders } from '../providers/index.js';
import type { ProviderContext } from '../providers/provider.js';
import { assertDirectory, readOptional, readPolicyFiles, readTree } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export async function readRepoSnapshot(root: string) {
  return {
    policies: await readPolicyFiles(root),
    issueForm: await readOptional(root, ISSUE_FORM_PATH),
    grants: await readTree(root, GRANTS_DIR, ['.yaml', '.yml']),
  };
}

/**
 * `--check-targets`: each provider that can connects to its target with the secrets in this
 * process's environment and says what is wrong (a PostgreSQL admin that cannot grant a policy
 * role) or unsafe (a superuser admin).
 */
async function checkTargets(
  policies: PolicySet,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ problems: Problem[]; warnings: Problem[] }> {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  for (const resource of policies.resources.values()) {
    const provider = getProvider(resource.provider);
    if (!provider.checkTarget) continue;
    const at = { file: resource.source.file, line: resource.source.line };
    const ctx: ProviderContext = {
      resource,
      env,
      clock: systemClock,
      mask: () => undefined,
      liveGrants: [],
      log: () => undefined,
      publicKeys: async () => [],
      workdir: '/nonexistent',
    };
    try {
      const r = await provider.checkTarget(ctx);
      for (const m of r.problems)
        problems.push({ ...at, message: `resource ${resource.name}: ${m}` });
      for (const m of r.warnings)
        warnings.push({ ...at, message: `resource ${resource.name}: ${m}` });
    } catch (e) {
      problems.push({ ...at, message: `resource ${resource.name}: ${(e as Error).message}` });
    }
  }
  return { problems, warnings };
}

export async function runValidate(
  io: CliIo,
  dir: string,
  opts: { json?: boolean; checkTargets?: boolean },
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const root = resolve(io.cwd, dir);
  if (!(await assertDirectory(io, root))) return EXIT.usage;
  const validation = validateRepo(await readRepoSnapshot(root), {
    validateTarget: validateTargetWithProviders,
  });
  const problems = [...validation.problems];
  const warnings = [...validation.warnings];
  if (opts.checkTargets) {
    const checked = await checkTargets(validation.policies, env);
    problems.push(...checked.problems);
    warnings.push(...checked.warnings);
  }
  if (opts.json)
    io.out(JSON.stringify({ ok: problems.length === 0, problems, warnings }, null, 2) + '\n');
  else {
    for (const p of problems) io.err(formatProblem(p) + '\n');
    // Warnings do not fail validation: the grant still ends where it was issued.
    for (const w of warnings) io.err(`warning: ${formatProblem(w)}\n`);
  }
  return problems.length === 0 ? EXIT.ok : EXIT.problems;
}
