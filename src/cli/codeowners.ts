import { join, dirname } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { LOGIN_PATTERN, TEAM_PATTERN } from '../core/identity.js';
import {
  renderCodeowners,
  renderCodeownersBlock,
  mergeCodeowners,
  linesAfterGatepassBlock,
  CODEOWNERS_PATH,
} from '../core/codeowners.js';
import { loadCheckedPolicies, readOptional } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export async function runCodeowners(
  io: CliIo,
  dir: string,
  opts: { policyOwners: string[]; stdout?: boolean; check?: boolean },
): Promise<number> {
  const owners = opts.policyOwners.map((o) => o.replace(/^@/, ''));
  const bad = owners.filter((o) => !LOGIN_PATTERN.test(o) && !TEAM_PATTERN.test(o));
  if (bad.length > 0) {
    io.err(
      `gatepass: --policy-owners takes user logins or org/team slugs; not valid: ${bad.join(', ')}\n`,
    );
    return EXIT.usage;
  }
  const loaded = await loadCheckedPolicies(io, dir);
  if ('exit' in loaded) return loaded.exit;
  const { root, policies } = loaded;
  if (opts.stdout) {
    io.out(renderCodeownersBlock(policies, owners));
    return EXIT.ok;
  }
  const existing = (await readOptional(root, CODEOWNERS_PATH)) ?? '';
  const merged = mergeCodeowners(existing, renderCodeowners(policies, owners));
  if (opts.check) {
    const later = linesAfterGatepassBlock(existing);
    for (const l of later)
      io.err(
        `${CODEOWNERS_PATH}: "${l}" comes after the gatepass block and may take grant folders away from their approvers; run \`gatepass codeowners\`\n`,
      );
    const current = merged === existing;
    if (!current && later.length === 0)
      io.err(`${CODEOWNERS_PATH}: out of date; run \`gatepass codeowners\`\n`);
    return current ? EXIT.ok : EXIT.problems;
  }
  for (const l of linesAfterGatepassBlock(existing))
    io.err(
      `gatepass: warning: ${CODEOWNERS_PATH}: "${l}" came after the gatepass block, where it could override grant ownership; it now comes before it\n`,
    );
  await mkdir(dirname(join(root, CODEOWNERS_PATH)), { recursive: true });
  await writeFile(join(root, CODEOWNERS_PATH), merged);
  io.out(`wrote the gatepass blocks of ${CODEOWNERS_PATH}\n`);
  return EXIT.ok;
}
