import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Rebuilds a committed bundle into a temp file with its build script and says whether the
 * committed one is byte-identical (a stale bundle would ship code the sources no longer say).
 */
export function rebuildAndCompare(
  script: string,
  committedPath: string,
): { committed: string; fresh: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatepass-bundle-'));
  try {
    const out = join(dir, 'index.js');
    execFileSync('bash', [join(ROOT, script), out], { cwd: ROOT });
    return {
      committed: readFileSync(join(ROOT, committedPath), 'utf8'),
      fresh: readFileSync(out, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
