import { mkdtemp, cp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process, as a user would from `cwd`. */
export async function runCli(
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    cwd,
    env,
  });
  return { code, out, err };
}

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** A throwaway copy of this repository's access-repo files (policies, form, grants). */
export async function copyAccessRepo(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gatepass-cli-'));
  await cp(join(REPO_ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
  await mkdir(join(dir, '.github'), { recursive: true });
  await cp(join(REPO_ROOT, '.github', 'ISSUE_TEMPLATE'), join(dir, '.github', 'ISSUE_TEMPLATE'), {
    recursive: true,
  });
  await mkdir(join(dir, 'grants'), { recursive: true });
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
