import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = join(ROOT, 'action/app-dist/index.js');

describe('the committed app bundle for GitHub Actions', () => {
  it('is what scripts/build-app.sh builds from the current sources (rebuild and commit if not)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-app-dist-'));
    try {
      const out = join(dir, 'index.js');
      execFileSync('bash', [join(ROOT, 'scripts/build-app.sh'), out], { cwd: ROOT });
      const fresh = readFileSync(out, 'utf8');
      const committed = readFileSync(DIST, 'utf8');
      expect(committed.length).toBe(fresh.length);
      expect(committed === fresh).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
