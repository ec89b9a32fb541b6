import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, rebuildAndCompare } from '../helpers/bundle.js';

const DIST = join(ROOT, 'action/app-dist/index.js');

describe('the committed app bundle for GitHub Actions', () => {
  it('is what scripts/build-app.sh builds from the current sources (rebuild and commit if not)', () => {
    const { committed, fresh } = rebuildAndCompare(
      'scripts/build-app.sh',
      'action/app-dist/index.js',
    );
    expect(committed.length).toBe(fresh.length);
    expect(committed === fresh).toBe(true);
  });

  it('starts on this Node and fails cleanly without a token', () => {
    const r = spawnSync(process.execPath, [DIST], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('::error::GATEPASS_APP_TOKEN is not set');
    expect(r.stderr).not.toMatch(/Dynamic require|ERR_|at file:/);
  });
});
