import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';
import { applyHealthySetup, CREDENTIALS_APP_ID } from '../helpers/doctor-setup.js';
import {
  expectNoContractProblems,
  startGitHubStandIn,
  type GitHubStandIn,
} from '../standin/github-standin.js';

/**
 * The README's Quick start, run as it is written, in a fresh folder: the same lines, the
 * committed CLI bundle, git, and GitHub played by the stand-in (the clone URL points at its
 * repository; what the README leaves to the GitHub UI is done on the stand-in in between).
 */
function readmeAdopterPath(): { beforeGitHub: string[]; afterGitHub: string[] } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- adopter-path:start');
  const end = readme.indexOf('<!-- adopter-path:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no adopter-path block');
  const fence = /```sh\n([\s\S]*?)```/.exec(readme.slice(start, end));
  if (!fence?.[1]) throw new Error('the adopter-path block has no ```sh fence');
  const lines = fence[1].split('\n').filter((l) => l.trim() !== '');
  // The second comment is where the README hands over to GitHub's settings pages.
  const handover = lines.findIndex((l, i) => i > 0 && l.startsWith('#'));
  return { beforeGitHub: lines.slice(0, handover), afterGitHub: lines.slice(handover) };
}

let gh: GitHubStandIn | undefined;
let dir: string | undefined;
afterEach(async () => {
  await gh?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the README's adopter path", () => {
  it('init → validate → template → codeowners → push → doctor passes, in a fresh folder', async () => {
    const path = readmeAdopterPath();
    expect(path.beforeGitHub.join('\n')).toMatch(
      /init[\s\S]*validate[\s\S]*template[\s\S]*codeowners/,
    );
    expect(path.afterGitHub.join('\n')).toMatch(/doctor/);

    gh = await startGitHubStandIn({
      owner: 'acme',
      repo: 'access',
      users: [{ login: 'admin', id: 1 }],
      app: {
        id: CREDENTIALS_APP_ID,
        slug: 'gatepass-credentials',
        botId: 9007,
        webhookSecret: 's',
      },
      files: { 'README.md': '# access\n' },
    });
    dir = mkdtempSync(join(tmpdir(), 'gatepass-adopter-'));
    // "From a copy of gatepass next to the new repository".
    symlinkSync(REPO_ROOT, join(dir, 'gatepass'));
    // `gh auth token`, answered with an administrator's token of the stand-in.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'gh'), `#!/bin/sh\necho ${gh.tokenFor('admin')}\n`);
    chmodSync(join(bin, 'gh'), 0o755);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(dir, 'credentials-app.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));

    const env = {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: dir,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_COUNT: '3',
      GIT_CONFIG_KEY_0: `url.${gh.gitDir}.insteadOf`,
      GIT_CONFIG_VALUE_0: 'https://github.com/acme/access.git',
      GIT_CONFIG_KEY_1: 'user.name',
      GIT_CONFIG_VALUE_1: 'Ada Admin',
      GIT_CONFIG_KEY_2: 'user.email',
      GIT_CONFIG_VALUE_2: 'ada@acme.example',
      GITHUB_API_URL: gh.apiUrl,
      GATEPASS_APP_ID: String(CREDENTIALS_APP_ID),
      GATEPASS_APP_PRIVATE_KEY_PATH: keyFile,
    };
    // Asynchronously: the stand-in answers from this process, so it must not be blocked.
    const sh = (lines: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        // stdin not a socket: bash would take itself for a remote shell and read bashrc.
        const child = spawn('bash', ['-euo', 'pipefail', '-c', lines.join('\n')], {
          cwd: dir,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 120_000,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });

    const first = await sh(path.beforeGitHub);
    expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: '' });
    expect(first.stdout).toContain('Next, on GitHub');
    // What was pushed is on the stand-in's default branch.
    expect(await gh.git.entry('refs/heads/main', '.github/workflows/gatepass.yml')).not.toBeNull();
    expect(await gh.git.entry('refs/heads/main', 'policies/postgres.yaml')).not.toBeNull();

    // The checklist, done in GitHub's settings pages (labels left for doctor --fix).
    applyHealthySetup(gh, 'main', ['PROD_PG_ADMIN_URL']);
    gh.state.labels.clear();

    const second = await sh(['cd access', ...path.afterGitHub]);
    expect(second.stderr).toBe('');
    expect(second.stdout).toContain('gatepass doctor: acme/access (default branch main)');
    expect(second.stdout).toContain('✓ label access-request exists\n      created (--fix)');
    expect(second.stdout).toMatch(/everything gatepass needs is in place\n$/);
    expect(second.status).toBe(0);
    expectNoContractProblems(gh);
  });
});
