import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { startupProblems } from '../../src/app/start-check.js';
import { REPO_ROOT } from '../helpers/cli.js';

const none = () => false;
const all = () => true;
const ready = {
  APP_ID: '7',
  PRIVATE_KEY_PATH: './key.pem',
  WEBHOOK_SECRET: 's',
  GATEPASS_ACCESS_REPO: 'acme/access',
};

describe('startupProblems (npm start checks .env before Probot runs)', () => {
  it('accepts a complete setup, and a registration for an organisation', () => {
    expect(startupProblems(ready, all)).toEqual([]);
    expect(startupProblems({ GH_ORG: 'acme' }, none)).toEqual([]);
  });

  it('refuses to register an app without GH_ORG (it would be user-owned)', () => {
    expect(startupProblems({}, none)).toEqual([expect.stringMatching(/set GH_ORG=/)]);
  });

  it('names a key file that is not there', () => {
    expect(startupProblems(ready, none)).toEqual([
      expect.stringMatching(/^PRIVATE_KEY_PATH=\.\/key\.pem: no such file/),
    ]);
  });

  it('names the missing webhook secret and a missing or malformed access repo', () => {
    expect(
      startupProblems({ ...ready, WEBHOOK_SECRET: '', GATEPASS_ACCESS_REPO: 'nope' }, all),
    ).toEqual([
      expect.stringMatching(/WEBHOOK_SECRET/),
      expect.stringMatching(/GATEPASS_ACCESS_REPO/),
    ]);
  });
});

describe('cp .env.example .env && npm start', () => {
  it('says what to set, exit 2, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-start-'));
    try {
      cpSync(join(REPO_ROOT, '.env.example'), join(dir, '.env'));
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'lib', 'app', 'start.js')], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.stderr).toMatch(/^gatepass: cannot start the app:\n {2}- APP_ID is empty.*GH_ORG=/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('app.yml', () => {
  it('registers no placeholder webhook URL', () => {
    const manifest = parse(readFileSync(join(REPO_ROOT, 'app.yml'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest.hook_attributes).toBeUndefined();
    expect(JSON.stringify(manifest)).not.toMatch(/example\.(com|org)/);
  });
});
