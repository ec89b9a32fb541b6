import { describe, it, expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';

const run = promisify(execFile);

/** What `npx gatepass` runs after `npm ci` (which builds lib/ through the `prepare` script). */
async function gatepass(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'gatepass.js'), ...args],
      {
        cwd: REPO_ROOT,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('the gatepass executable', () => {
  it('validates the example access repo cleanly', async () => {
    expect(await gatepass('validate')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('exits 2 on a usage error', async () => {
    const r = await gatepass('validate', '--no-such-flag');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option/);
  });
});
