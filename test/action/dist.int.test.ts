import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, rebuildAndCompare } from '../helpers/bundle.js';

const DIST = join(ROOT, 'action/dist/index.js');

describe('the committed action bundle', () => {
  it('is what scripts/build-action.sh builds from the current sources (rebuild and commit if not)', () => {
    const { committed, fresh } = rebuildAndCompare(
      'scripts/build-action.sh',
      'action/dist/index.js',
    );
    // Comparing lengths first keeps a 2 MB diff out of the failure message.
    expect(committed.length).toBe(fresh.length);
    expect(committed === fresh).toBe(true);
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
