import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { readFile, writeFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { serializeGrant } from '../../src/core/grant-file.js';
import { tmpdir } from 'node:os';
import { runCli, copyAccessRepo, REPO_ROOT } from '../helpers/cli.js';
import { buildGrant } from '../helpers/github-provider-context.js';

let repo: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  repo = await copyAccessRepo();
});
afterEach(async () => {
  await repo.cleanup();
});

describe('gatepass validate', () => {
  it('prints nothing and exits 0 on the example access repo', async () => {
    const r = await runCli(['validate', '.'], REPO_ROOT);
    expect(r).toEqual({ code: 0, out: '', err: '' });
  });

  it('points at the file and line of a broken policy', async () => {
    const file = join(repo.dir, 'policies', 'broken.yaml');
    await writeFile(
      file,
      [
        'resources:',
        '  broken-db:',
        '    description: a resource whose default exceeds its max',
        '    provider: github-team',
        '    target: { team: acme/broken }',
        '    max_duration: 1h',
        '    default_duration: 2h',
        '    requesters: [alice]',
        '    approvers: [bob]',
        '    approvals_required: 1',
        '',
      ].join('\n'),
    );
    const r = await runCli(['validate', repo.dir], REPO_ROOT);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^policies\/broken\.yaml:7: .*default_duration/m);
  });

  it('reports problems as JSON for machines', async () => {
    await writeFile(
      join(repo.dir, 'policies', 'bad.yaml'),
      'resources:\n  x:\n    nonsense: true\n',
    );
    const r = await runCli(['validate', repo.dir, '--json'], REPO_ROOT);
    expect(r.code).toBe(1);
    const parsed = JSON.parse(r.out) as {
      ok: boolean;
      problems: { file: string; line?: number }[];
    };
    expect(parsed.ok).toBe(false);
    expect(
      parsed.problems.some((p) => p.file === 'policies/bad.yaml' && p.line !== undefined),
    ).toBe(true);
  });

  it('flags an issue form that no longer matches the policies', async () => {
    const form = join(repo.dir, '.github', 'ISSUE_TEMPLATE', 'access-request.yml');
    await writeFile(form, (await readFile(form, 'utf8')).replace(/- prod-/, '- stale-'));
    const r = await runCli(['validate', repo.dir], REPO_ROOT);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/access-request\.yml:1: .*gatepass template/);
  });

  it('flags a grant file in the wrong place and a corrupt one', async () => {
    await mkdir(join(repo.dir, 'grants', 'no-such-resource'), { recursive: true });
    await writeFile(join(repo.dir, 'grants', 'stray.yaml'), 'id: x\n');
    await writeFile(join(repo.dir, 'grants', 'no-such-resource', 'req-1.yaml'), 'id: [\n');
    const r = await runCli(['validate', repo.dir], REPO_ROOT);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^grants\/stray\.yaml: not a grant path/m);
    expect(r.err).toMatch(/^grants\/no-such-resource\/req-1\.yaml:\d+: YAML/m);
  });

  it('warns, without failing, about a live grant issued on a target the policy has changed', async () => {
    const grant = buildGrant({
      id: 'req-9',
      resource: 'prod-debuggers',
      issued_at: '2030-01-01T10:00:00Z',
      expires_at: '2030-01-01T12:00:00Z',
      approval: {
        approved_at: '2030-01-01T09:59:00Z',
        rule: 'reviews',
        approvers: [{ login: 'bob', id: 2, review_id: 7 }],
      },
      issued: {
        provider: 'github-team',
        team: 'acme/old-debuggers',
        role: 'member',
        login: 'alice',
      },
    });
    await mkdir(join(repo.dir, 'grants', 'prod-debuggers'), { recursive: true });
    await writeFile(
      join(repo.dir, 'grants', 'prod-debuggers', 'req-9.yaml'),
      serializeGrant(grant),
    );
    const r = await runCli(['validate', repo.dir], REPO_ROOT);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /^warning: grants\/prod-debuggers\/req-9\.yaml: resource prod-debuggers changed its target team from acme\/old-debuggers to acme\/prod-debuggers while req-9 is live; req-9 ends on acme\/old-debuggers, as issued/m,
    );
  });

  it('is a usage error (exit 2) for a directory that does not exist', async () => {
    const r = await runCli(['validate', join(repo.dir, 'nope')], REPO_ROOT);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a directory/);
  });
});

describe('gatepass template', () => {
  it('regenerates exactly the committed issue form', async () => {
    const form = join(repo.dir, '.github', 'ISSUE_TEMPLATE', 'access-request.yml');
    const committed = await readFile(form, 'utf8');
    await writeFile(form, 'stale');
    expect((await runCli(['template', '--check', repo.dir], REPO_ROOT)).code).toBe(1);
    const r = await runCli(['template', repo.dir], REPO_ROOT);
    expect(r.code).toBe(0);
    expect(await readFile(form, 'utf8')).toBe(committed);
    expect((await runCli(['template', '--check', repo.dir], REPO_ROOT)).code).toBe(0);
  });

  it('refuses to generate a form from broken policies', async () => {
    await writeFile(join(repo.dir, 'policies', 'bad.yaml'), 'resources: [\n');
    const r = await runCli(['template', repo.dir], REPO_ROOT);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/policies\/bad\.yaml/);
  });
});

