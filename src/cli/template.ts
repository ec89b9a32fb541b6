import { resolve, join, dirname } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { formatProblem } from '../core/problem.js';
import { loadPolicies } from '../core/policy-load.js';
import { validateTargetWithProviders } from '../providers/index.js';
import { renderIssueForm, ISSUE_FORM_PATH } from '../core/issue-form.js';
import { readOptional, readPolicyFiles } from './repo-files.js';
import { assertDirectory } from './validate.js';
import { EXIT, type CliIo } from './io.js';

export async function runTemplate(
  io: CliIo,
  dir: string,
  opts: { check?: boolean },
): Promise<number> {
  const root = resolve(io.cwd, dir);
  if (!(await assertDirectory(io, root))) return EXIT.usage;
  const { policies, problems } = loadPolicies(await readPolicyFiles(root), {
    validateTarget: validateTargetWithProviders,
  });
  if (problems.length > 0) {
    // A form generated from broken policies would offer resources the app refuses.
    for (const p of problems) io.err(formatProblem(p) + '\n');
    return EXIT.problems;
  }
  const form = renderIssueForm(policies);
  if (opts.check) {
    const current = (await readOptional(root, ISSUE_FORM_PATH)) === form;
    if (!current) io.err(`${ISSUE_FORM_PATH}: out of date; run \`gatepass template\`\n`);
    return current ? EXIT.ok : EXIT.problems;
  }
  await mkdir(dirname(join(root, ISSUE_FORM_PATH)), { recursive: true });
  await writeFile(join(root, ISSUE_FORM_PATH), form);
  io.out(`wrote ${ISSUE_FORM_PATH} (${policies.resources.size} resources)\n`);
  return EXIT.ok;
}
