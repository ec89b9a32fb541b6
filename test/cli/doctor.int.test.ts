import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectNoContractProblems } from '../standin/github-standin.js';
import { startDoctorWorld, type DoctorWorld } from '../helpers/doctor-setup.js';
import type { Check } from '../../src/cli/doctor.js';

let w: DoctorWorld;
afterEach(async () => {
  expectNoContractProblems(w.gh);
  await w.cleanup();
});

const checks = async (...args: string[]) => {
  const r = await w.doctor('--json', ...args);
  return { ...r, checks: (JSON.parse(r.out) as { checks: Check[] }).checks };
};
const failing = (cs: Check[]) => cs.filter((c) => c.status === 'fail').map((c) => c.id);

describe('gatepass doctor on a setup done as the checklist says', () => {
  beforeEach(async () => {
    w = await startDoctorWorld();
  });

  it('passes every check, exit 0, and says so', async () => {
    const r = await w.doctor();
    expect(r.err).toBe('');
    expect(r.out).toContain('gatepass doctor: acme/access (default branch main)');
    expect(r.out).toContain('✓ the credentials app has the permissions gatepass needs');
    expect(r.out).toContain('✓ environment gatepass is limited to main');
    expect(r.out).toContain('- the request app is installed where the policies need it');
    expect(r.out).toMatch(/everything gatepass needs is in place\n$/);
    expect(r.code).toBe(0);
  });

  it('--json: one entry per check, ok true', async () => {
    const r = await w.doctor('--json');
    const report = JSON.parse(r.out) as { ok: boolean; defaultBranch: string; checks: Check[] };
    expect(report.ok).toBe(true);
    expect(report.defaultBranch).toBe('main');
    expect(failing(report.checks)).toEqual([]);
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'workflow:gatepass.yml',
        'label:access-request',
        'environment:gatepass:branches',
        'environment:gatepass:secrets',
        'branch:code-owners',
        'branch:check',
        'branch:bypass',
        'file:form',
        'file:codeowners',
        'app:credentials:permissions',
        'app:credentials:repositories',
      ]),
    );
  });

  // Each misconfiguration: what breaks it on GitHub, the one check that must fail, and a word
  // of the fix doctor prints for it.
  const cases: [string, (w: DoctorWorld) => void, string, RegExp][] = [
    [
      'the access-request label is missing (the form cannot apply it)',
      (w) => w.gh.state.labels.delete('access-request'),
      'label:access-request',
      /--fix/,
    ],
    [
      'the schedule workflow is disabled',
      (w) => (w.gh.state.workflows.get('gatepass.yml')!.state = 'disabled_inactivity'),
      'workflow:gatepass.yml',
      /Enable workflow/,
    ],
    [
      'the gatepass environment does not exist',
      (w) => w.gh.state.environments.delete('gatepass'),
      'environment:gatepass',
      /New environment "gatepass"/,
    ],
    [
      'the gatepass environment accepts any branch',
      (w) => (w.gh.state.environments.get('gatepass')!.branches = null),
      'environment:gatepass:branches',
      /Selected branches, with main only/,
    ],
    [
      'the gatepass environment accepts every protected branch',
      (w) => (w.gh.state.environments.get('gatepass')!.branches = 'protected'),
      'environment:gatepass:branches',
      /Selected branches/,
    ],
    [
      'the gatepass environment also accepts another branch',
      (w) => (w.gh.state.environments.get('gatepass')!.branches = ['main', 'release/*']),
      'environment:gatepass:branches',
      /main only/,
    ],
    [
      'a secret the policies reference is not in the environment',
      (w) => w.gh.state.environments.get('gatepass')!.secrets.delete('PROD_PG_ADMIN_URL'),
      'environment:gatepass:secrets',
      /Add secret: PROD_PG_ADMIN_URL/,
    ],
    [
      "the credentials app's key is not in the environment",
      (w) =>
        w.gh.state.environments
          .get('gatepass')!
          .secrets.delete('GATEPASS_CREDENTIALS_APP_PRIVATE_KEY'),
      'environment:gatepass:secrets',
      /GATEPASS_CREDENTIALS_APP_PRIVATE_KEY/,
    ],
    [
      "the credentials app's id variable is not set",
      (w) => w.gh.state.variables.delete('GATEPASS_CREDENTIALS_APP_ID'),
      'variable:GATEPASS_CREDENTIALS_APP_ID',
      /Variables: GATEPASS_CREDENTIALS_APP_ID/,
    ],
    [
      "the request app's environment (actions mode) is missing",
      (w) => w.gh.state.environments.delete('gatepass-app'),
      'environment:gatepass-app',
      /gatepass-app/,
    ],
    [
      'no ruleset protects the default branch',
      (w) => w.gh.state.rulesets.clear(),
      'branch:protected',
      /create one/,
    ],
    [
      'the ruleset is only evaluated, not enforced',
      (w) => (w.gh.state.rulesets.get(42)!.enforcement = 'evaluate'),
      'branch:protected',
      /enforcement: active/,
    ],
    [
      'the ruleset does not require code-owner review',
      (w) => {
        const rule = w.gh.state.rulesets.get(42)!.rules[0]!;
        rule.parameters = { ...rule.parameters, require_code_owner_review: false };
      },
      'branch:code-owners',
      /Require review from Code Owners/,
    ],
    [
      'the ruleset does not require the gatepass/approval check',
      (w) => {
        const r = w.gh.state.rulesets.get(42)!;
        r.rules = r.rules.filter((x) => x.type !== 'required_status_checks');
      },
      'branch:check',
      /gatepass\/approval/,
    ],
    [
      'force pushes are allowed',
      (w) => {
        const r = w.gh.state.rulesets.get(42)!;
        r.rules = r.rules.filter((x) => x.type !== 'non_fast_forward');
      },
      'branch:force-push',
      /Block force pushes/,
    ],
    [
      'repository admins may bypass the rules too',
      (w) =>
        w.gh.state.rulesets
          .get(42)!
          .bypass.push({ actor_id: 5, actor_type: 'RepositoryRole', bypass_mode: 'always' }),
      'branch:bypass',
      /keep only the request app and the credentials app/,
    ],
    [
      'another app may bypass the rules',
      (w) =>
        w.gh.state.rulesets
          .get(42)!
          .bypass.push({ actor_id: 31337, actor_type: 'Integration', bypass_mode: 'always' }),
      'branch:bypass',
      /Bypass list/,
    ],
    [
      'the credentials app lacks Members: write (github-team cannot add members)',
      (w) => (w.gh.state.installation.permissions.members = 'read'),
      'app:credentials:permissions',
      /members: write/,
    ],
    [
      'the credentials app lacks Administration: write (github-collaborator cannot add people)',
      (w) => delete w.gh.state.installation.permissions.administration,
      'app:credentials:permissions',
      /administration: write/,
    ],
    [
      'the credentials app is not installed on a repository a policy names',
      (w) => (w.gh.state.installation.repositories = ['acme/access']),
      'app:credentials:repositories',
      /add acme\/infrastructure/,
    ],
  ];

  it.each(cases)('finds it when %s', async (_what, breakIt, id, fix) => {
    breakIt(w);
    const r = await checks();
    expect(failing(r.checks)).toEqual([id]);
    expect(r.checks.find((c) => c.id === id)?.fix).toMatch(fix);
    expect(r.code).toBe(1);
  });

  it('warns (exit 0) when the environment has required reviewers: they would stall the sweep', async () => {
    w.gh.state.environments.get('gatepass')!.reviewers = ['admin'];
    const r = await checks();
    expect(r.checks.find((c) => c.id === 'environment:gatepass:reviewers')?.status).toBe('warn');
    expect(r.code).toBe(0);
  });

  it('--fix creates the missing labels, and the next run finds them', async () => {
    w.gh.state.labels.clear();
    const r = await checks('--fix');
    expect(failing(r.checks)).toEqual([]);
    expect(r.checks.find((c) => c.id === 'label:gatepass:pending')?.detail).toBe('created (--fix)');
    expect(w.gh.requests.filter((q) => q.operationId === 'issues/create-label')).toHaveLength(9);
    expect((await checks()).code).toBe(0);
  });

  it('finds an issue form on the branch that no longer matches the policies', async () => {
    await w.gh.as('admin').push({
      branch: 'main',
      files: { '.github/ISSUE_TEMPLATE/access-request.yml': 'name: old\n' },
    });
    const r = await checks();
    expect(failing(r.checks)).toEqual(['file:form']);
  });

  it('finds a CODEOWNERS line after the gatepass block (it would take grants from their approvers)', async () => {
    const current = await readFile(join(w.dir, '.github/CODEOWNERS'), 'utf8');
    await w.gh.as('admin').push({
      branch: 'main',
      files: { '.github/CODEOWNERS': `${current}/grants/ @mallory\n` },
    });
    const r = await checks();
    expect(failing(r.checks)).toEqual(['file:codeowners']);
    expect(r.checks.find((c) => c.id === 'file:codeowners')?.detail).toContain('/grants/ @mallory');
  });

  it('checks the request app when given its key: its permissions, and that it is on the access repo only', async () => {
    // The stand-in's one app plays the request app here, installed as the credentials app is.
    const r = await checks('--request-app-id', '7', '--request-private-key', w.keyFile);
    expect(failing(r.checks)).toEqual(['app:request:permissions']);
    expect(r.checks.find((c) => c.id === 'app:request:permissions')?.detail).toMatch(
      /pull_requests: write \(has read\), checks: write \(has none\)/,
    );
    expect(r.checks.find((c) => c.id === 'app:request:scope')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('acme/infrastructure'),
    });
  });

  it('reports a host it cannot reach as unreachable, not as an HTTP error', async () => {
    const r = await w.doctor('--api-url', 'http://gatepass-no-such-host.invalid');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/cannot reach http:\/\/gatepass-no-such-host\.invalid \(ENOTFOUND\)/);
    expect(r.err).not.toMatch(/HTTP 500/);
  });
});

describe('gatepass doctor on a master branch', () => {
  beforeEach(async () => {
    w = await startDoctorWorld({ branch: 'master' });
  });

  it('judges against the default branch GitHub reports, and the workflow init wrote for it', async () => {
    const r = await checks();
    expect(failing(r.checks)).toEqual([]);
    expect(r.checks.find((c) => c.id === 'workflow:branch')?.title).toContain('master');
  });
});
