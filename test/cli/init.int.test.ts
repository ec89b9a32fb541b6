import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatepass-init-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
const read = (p: string) => readFile(join(dir, p), 'utf8');
const exists = (p: string) =>
  stat(join(dir, p)).then(
    () => true,
    () => false,
  );
const init = (...args: string[]) => runCli(['init', ...args], dir);

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Workflow {
  on: { push?: { branches: string[] } };
  permissions: unknown;
  jobs: Record<string, { steps: Step[] }>;
}
const workflow = async (name: string) => parse(await read(`.github/workflows/${name}`)) as Workflow;
const tokenStep = (wf: Workflow) =>
  Object.values(wf.jobs)
    .flatMap((j) => j.steps)
    .find((s) => s.uses?.startsWith('actions/create-github-app-token@'))!;

describe('gatepass init in a new repository', () => {
  it('reads the default branch from git and writes what this adopter needs, for that branch', async () => {
    git('init', '-q', '-b', 'trunk');
    const r = await init('--org', 'acme', '--providers', 'github-team', 'postgres');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/branch trunk \(its default branch\)/);
    for (const p of [
      'policies/github-team.yaml',
      'policies/postgres.yaml',
      'policies/schema.json',
      '.github/ISSUE_TEMPLATE/access-request.yml',
      '.github/CODEOWNERS',
      '.github/workflows/gatepass.yml',
      '.github/workflows/gatepass-app.yml',
      'action/action.yml',
      'action/dist/index.js',
      'action/app-dist/index.js',
      'action/cli.js',
      'grants/.gitkeep',
    ])
      expect([p, await exists(p)]).toEqual([p, true]);
    // Only the providers asked for, no CI of gatepass's own.
    expect(await readdir(join(dir, 'policies'))).toEqual([
      'github-team.yaml',
      'postgres.yaml',
      'schema.json',
    ]);
    expect(await readdir(join(dir, '.github', 'workflows'))).toEqual([
      'gatepass-app.yml',
      'gatepass.yml',
    ]);
    const wf = await workflow('gatepass.yml');
    expect(wf.on.push?.branches).toEqual(['trunk']);
    const action = Object.values(wf.jobs)[0]!.steps.find((s) => s.uses === './action')!;
    expect(action.with?.branch).toBe('trunk');
    expect(action.env).toEqual({ PROD_PG_ADMIN_URL: '${{ secrets.PROD_PG_ADMIN_URL }}' });
    expect(wf.permissions).toEqual({});
    expect(tokenStep(wf).with).toMatchObject({
      owner: 'acme',
      repositories: expect.stringMatching(/^[^,]+$/),
      'permission-members': 'write',
    });
    expect(tokenStep(wf).with?.['permission-administration']).toBeUndefined();
    expect((await runCli(['validate'], dir)).code).toBe(0);
  });

  it('scopes the credentials token to the access repo and the repositories the policies name', async () => {
    const r = await init('--org', 'acme', '--repo', 'access', '--providers', 'github-collaborator');
    expect(r.code).toBe(0);
    const step = tokenStep(await workflow('gatepass.yml'));
    expect(step.with).toMatchObject({
      owner: 'acme',
      repositories: 'access,infrastructure',
      'permission-administration': 'write',
      'permission-members': 'read',
    });
    const app = tokenStep(await workflow('gatepass-app.yml'));
    expect(app.with).toMatchObject({ owner: 'acme', repositories: 'access' });
  });

  it('is idempotent: a second run changes nothing and says so', async () => {
    await init('--org', 'acme', '--branch', 'main');
    const before = await read('.github/workflows/gatepass.yml');
    const manifest = await read('.github/gatepass-init.json');
    const r = await init('--org', 'acme', '--branch', 'main');
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/^(created|updated)/m);
    expect(r.out).toMatch(/^unchanged +\.github\/workflows\/gatepass\.yml$/m);
    expect(await read('.github/workflows/gatepass.yml')).toBe(before);
    expect(await read('.github/gatepass-init.json')).toBe(manifest);
    const check = await init('--org', 'acme', '--branch', 'main', '--check');
    expect(check).toEqual({ code: 0, out: 'init: every file is current\n', err: '' });
  });

  it('keeps a workflow you edited unless --force, and never touches your policies', async () => {
    await init('--org', 'acme', '--branch', 'main');
    const edited = (await read('.github/workflows/gatepass.yml')) + '# mine\n';
    await writeFile(join(dir, '.github/workflows/gatepass.yml'), edited);
    const policy = (await read('policies/github-team.yaml')).replace(
      'max_duration: 8h',
      'max_duration: 6h',
    );
    await writeFile(join(dir, 'policies/github-team.yaml'), policy);

    const r = await init('--org', 'acme', '--branch', 'release');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /gatepass\.yml \(changed since init wrote it; kept \(--force overwrites\)\)/,
    );
    expect(await read('.github/workflows/gatepass.yml')).toBe(edited);
    expect(await read('policies/github-team.yaml')).toBe(policy);
    // Files derived from the policies follow your edit.
    expect(await read('.github/ISSUE_TEMPLATE/access-request.yml')).toContain('| 6h |');
    expect((await init('--org', 'acme', '--branch', 'release', '--check')).code).toBe(1);

    const forced = await init('--org', 'acme', '--branch', 'release', '--force');
    expect(forced.out).toMatch(/^updated +\.github\/workflows\/gatepass\.yml$/m);
    expect((await workflow('gatepass.yml')).on.push?.branches).toEqual(['release']);
    expect(await read('policies/github-team.yaml')).toBe(policy);
  });

  it('server mode: one deployment mode only (the app workflow keeps only its sweep)', async () => {
    await init('--org', 'acme', '--branch', 'main');
    expect(Object.keys((await workflow('gatepass-app.yml')).on)).toContain('issues');
    const r = await init('--org', 'acme', '--branch', 'main', '--mode', 'server');
    expect(r.out).toMatch(/^updated +\.github\/workflows\/gatepass-app\.yml$/m);
    const wf = await workflow('gatepass-app.yml');
    expect(Object.keys(wf.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(Object.keys(wf.jobs)).toEqual(['app']);
    expect(r.out).toMatch(/GH_ORG=acme/);
  });

  it('quotes the branch everywhere, so a YAML 1.1 reader gets "on" back, not true', async () => {
    expect((await init('--org', 'acme', '--branch', 'on')).code).toBe(0);
    for (const file of ['gatepass.yml', 'gatepass-app.yml']) {
      const text = await read(`.github/workflows/${file}`);
      const wf = parse(text, { version: '1.1' }) as Workflow & Record<string | number, unknown>;
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
      const checkout = steps.find((st) => st.uses?.startsWith('actions/checkout@'));
      expect([file, checkout?.with?.ref]).toEqual([file, 'on']);
    }
    const action = parse(await read('.github/workflows/gatepass.yml'), { version: '1.1' }) as {
      jobs: Record<string, { steps: Step[] }>;
    };
    expect(
      Object.values(action.jobs)[0]!.steps.find((st) => st.uses === './action')?.with?.branch,
    ).toBe('on');
  });

  it('takes the organisation and repository from the origin remote', async () => {
    git('init', '-q', '-b', 'main');
    git('remote', 'add', 'origin', 'git@github.com:acme-corp/access-requests.git');
    const r = await init();
    expect(r.code).toBe(0);
    expect(r.out).toContain('acme-corp/access-requests');
    expect(tokenStep(await workflow('gatepass.yml')).with).toMatchObject({
      owner: 'acme-corp',
      repositories: 'access-requests',
    });
  });

  it.each([
    [[], /--org is required/],
    [['--org', 'acme', '--branch', '-x'], /not a branch name/],
    [['--org', 'acme', '--branch', "main' ]\n"], /not a branch name/],
    [['--org', 'acme', '--mode', 'lambda'], /--mode must be server or actions/],
    [['--org', 'acme', '--providers', 'ldap'], /unknown ldap/],
    [['--org', 'not an org'], /not a GitHub organisation/],
  ])('refuses %j with a usage error and writes nothing', async (args, message) => {
    const r = await init(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(await readdir(dir)).toEqual([]);
  });
});
