import { describe, it, expect, jest } from '@jest/globals';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  loadPolicies,
  DEFAULT_KRL_PATH,
  compileTicketPattern,
} from '../../src/core/policy-load.js';
import { validateTargetWithProviders } from '../../src/providers/index.js';
import { DEFAULT_REQUEST_TTL } from '../../src/core/policy.js';
import { HOUR, MINUTE, DAY } from '../../src/core/duration.js';
import { resourceYaml, policyFile, policyFilesIn, policyFixture } from '../helpers/policy-files.js';

const loadFixture = (name: string) => loadPolicies([policyFixture(name)]);

describe('loadPolicies', () => {
  it('loads a minimal resource and fills in the defaults', () => {
    const { policies, problems } = loadFixture('basic.yaml');
    expect(problems).toEqual([]);
    expect([...policies.resources.values()]).toEqual([
      {
        name: 'prod-db',
        description: 'Read-only SQL on the production database',
        provider: 'postgres',
        target: { admin_url: 'env:PROD_PG_ADMIN_URL', database: 'app', roles: ['readonly'] },
        max_duration: 4 * HOUR,
        default_duration: HOUR,
        // Twice max_duration when the policy names none.
        max_total_duration: 8 * HOUR,
        requesters: ['acme/engineering'],
        approvers: ['acme/sre', 'carol'],
        approvals_required: 1,
        request: { justification: { required: true, min_length: 10 }, ticket: { required: false } },
        auto_approve: [],
        request_ttl: DEFAULT_REQUEST_TTL,
        source: { file: 'basic.yaml', line: 2 },
      },
    ]);
  });

  it('converts every duration to seconds and keeps what the file says', () => {
    const { policies, problems } = loadFixture('full.yaml');
    expect(problems).toEqual([]);
    const db = policies.resources.get('prod-db-readonly')!;
    expect(db.request).toEqual({
      justification: { required: true, min_length: 20 },
      ticket: { required: true, pattern: '(INC|OPS)-[0-9]+' },
    });
    expect(db.auto_approve).toEqual([
      { name: 'on-call', requester_in: ['acme/oncall'], max_duration: HOUR },
    ]);
    expect(db.break_glass).toEqual({
      allowed: ['acme/oncall'],
      max_duration: HOUR,
      review_within: DAY,
    });
    expect(db.request_ttl).toBe(12 * HOUR);
    // Target durations stay as written: the provider reads them with parseDuration.
    expect(db.target.statement_timeout).toBe('5m');
    expect(db.source).toEqual({ file: 'full.yaml', line: 2 });

    const bastion = policies.resources.get('bastion')!;
    expect(bastion.break_glass).toEqual({
      allowed: ['alice'],
      max_duration: 30 * MINUTE,
      review_within: DAY,
    });
    expect(bastion.target.krl_path).toBe(DEFAULT_KRL_PATH);
    expect(bastion.source.line).toBe(28);
  });

  it('reports unknown keys, inside target too, at their own line', () => {
    const { policies, problems } = loadFixture('unknown-key.yaml');
    expect(problems).toEqual([
      {
        file: 'unknown-key.yaml',
        path: 'resources.prod-db.target.superuser',
        line: 9,
        message: 'unknown key "superuser"',
      },
      {
        file: 'unknown-key.yaml',
        path: 'resources.prod-db.aproval_required',
        line: 15,
        message: 'unknown key "aproval_required"',
      },
    ]);
    expect(policies.resources.size).toBe(0);
  });

  it('reports access durations it cannot read', () => {
    expect(loadFixture('bad-duration.yaml').problems).toEqual([
      {
        file: 'bad-duration.yaml',
        path: 'resources.prod-db.max_duration',
        line: 10,
        message: expect.stringMatching(/^duration "1y" is not understood; /),
      },
      {
        file: 'bad-duration.yaml',
        path: 'resources.prod-db.request_ttl',
        line: 15,
        message: expect.stringMatching(/^duration "0m" is zero; /),
      },
    ]);
    expect(loadFixture('bad-duration.yaml').problems[0]!.message).toMatch(/such as 30m, 90m/);
  });

  it("leaves target timeouts to the provider's own check, which points at their line", () => {
    const fixture = policyFixture('bad-duration.yaml');
    const { problems } = loadPolicies([fixture], { validateTarget: validateTargetWithProviders });
    expect(problems).toContainEqual(
      expect.objectContaining({
        file: 'bad-duration.yaml',
        path: expect.stringMatching(/^resources\.prod-db\.target/),
        line: 9,
        message: expect.stringMatching(/statement_timeout/),
      }),
    );
  });

  it('refuses a default, auto-approve or break-glass duration longer than the maximum', () => {
    expect(loadFixture('default-over-max.yaml').problems).toEqual([
      {
        file: 'default-over-max.yaml',
        path: 'resources.prod-db.default_duration',
        line: 10,
        message: "default_duration (8h) is longer than the resource's max_duration (4h)",
      },
      {
        file: 'default-over-max.yaml',
        path: 'resources.prod-db.auto_approve[0].max_duration',
        line: 17,
        message: "auto_approve max_duration (6h) is longer than the resource's max_duration (4h)",
      },
      {
        file: 'default-over-max.yaml',
        path: 'resources.prod-db.break_glass.max_duration',
        line: 20,
        message: "break_glass max_duration (1d) is longer than the resource's max_duration (4h)",
      },
    ]);
  });

  it('accepts durations equal to the maximum', () => {
    const r = loadPolicies([
      policyFile({
        x: resourceYaml({
          default_duration: '4h',
          auto_approve: [{ name: 'a', requester_in: ['alice'], max_duration: '240m' }],
          break_glass: { allowed: ['alice'], max_duration: 'PT4H' },
        }),
      }),
    ]);
    expect(r.problems).toEqual([]);
  });

  it('reads max_total_duration, and refuses one shorter than max_duration', () => {
    const ok = loadPolicies([policyFile({ x: resourceYaml({ max_total_duration: '10h' }) })]);
    expect(ok.problems).toEqual([]);
    expect(ok.policies.resources.get('x')?.max_total_duration).toBe(10 * HOUR);
    const short = loadPolicies([policyFile({ x: resourceYaml({ max_total_duration: '1h' }) })]);
    expect(short.problems.map((p) => [p.path, p.message])).toEqual([
      [
        'resources.x.max_total_duration',
        'max_total_duration (1h) is shorter than max_duration (4h), so no grant could be issued in full',
      ],
    ]);
  });

  it('refuses targets that let a grantee create lasting access unless the resource allows it (issue #13)', () => {
    const lasting = [
      ['github-team', { team: 'acme/sre', role: 'maintainer' }, 'role', /team maintainer/],
      [
        'github-collaborator',
        { repository: 'acme/app', permission: 'admin' },
        'permission',
        /admin on a repository/,
      ],
      [
        'github-collaborator',
        { repository: 'acme/app', permission: 'maintain' },
        'permission',
        /maintain on a repository/,
      ],
    ] as const;
    for (const [provider, target, key, why] of lasting) {
      const refused = loadPolicies([policyFile({ x: resourceYaml({ provider, target }) })]);
      expect(refused.policies.resources.size).toBe(0);
      expect(refused.problems).toHaveLength(1);
      expect(refused.problems[0]).toMatchObject({
        file: 'policies/test.yaml',
        path: `resources.x.target.${key}`,
        line: expect.any(Number),
      });
      expect(refused.problems[0]!.message).toMatch(why);
      expect(refused.problems[0]!.message).toMatch(/set allow_lasting_access: true/);

      const allowed = loadPolicies([
        policyFile({ x: resourceYaml({ provider, target, allow_lasting_access: true }) }),
      ]);
      expect(allowed.problems).toEqual([]);
      expect(allowed.policies.resources.get('x')?.allow_lasting_access).toBe(true);
    }
    const member = loadPolicies([
      policyFile({
        x: resourceYaml({
          provider: 'github-collaborator',
          target: { repository: 'acme/app', permission: 'push' },
        }),
      }),
    ]);
    expect(member.problems).toEqual([]);
    expect(member.policies.resources.get('x')).not.toHaveProperty('allow_lasting_access');
  });

  it('refuses more required approvals than there are approvers, when all are users', () => {
    expect(loadFixture('too-few-approvers.yaml').problems).toEqual([
      {
        file: 'too-few-approvers.yaml',
        path: 'resources.prod-db.approvals_required',
        line: 13,
        message:
          'approvals_required is 4 but only 3 approvers are listed, so no request could ever be approved',
      },
    ]);
  });

  it('counts approvers case-insensitively, and cannot count teams', () => {
    const users = loadPolicies([
      policyFile({ x: resourceYaml({ approvers: ['carol', 'Carol'], approvals_required: 2 }) }),
    ]);
    expect(users.problems.map((p) => p.message)).toEqual([
      'approvals_required is 2 but only 1 approver is listed, so no request could ever be approved',
    ]);
    const team = loadPolicies([
      policyFile({ x: resourceYaml({ approvers: ['acme/sre'], approvals_required: 3 }) }),
    ]);
    expect(team.problems).toEqual([]);
  });

  it('refuses a ticket pattern that does not compile', () => {
    expect(loadFixture('bad-regex.yaml').problems).toEqual([
      {
        file: 'bad-regex.yaml',
        path: 'resources.prod-db.request.ticket.pattern',
        line: 15,
        message: expect.stringMatching(/^ticket pattern is not a valid RE2 regular expression /),
      },
    ]);
  });

  it('accepts a pattern a backtracking engine would stall on: it runs on RE2 semantics, in linear time', () => {
    const r = loadFixture('redos.yaml');
    expect(r.problems).toEqual([]);
    const pattern = r.policies.resources.get('prod-db')!.request.ticket!.pattern!;
    const started = performance.now();
    expect(compileTicketPattern(pattern).test('A-'.repeat(49) + '!')).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses an over-long ticket pattern', () => {
    const r = loadPolicies([
      policyFile(
        { x: resourceYaml({ request: { ticket: { required: true, pattern: 'A'.repeat(201) } } }) },
        'long.yaml',
      ),
    ]);
    expect(r.problems).toEqual([
      {
        file: 'long.yaml',
        path: 'resources.x.request.ticket.pattern',
        line: 20,
        message: 'ticket pattern is longer than 200 characters',
      },
    ]);
  });

  it('refuses resource names that could escape a path or imitate another name', () => {
    const { policies, problems } = loadFixture('evil-name.yaml');
    const notAllowed = expect.stringContaining('is not allowed: use 1 to 64 lower-case letters');
    expect(problems).toEqual([
      { file: 'evil-name.yaml', path: 'resources.../../etc', line: 2, message: notAllowed },
      {
        file: 'evil-name.yaml',
        path: 'resources.archive',
        line: 11,
        message: 'resource name "archive" is reserved by gatepass',
      },
      // The Cyrillic "о" and the NUL are shown escaped, in the message and in the path.
      { file: 'evil-name.yaml', path: 'resources.pr\\u043ed-db', line: 20, message: notAllowed },
      { file: 'evil-name.yaml', path: 'resources.nul\\u0000name', line: 29, message: notAllowed },
    ]);
    expect(problems[2]!.message).toMatch(/^resource name "pr\\u043ed-db" is not allowed/);
    expect(problems[3]!.message).toMatch(/^resource name "nul\\u0000name" is not allowed/);
    // Deny by default: the well-named resource in the same file is not loaded either.
    expect(policies.resources.size).toBe(0);
  });

  it('reports a resource defined twice in the second file, naming the first', () => {
    const { policies, problems } = loadPolicies([
      policyFixture('duplicate-b.yaml'),
      policyFixture('duplicate-a.yaml'),
    ]);
    expect(problems).toEqual([
      {
        file: 'duplicate-b.yaml',
        path: 'resources.shared-name',
        line: 11,
        message:
          'resource "shared-name" is already defined in duplicate-a.yaml:2; resource names must be unique across policy files',
      },
    ]);
    // The first definition stands; the file with the duplicate contributes nothing.
    expect([...policies.resources.keys()]).toEqual(['shared-name']);
    expect(policies.resources.get('shared-name')!.description).toBe('First definition');
  });

  it('checks every principal: logins and org/team-slug teams', () => {
    const file = 'bad-principals.yaml';
    const notLogin = (who: string) =>
      `"${who}" is not a GitHub login (letters, digits and "-", at most 39 characters) nor a team (org/team-slug)`;
    expect(loadFixture(file).problems).toEqual([
      { file, path: 'resources.prod-db.requesters[1]', line: 11, message: notLogin('alice smith') },
      {
        file,
        path: 'resources.prod-db.approvers[0]',
        line: 12,
        message: '"acme/sre/leads" is not a team: write teams as org/team-slug',
      },
      {
        file,
        path: 'resources.prod-db.auto_approve[0].requester_in[0]',
        line: 16,
        message: notLogin('@oncall'),
      },
      {
        file,
        path: 'resources.prod-db.break_glass.allowed[0]',
        line: 19,
        message: notLogin('-bob'),
      },
    ]);
  });

  it('refuses secrets written inline and never repeats them', () => {
    const { problems } = loadFixture('inline-secret.yaml');
    expect(problems).toEqual([
      {
        file: 'inline-secret.yaml',
        path: 'resources.prod-db.target.admin_url',
        line: 6,
        message: expect.stringMatching(/^admin_url must name an environment variable, as env:NAME/),
      },
      {
        file: 'inline-secret.yaml',
        path: 'resources.deploy-hook.target.timeout',
        line: 20,
        message: expect.stringMatching(/^looks like a secret written inline; .* env:NAME/),
      },
    ]);
    for (const p of problems) expect(JSON.stringify(p)).not.toMatch(/hunter2|s3cret/);
  });

  it.each([
    ['a private key', { ca_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...' }, 'ca_key'],
    ['a libpq password', { database: 'host=db password=hunter2' }, 'database'],
    ['a GitHub token', { principals: ['ghp_' + 'a'.repeat(36)] }, 'principals[0]'],
  ])('recognises %s as an inline secret', (_what, fields, path) => {
    const target = { ca_key: 'env:SSH_CA_KEY', principals: ['deploy'], ...fields };
    const { problems } = loadPolicies([
      policyFile({ x: resourceYaml({ provider: 'ssh-certificate', target }) }),
    ]);
    expect(problems.filter((p) => p.path === `resources.x.target.${path}`)).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/env:/) }),
    ]);
  });

  it('refuses an alias bomb without expanding it', () => {
    expect(loadFixture('alias-bomb.yaml').problems).toEqual([
      {
        file: 'alias-bomb.yaml',
        message: 'YAML: Excessive alias count indicates a resource exhaustion attack',
      },
    ]);
  });

  it.each(['0', '00', '007'])(
    'reports an empty resource named %j instead of crashing (numeric-looking names are keys)',
    (name) => {
      const { policies, problems } = loadPolicies([policyFile({ [name]: {} })]);
      expect(policies.resources.size).toBe(0);
      expect(problems.some((p) => /missing required key/.test(p.message))).toBe(true);
    },
  );

  it('refuses deeply nested YAML without crashing', () => {
    const text = `resources:\n  x:\n    target: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const r = loadPolicies([{ path: 'deep.yaml', text }]);
    expect(r.problems).toEqual([expect.objectContaining({ file: 'deep.yaml' })]);
    expect(r.policies.resources.size).toBe(0);
  });

  it('treats a resource named like a number as a name, not an index', () => {
    const r = loadPolicies([{ path: 'n.yaml', text: 'resources:\n  "0": {}\n' }]);
    // schemaProblems spells the path `resources[0]` (pointerToPath cannot tell a key from an
    // index); the line is what matters to the reader.
    expect(r.problems).toContainEqual(
      expect.objectContaining({
        file: 'n.yaml',
        line: 2,
        message: 'missing required key "provider"',
      }),
    );
    expect(r.policies.resources.size).toBe(0);
  });

  it('reports YAML syntax errors with their line', () => {
    const r = loadPolicies([{ path: 'broken.yaml', text: 'resources:\n  x: [\n' }]);
    expect(r.problems).toEqual([
      expect.objectContaining({ file: 'broken.yaml', line: expect.any(Number) }),
    ]);
    expect(r.policies.resources.size).toBe(0);
  });

  it('still loads the good files when another file has problems', () => {
    const { policies, problems } = loadPolicies([
      policyFixture('basic.yaml'),
      policyFixture('unknown-key.yaml'),
      policyFixture('duplicate-a.yaml'),
    ]);
    expect([...policies.resources.keys()].sort()).toEqual(['prod-db', 'shared-name']);
    expect(new Set(problems.map((p) => p.file))).toEqual(new Set(['unknown-key.yaml']));
  });

  it('lets providers check their targets, pointing at the right lines', () => {
    const validateTarget = jest.fn(
      (
        _kind: string,
        target: Record<string, unknown>,
        at: { lineOf(p: (string | number)[]): number | undefined },
      ) => [
        {
          message: 'role "readonly" does not exist',
          path: 'resources.prod-db.target.roles[0]',
          line: at.lineOf(['roles', 0]),
        },
        { message: `database ${String(target.database)} is unreachable` },
      ],
    );
    const { policies, problems } = loadPolicies([policyFixture('basic.yaml')], { validateTarget });
    expect(validateTarget).toHaveBeenCalledTimes(1);
    expect(validateTarget.mock.calls[0]!.slice(0, 2)).toEqual([
      'postgres',
      { admin_url: 'env:PROD_PG_ADMIN_URL', database: 'app', roles: ['readonly'] },
    ]);
    expect(validateTarget.mock.calls[0]![2]).toMatchObject({
      file: 'basic.yaml',
      path: 'resources.prod-db.target',
      line: 5,
    });
    expect(problems).toEqual([
      {
        file: 'basic.yaml',
        path: 'resources.prod-db.target',
        line: 5,
        message: 'database app is unreachable',
      },
      {
        file: 'basic.yaml',
        path: 'resources.prod-db.target.roles[0]',
        line: 8,
        message: 'role "readonly" does not exist',
      },
    ]);
    expect(policies.resources.size).toBe(0);
  });

  it('does not depend on the order the files are given in', () => {
    const files = [policyFixture('duplicate-a.yaml'), policyFixture('duplicate-b.yaml')];
    expect(loadPolicies(files)).toEqual(loadPolicies([...files].reverse()));
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const r = loadPolicies([{ path: 'fuzz.yaml', text }]);
        expect(Array.isArray(r.problems)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on any shape of resource, and loads nothing it reported a problem for', () => {
    const resource = fc.dictionary(
      fc.constantFrom(
        'description',
        'provider',
        'target',
        'max_duration',
        'default_duration',
        'requesters',
        'approvers',
        'approvals_required',
        'request',
        'auto_approve',
        'break_glass',
        'request_ttl',
        'x',
      ),
      fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom('4h', '1h', 'postgres', 'ssh-certificate', ['acme/sre'], ['alice', 'bob']),
      ),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), resource, { maxKeys: 3 }),
        (resources) => {
          const r = loadPolicies([{ path: 'fuzz.yaml', text: stringify({ resources }) }]);
          if (r.problems.length > 0) expect(r.policies.resources.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the example policies in policies/', () => {
  const files = policyFilesIn(new URL('../../policies/', import.meta.url));

  it('load without a single problem', () => {
    expect(files.map((f) => f.path).sort()).toEqual(
      expect.arrayContaining(['aws.yaml', 'databases.yaml', 'github.yaml', 'ssh.yaml']),
    );
    const { policies, problems } = loadPolicies(files);
    expect(problems).toEqual([]);
    expect(policies.resources.size).toBeGreaterThanOrEqual(5);
  });

  it('use every provider kind that has an example, auto-approve and break-glass', () => {
    const all = [...loadPolicies(files).policies.resources.values()];
    expect(new Set(all.map((r) => r.provider))).toEqual(
      new Set([
        'github-team',
        'github-collaborator',
        'postgres',
        'ssh-certificate',
        'aws-identity-center',
        'aws-iam-role',
      ]),
    );
    expect(all.some((r) => r.auto_approve.length > 0)).toBe(true);
    expect(all.some((r) => r.break_glass)).toBe(true);
    expect(all.some((r) => r.approvals_required === 2)).toBe(true);
  });
});
