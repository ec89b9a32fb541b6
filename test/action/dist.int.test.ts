import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = join(ROOT, 'action/dist/index.js');

describe('the committed action bundle', () => {
  it('is what scripts/build-action.sh builds from the current sources (rebuild and commit if not)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-dist-'));
    try {
      const out = join(dir, 'index.js');
      execFileSync('bash', [join(ROOT, 'scripts/build-action.sh'), out], { cwd: ROOT });
      const fresh = readFileSync(out, 'utf8');
      const committed = readFileSync(DIST, 'utf8');
      // Comparing lengths first keeps a 2 MB diff out of the failure message.
      expect(committed.length).toBe(fresh.length);
      expect(committed === fresh).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts on this Node and fails cleanly, with a clear message, when given no inputs', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'gatepass-run-'));
    try {
      const r = spawnSync(process.execPath, [DIST], {
        cwd: workspace,
        env: { PATH: process.env.PATH ?? '', GITHUB_WORKSPACE: workspace },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('::error::input "token" is required');
      expect(r.stderr).not.toMatch(/Dynamic require|ERR_|at file:/);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
