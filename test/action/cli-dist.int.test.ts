import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, rebuildAndCompare } from '../helpers/bundle.js';

const CLI = join(ROOT, 'action/cli.js');

describe('the committed CLI bundle (action/cli.js)', () => {
  it('is what scripts/build-cli.sh builds from the current sources (rebuild and commit if not)', () => {
    const { committed, fresh } = rebuildAndCompare('scripts/build-cli.sh', 'action/cli.js');
    expect(committed.length).toBe(fresh.length);
    expect(committed === fresh).toBe(true);
  });

  it('runs alone, outside this checkout and without node_modules: an access repo needs nothing installed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-cli-bundle-'));
    try {
      cpSync(CLI, join(dir, 'action', 'cli.js'));
      cpSync(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
      const run = (...args: string[]) =>
        spawnSync(process.execPath, ['action/cli.js', ...args], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '' },
          encoding: 'utf8',
          timeout: 20_000,
        });
      expect(run('--version').stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
      const template = run('template');
      expect(template.stderr).toBe('');
      expect(template.status).toBe(0);
      const validate = run('validate');
      expect({ status: validate.status, stderr: validate.stderr }).toEqual({
        status: 0,
        stderr: '',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
