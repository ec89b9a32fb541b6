import { readFileSync, readdirSync } from 'node:fs';
import { stringify } from 'yaml';
import type { PolicyFile } from '../../src/core/policy-load.js';

const FIXTURES = new URL('../fixtures/policies/', import.meta.url);

/** A fixture from test/fixtures/policies, named by its file name in problems. */
export const policyFixture = (name: string): PolicyFile => ({
  path: name,
  text: readFileSync(new URL(name, FIXTURES), 'utf8'),
});

/** Every `*.yaml` in a directory, as the CLI would hand them to loadPolicies. */
export const policyFilesIn = (dir: URL): PolicyFile[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ path: f, text: readFileSync(new URL(f, dir), 'utf8') }));

/** A minimal valid resource; override any key (undefined removes it). */
export function resourceYaml(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    description: 'Read-only SQL on the production database',
    provider: 'postgres',
    target: { admin_url: 'env:PROD_PG_ADMIN_URL', database: 'app', roles: ['readonly'] },
    max_duration: '4h',
    default_duration: '1h',
    requesters: ['acme/engineering'],
    approvers: ['acme/sre'],
    approvals_required: 1,
    ...overrides,
  };
  for (const [k, v] of Object.entries(base)) if (v === undefined) delete base[k];
  return base;
}

/** A policy file holding the given resources, written as YAML. */
export const policyFile = (
  resources: Record<string, Record<string, unknown>>,
  path = 'policies/test.yaml',
): PolicyFile => ({ path, text: stringify({ resources }) });
