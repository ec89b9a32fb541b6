import { join, dirname } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { LOGIN_PATTERN, TEAM_PATTERN } from '../core/identity.js';
import { renderCodeownersBlock, mergeCodeowners, CODEOWNERS_PATH } from '../core/codeowners.js';
import { loadCheckedPolicies, readOptional } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export async function runCodeowners(
  io: CliIo,
  dir: string,
  opts: { policyOwners: string[]; stdout?: boolean },
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
  const block = renderCodeownersBlock(policies, owners);
  if (opts.stdout) {
    io.out(block);
    return EXIT.ok;
  }
  const merged = mergeCodeowners((await readOptional(root, CODEOWNERS_PATH)) ?? '', block);
  await mkdir(dirname(join(root, CODEOWNERS_PATH)), { recursive: true });
  await writeFile(join(root, CODEOWNERS_PATH), merged);
  io.out(`wrote the gatepass block of ${CODEOWNERS_PATH}\n`);
  return EXIT.ok;
}
