import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { POLICY_SCHEMA, policySchemaJson } from '../../src/core/policy-schema.js';
import { loadPolicies } from '../../src/core/policy-load.js';
import { PROVIDER_KINDS } from '../../src/core/policy.js';
import { resourceYaml, policyFile } from '../helpers/policy-files.js';

const SCHEMA_FILE = new URL('../../policies/schema.json', import.meta.url);

const problemsFor = (resource: Record<string, unknown>) =>
  loadPolicies([policyFile({ res: resource }, 'p.yaml')]).problems.map((p) => ({
    path: p.path,
    message: p.message,
  }));

describe('policies/schema.json', () => {
  it('is exactly what policySchemaJson() generates', () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    if (committed !== policySchemaJson()) {
      throw new Error(
        'policies/schema.json is out of date with src/core/policy-schema.ts; regenerate it with `gatepass schema > policies/schema.json` and commit it',
      );
    }
  });

  it('is a valid JSON Schema 2020-12 document that a strict validator compiles (no keyword of our own)', () => {
    const ajv = new Ajv2020({ strict: true });
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(ajv.errors ?? null).toBeNull();
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('has a target schema for every provider kind, each refusing unknown keys', () => {
    const defs = POLICY_SCHEMA.$defs as Record<string, { additionalProperties?: unknown }>;
    for (const kind of PROVIDER_KINDS)
      expect(defs[`target-${kind}`]?.additionalProperties).toBe(false);
  });
});

describe('POLICY_SCHEMA', () => {
  it.each([
    ['github-team', { team: 'acme/prod-debuggers' }],
    ['github-team', { team: 'acme/prod-debuggers', role: 'maintainer' }],
    ['github-collaborator', { repository: 'acme/infrastructure', permission: 'maintain' }],
    [
      'postgres',
      {
        admin_url: 'env:PROD_PG_ADMIN_URL',
        database: 'app',
        roles: ['readonly', 'reporting'],
        connection_limit: 100,
        statement_timeout: '5m',
      },
    ],
    [
      'ssh-certificate',
      {
        ca_key: 'env:SSH_CA_KEY',
        principals: ['deploy', 'ops@prod'],
        extensions: ['permit-pty', 'permit-agent-forwarding'],
        source_address: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'],
        krl_path: '.ssh/revoked.krl',
      },
    ],
    ['command', { path: 'scripts/grant.sh', timeout: '2m', env: ['DEPLOY_TOKEN'] }],
  ])('accepts a %s target %j', (provider, target) => {
    // Targets that allow lasting access need the resource to say so (policy-load checks it).
    expect(problemsFor(resourceYaml({ provider, target, allow_lasting_access: true }))).toEqual([]);
  });

  it.each([
    [
      'github-team',
      { team: 'prod-debuggers' },
      'target.team',
      'must be a team written as org/team-slug',
    ],
    [
      'github-team',
      { team: 'acme/x', role: 'owner' },
      'target.role',
      'must be one of "member", "maintainer"',
    ],
    [
      'github-team',
      { team: 'acme/x', database: 'app' },
      'target.database',
      'unknown key "database"',
    ],
    [
      'github-collaborator',
      { repository: 'acme/infra' },
      'target',
      'missing required key "permission"',
    ],
    [
      'github-collaborator',
      { repository: 'acme', permission: 'push' },
      'target.repository',
      'must be a repository written as owner/name',
    ],
    [
      'github-collaborator',
      { repository: 'acme/x', permission: 'write' },
      'target.permission',
      'must be one of "pull", "triage", "push", "maintain", "admin"',
    ],
    [
      'postgres',
      { admin_url: 'env:PG', database: 'app', roles: [] },
      'target.roles',
      'must NOT have fewer than 1 items',
    ],
    [
      'postgres',
      { admin_url: 'env:PG', database: 'app', roles: ['read only'] },
      'target.roles[0]',
      'must be a lower-case PostgreSQL identifier (a-z, 0-9, "_", "$"; at most 63 characters)',
    ],
    [
      'postgres',
      { admin_url: 'env:PG', database: 'app', roles: ['r'], connection_limit: 101 },
      'target.connection_limit',
      'must be <= 100',
    ],
    [
      'postgres',
      { admin_url: 'env:PG', database: 'app', roles: ['r'], connection_limit: 1.5 },
      'target.connection_limit',
      'must be integer',
    ],
    [
      'postgres',
      { admin_url: 'env:pg-url', database: 'app', roles: ['r'] },
      'target.admin_url',
      'must be a reference to an environment variable, env:NAME; secrets are never written in policy files',
    ],
    [
      'ssh-certificate',
      { ca_key: 'env:CA', principals: ['a,b'] },
      'target.principals[0]',
      'must be a principal name (letters, digits, ".", "_", "@", "-"; no commas or spaces)',
    ],
    [
      'ssh-certificate',
      { ca_key: 'env:CA', principals: ['a'], extensions: ['permit-everything'] },
      'target.extensions[0]',
      expect.stringMatching(/^must be one of "permit-pty"/),
    ],
    [
      'ssh-certificate',
      { ca_key: 'env:CA', principals: ['a'], source_address: ['anywhere'] },
      'target.source_address[0]',
      'must be an IP address or CIDR block, e.g. 10.0.0.0/8',
    ],
    [
      'ssh-certificate',
      { ca_key: 'env:CA', principals: ['a'], krl_path: '/etc/ssh/krl' },
      'target.krl_path',
      expect.stringMatching(/^must be a path relative to the repository root/),
    ],
    [
      'command',
      { path: 'scripts/../../bin/sh' },
      'target.path',
      expect.stringMatching(/^must be a path relative to the repository root/),
    ],
    [
      'command',
      { path: 'x.sh', env: ['NOT-A-NAME'] },
      'target.env[0]',
      'must be the name of an environment variable, e.g. SERVICE_TOKEN',
    ],
  ])('refuses a %s target %j at %s', (provider, target, path, message) => {
    expect(problemsFor(resourceYaml({ provider, target }))).toEqual([
      { path: `resources.res.${path}`, message },
    ]);
  });

  it('refuses an unknown provider and leaves its target unchecked', () => {
    expect(problemsFor(resourceYaml({ provider: 'aws-iam', target: { role: 'x' } }))).toEqual([
      {
        path: 'resources.res.provider',
        message: expect.stringMatching(/^must be one of "github-team"/),
      },
    ]);
  });

  it('refuses unknown keys in request, auto_approve and break_glass', () => {
    const problems = problemsFor(
      resourceYaml({
        request: { ticket: { required: true, regex: 'x' } },
        auto_approve: [{ name: 'x', requester_in: ['a'], max_duration: '1h', max: 2 }],
        break_glass: { allowed: ['a'], max_duration: '1h', notify: true },
      }),
    );
    expect(problems).toEqual([
      { path: 'resources.res.request.ticket.regex', message: 'unknown key "regex"' },
      { path: 'resources.res.auto_approve[0].max', message: 'unknown key "max"' },
      { path: 'resources.res.break_glass.notify', message: 'unknown key "notify"' },
    ]);
  });

  it('requires the keys a resource cannot do without', () => {
    expect(
      problemsFor(resourceYaml({ approvers: undefined, approvals_required: undefined })),
    ).toEqual([
      { path: 'resources.res', message: 'missing required key "approvers"' },
      { path: 'resources.res', message: 'missing required key "approvals_required"' },
    ]);
  });

  it('refuses a file without resources or with unknown top-level keys', () => {
    const r = loadPolicies([{ path: 'p.yaml', text: 'resource:\n  x: {}\n' }]);
    expect(r.problems).toEqual([
      { file: 'p.yaml', path: undefined, line: 1, message: 'missing required key "resources"' },
      { file: 'p.yaml', path: 'resource', line: 1, message: 'unknown key "resource"' },
    ]);
  });
});