describe('gatepass codeowners', () => {
  it('makes approvers own their grant folders and keeps the rest of CODEOWNERS', async () => {
    await mkdir(join(repo.dir, '.github'), { recursive: true });
    await writeFile(join(repo.dir, '.github', 'CODEOWNERS'), '/docs/ @acme/writers\n');
    const r = await runCli(
      ['codeowners', repo.dir, '--policy-owners', '@acme/security'],
      REPO_ROOT,
    );
    expect(r.code).toBe(0);
    const text = await readFile(join(repo.dir, '.github', 'CODEOWNERS'), 'utf8');
    expect(text).toMatch(/^\/docs\/ @acme\/writers$/m);
    expect(text).toMatch(/^\/policies\/ @acme\/security$/m);
    expect(text).toMatch(/^\/grants\/[a-z0-9-]+\/ @/m);
    // Running it again replaces the block instead of appending a second one.
    await runCli(['codeowners', repo.dir, '--policy-owners', 'acme/security'], REPO_ROOT);
    const again = await readFile(join(repo.dir, '.github', 'CODEOWNERS'), 'utf8');
    expect(again).toBe(text);
  });

  it('moves a line that came after the gatepass block above it, with a warning on stderr', async () => {
    await runCli(['codeowners', repo.dir, '--policy-owners', 'acme/security'], REPO_ROOT);
    const file = join(repo.dir, '.github', 'CODEOWNERS');
    await writeFile(file, (await readFile(file, 'utf8')) + '/grants/ @mallory\n');
    const check = await runCli(
      ['codeowners', repo.dir, '--policy-owners', 'acme/security', '--check'],
      REPO_ROOT,
    );
    expect(check.code).toBe(1);
    expect(check.err).toMatch(/"\/grants\/ @mallory" comes after the gatepass block/);
    const r = await runCli(['codeowners', repo.dir, '--policy-owners', 'acme/security'], REPO_ROOT);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: .*"\/grants\/ @mallory" came after the gatepass block/);
    const text = await readFile(file, 'utf8');
    expect(text.indexOf('/grants/ @mallory')).toBeLessThan(text.indexOf('# BEGIN gatepass ('));
    expect(
      (
        await runCli(
          ['codeowners', repo.dir, '--policy-owners', 'acme/security', '--check'],
          REPO_ROOT,
        )
      ).code,
    ).toBe(0);
  });

  it('refuses owners that are not logins or team slugs', async () => {
    const r = await runCli(['codeowners', repo.dir, '--policy-owners', 'not a team!'], REPO_ROOT);
    expect(r.code).toBe(2);
  });
});

describe('usage', () => {
  it('exits 2 on an unknown command or flag', async () => {
    expect((await runCli(['frobnicate'], REPO_ROOT)).code).toBe(2);
    expect((await runCli(['validate', '--frob'], REPO_ROOT)).code).toBe(2);
    expect((await runCli(['codeowners'], REPO_ROOT)).code).toBe(2);
  });

  it('has --help on every command, printed to stdout, exiting 0', async () => {
    for (const cmd of [
      [],
      ['init'],
      ['validate'],
      ['template'],
      ['codeowners'],
      ['reconcile'],
      ['audit'],
      ['doctor'],
      ['schema'],
    ]) {
      const r = await runCli([...cmd, '--help'], REPO_ROOT);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: gatepass/);
      expect(r.err).toBe('');
    }
  });

  it('without a command prints the usage to stderr and exits 2', async () => {
    const r = await runCli([], REPO_ROOT);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/Usage: gatepass/);
  });

  it('--version prints the version of package.json', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const r = await runCli(['--version'], REPO_ROOT);
    expect(r).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
  });
});

describe('template and codeowners outside an access repo', () => {
  it.each([['template'], ['codeowners', '--policy-owners', 'acme/security']])(
    '%s refuses to run where there are no policies, writes nothing, exits 2',
    async (...args) => {
      const empty = await mkdtemp(join(tmpdir(), 'gatepass-empty-'));
      try {
        const r = await runCli(args, empty);
        expect(r.code).toBe(2);
        expect(r.out).toBe('');
        expect(r.err).toMatch(/no resources in .*policies.*gatepass init/);
        expect(await readdir(empty)).toEqual([]);
      } finally {
        await rm(empty, { recursive: true, force: true });
      }
    },
  );
});

describe('gatepass validate with provider checks', () => {
  it("reports a provider's own target problems at the target's line", async () => {
    await writeFile(
      join(repo.dir, 'policies', 'cmd.yaml'),
      [
        'resources:',
        '  vpn-access:',
        '    description: VPN access through the adopter script',
        '    provider: command',
        '    target:',
        '      path: ../outside.sh',
        '    max_duration: 1h',
        '    default_duration: 1h',
        '    requesters: [alice]',
        '    approvers: [bob]',
        '    approvals_required: 1',
        '',
      ].join('\n'),
    );
    const r = await runCli(['validate', repo.dir], REPO_ROOT);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^policies\/cmd\.yaml:\d+: .*(\.\.|inside|relative)/m);
  });
});
