import { join, dirname } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { renderIssueForm, ISSUE_FORM_PATH } from '../core/issue-form.js';
import { loadCheckedPolicies, readOptional } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export async function runTemplate(
  io: CliIo,
  dir: string,
  opts: { check?: boolean },
): Promise<number> {
  const loaded = await loadCheckedPolicies(io, dir);
  if ('exit' in loaded) return loaded.exit;
  const { root, policies } = loaded;
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
