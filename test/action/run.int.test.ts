import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/core/clock.js';
import { ConfigurationError } from '../../src/core/errors.js';
import { readInputs, run, type ActionCore, type SummaryLike } from '../../src/action/run.js';
import { landGrant, pendingGrant, setupRepo, type TestRepo } from '../helpers/reconcile.js';

/** An @actions/core stand-in that records everything the action reports. */
function fakeCore(inputs: Record<string, string>) {
  const outputs: Record<string, unknown> = {};
  const secrets: string[] = [];
  const info: string[] = [];
  const warnings: string[] = [];
  const failed: string[] = [];
  let summary = '';
  const s: SummaryLike = {
    addRaw: (t) => {
      summary += t;
      return s;
    },
    write: async () => s,
  };
  const core: ActionCore = {
    getInput: (name) => inputs[name] ?? '',
    setOutput: (n, v) => void (outputs[n] = v),
    setFailed: (m) => void failed.push(String(m)),
    setSecret: (x) => void secrets.push(x),
    info: (m) => void info.push(m),
    warning: (m) => void warnings.push(m),
    summary: s,
  };
  return { core, outputs, secrets, info, warnings, failed, summary: () => summary };
}

describe('readInputs', () => {
  it('needs a token unless it is a dry run, and masks it', async () => {
    const env = { GITHUB_REPOSITORY: 'acme/access', GITHUB_REF: 'refs/heads/main' };
    await expect(readInputs(fakeCore({}).core, env)).rejects.toThrow(/"token" is required/);
    const f = fakeCore({ token: 'ghs_secret', 'dry-run': 'false' });
    expect(await readInputs(f.core, env)).toMatchObject({
      token: 'ghs_secret',
      dryRun: false,
      removeDrift: false,
      branch: 'main',
      repository: 'acme/access',
    });
    expect(f.secrets).toEqual(['ghs_secret']);
  });

  it('on a schedule (no repository in the payload) takes the branch GITHUB_REF names, never a literal main', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-event-'));
    try {
      const path = join(dir, 'event.json');
      writeFileSync(path, JSON.stringify({ schedule: '*/5 * * * *' }));
      const env = {
        GITHUB_REPOSITORY: 'acme/access',
        GITHUB_EVENT_PATH: path,
        GITHUB_REF: 'refs/heads/trunk',
        GITHUB_REF_NAME: 'trunk',
        GITHUB_REF_TYPE: 'branch',
      };
      expect((await readInputs(fakeCore({ token: 't' }).core, env)).branch).toBe('trunk');
      // A push or dispatch payload names the default branch: it wins over the ref.
      writeFileSync(path, JSON.stringify({ repository: { default_branch: 'master' } }));
      expect((await readInputs(fakeCore({ token: 't' }).core, env)).branch).toBe('master');
      // Nothing to go by: an error, not a guess.
      await expect(
        readInputs(fakeCore({ token: 't' }).core, { GITHUB_REPOSITORY: 'acme/access' }),
      ).rejects.toThrow(/cannot tell the default branch/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a boolean input that is neither true nor false', async () => {
    await expect(
      readInputs(fakeCore({ 'dry-run': 'yes' }).core, { GITHUB_REPOSITORY: 'a/b' }),
    ).rejects.toThrow(/dry-run must be true or false/);
  });

  it('answers every bad input with a ConfigurationError (a setup problem, not a crash)', async () => {
    const env = { GITHUB_REPOSITORY: 'acme/access' };
    for (const inputs of <Record<string, string>[]>[
      {},
      { 'dry-run': 'yes' },
      { token: 't', repository: 'not a repo' },
      { token: 't', 'app-bot-id': 'bot' },
    ])
      await expect(readInputs(fakeCore(inputs).core, env)).rejects.toBeInstanceOf(
        ConfigurationError,
      );
  });
});

describe('run', () => {
  let repo: TestRepo;
  beforeEach(async () => {
    nock.disableNetConnect();
    repo = await setupRepo();
  });
  afterEach(() => repo.cleanup());

  it('on a dry run prints the plan, writes it to the summary and sets zero outputs', async () => {
    const before = await repo.origin.revParse('main');
    await landGrant(repo, pendingGrant(repo, 5), 1005);
    const f = fakeCore({ 'dry-run': 'true', 'working-directory': repo.dir });
    await repo.repo.fetch('origin', 'main');
    await repo.repo.resetHard('refs/remotes/origin/main');
    await run({
      core: f.core,
      env: {
        GITHUB_REPOSITORY: 'acme/access',
        GITHUB_WORKSPACE: '/',
        GITHUB_REF: 'refs/heads/main',
      },
      clock: fixedClock('2030-01-01T10:06:00Z'),
    });
    expect(f.failed).toEqual([]);
    expect(f.outputs).toEqual({ issued: 0, revoked: 0, failed: 0 });
    expect(f.info).toContain(
      'plan: verify prod-db/req-5: check its pull request and approvals, then approve (or refuse)',
    );
    expect(f.summary()).toContain('## gatepass reconcile (dry run)');
    expect(f.summary()).toContain('- verify prod-db/req-5');
    expect(await repo.origin.revParse('main')).not.toBe(before); // only the landing commit
  });

  it('with verify-audit, puts the audit in the summary and fails on a grant pushed straight to main', async () => {
    await landGrant(repo, pendingGrant(repo, 6), null);
    await repo.repo.fetch('origin', 'main');
    await repo.repo.resetHard('refs/remotes/origin/main');
    const f = fakeCore({
      'dry-run': 'true',
      'verify-audit': 'true',
      'working-directory': repo.dir,
    });
    await run({
      core: f.core,
      env: {
        GITHUB_REPOSITORY: 'acme/access',
        GITHUB_WORKSPACE: '/',
        GITHUB_REF: 'refs/heads/main',
      },
      clock: fixedClock('2030-01-01T10:06:00Z'),
    });
    expect(f.summary()).toContain('## gatepass reconcile (dry run)');
    expect(f.summary()).toContain('## gatepass audit');
    expect(f.outputs.findings).toBeGreaterThan(0);
    expect(f.warnings.some((w) => w.startsWith('audit: '))).toBe(true);
    expect(f.failed).toEqual([expect.stringMatching(/the audit found \d+ violation/)]);
  });

  it('fails the job with the reason when the checkout is not a git repository', async () => {
    const f = fakeCore({ token: 't', 'working-directory': '/nonexistent-gatepass' });
    await run({
      core: f.core,
      env: { GITHUB_REPOSITORY: 'acme/access', GITHUB_REF: 'refs/heads/main' },
      clock: fixedClock('2030-01-01T00:00:00Z'),
    });
    expect(f.failed).toHaveLength(1);
    expect(f.failed[0]).toMatch(/git/);
  });
});
