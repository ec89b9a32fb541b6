import { describe, expect, it } from '@jest/globals';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError, ProviderError } from '../../src/core/errors.js';
import { commandProvider as command } from '../../src/providers/command.js';
import { buildContext, buildGrant, buildResource } from '../helpers/provider-context.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'providers');

/** An access-repo checkout holding the fixture scripts under `scripts/`, plus a record dir. */
function setup(target: Record<string, unknown>, env: Record<string, string> = {}) {
  const workdir = mkdtempSync(join(tmpdir(), 'gatepass-repo-'));
  mkdirSync(join(workdir, 'scripts'));
  for (const f of ['record.sh', 'fail.sh', 'slow.sh', 'not-json.sh'])
    copyFileSync(join(fixtures, f), join(workdir, 'scripts', f));
  const record = mkdtempSync(join(tmpdir(), 'gatepass-record-'));
  const ctx = buildContext({
    resource: buildResource('command', target, 'vpn'),
    env: {
      PATH: process.env.PATH,
      HOME: '/root',
      RECORD_DIR: record,
      API_TOKEN: 'tok-SECRET-123',
      UNLISTED: 'nope',
      ...env,
    },
    workdir,
  });
  const recorded = (f: string) => readFileSync(join(record, f), 'utf8');
  return { ctx, workdir, recorded };
}

const envOf = (text: string) =>
  Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('command provider running real scripts', () => {
  it('runs `issue` with the grant on stdin, a minimal environment, and records the facts it prints', async () => {
    const { ctx, recorded } = setup({ path: 'scripts/record.sh', env: ['RECORD_DIR'] });
    const grant = buildGrant({ id: 'req-42' });
    const issued = await command.issue(grant, ctx);

    expect(issued).toEqual({
      facts: { account: 'vpn-alice', groups: ['ops'], ttl: 3600, command: 'scripts/record.sh' },
    });
    expect(recorded('action')).toBe('issue');
    expect(JSON.parse(recorded('stdin'))).toEqual(grant);
    const env = envOf(recorded('env'));
    expect(env).toMatchObject({
      GATEPASS_ACTION: 'issue',
      GATEPASS_GRANT_ID: 'req-42',
      GATEPASS_RESOURCE: 'vpn',
      GATEPASS_REQUESTER: 'alice',
      GATEPASS_EXPIRES_AT: grant.expires_at,
      HOME: '/root',
    });
    expect(env.API_TOKEN).toBeUndefined();
    expect(env.UNLISTED).toBeUndefined();
    const allowed = ['PATH', 'HOME', 'RECORD_DIR', 'PWD', 'SHLVL', '_'];
    expect(
      Object.keys(env).filter((k) => !k.startsWith('GATEPASS_') && !allowed.includes(k)),
    ).toEqual([]);
  });

  it('runs `revoke` and `list`, parsing JSON lines into live access', async () => {
    const { ctx, recorded } = setup({ path: 'scripts/record.sh', env: ['RECORD_DIR'] });
    await command.revoke(buildGrant(), ctx);
    expect(recorded('action')).toBe('revoke');
    expect(await command.list!(ctx)).toEqual([
      { grantId: 'req-42', key: 'vpn-alice', description: 'vpn account alice' },
      { key: 'vpn-mallory', description: 'vpn-mallory' },
    ]);
    await command.removeDrift!({ key: 'vpn-mallory', description: 'x' }, ctx);
    expect(recorded('action')).toBe('remove-drift');
    expect(JSON.parse(recorded('stdin'))).toEqual({ key: 'vpn-mallory', description: 'x' });
  });

  it('turns a non-zero exit into a ProviderError with stderr, masking passed-through secrets', async () => {
    const { ctx } = setup({ path: 'scripts/fail.sh', env: ['API_TOKEN'] });
    const err = await command.issue(buildGrant(), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toBe(
      'command scripts/fail.sh issue failed (exit 3): upstream refused token *** for req-42',
    );
    expect(ctx.masked).toContain('tok-SECRET-123');
  });

  it('kills a script that runs past its timeout', async () => {
    const { ctx } = setup({ path: 'scripts/slow.sh', timeout: '1s' });
    const started = Date.now();
    await expect(command.revoke(buildGrant(), ctx)).rejects.toThrow(
      'command scripts/slow.sh revoke timed out after 1s and was killed',
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses output that is not {"facts":{...}}', async () => {
    const { ctx } = setup({ path: 'scripts/not-json.sh' });
    await expect(command.issue(buildGrant(), ctx)).rejects.toThrow(/not JSON/);
  });

  it('refuses scripts that escape the access repo, by symlink or otherwise', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'gatepass-outside-'));
    writeFileSync(join(outside, 'evil.sh'), '#!/bin/sh\ntouch "$0.ran"\n', { mode: 0o755 });
    const { ctx, workdir } = setup({ path: 'scripts/link.sh' });
    symlinkSync(join(outside, 'evil.sh'), join(workdir, 'scripts', 'link.sh'));
    await expect(command.issue(buildGrant(), ctx)).rejects.toThrow(
      new ConfigurationError('command scripts/link.sh resolves outside the access repo'),
    );
    for (const path of ['../x.sh', '/bin/sh', 'scripts/../../x']) {
      const bad = setup({ path }).ctx;
      await expect(command.issue(buildGrant(), bad)).rejects.toThrow(ConfigurationError);
    }
    const missing = setup({ path: 'scripts/nope.sh' }).ctx;
    await expect(command.issue(buildGrant(), missing)).rejects.toThrow(/does not exist/);
  });
});

describe('command provider: what was issued decides the revoke (issue #13)', () => {
  it('revokes with the script recorded at issue, after the policy moved to another one', async () => {
    const { ctx, recorded } = setup({ path: 'scripts/record.sh', env: ['RECORD_DIR'] });
    const grant = buildGrant({ id: 'req-77' });
    const issued = await command.issue(grant, ctx);
    const moved = {
      ...ctx,
      resource: { ...ctx.resource, target: { path: 'scripts/fail.sh', env: ['RECORD_DIR'] } },
    };
    await command.revoke({ ...grant, issued: issued.facts }, moved);
    expect(recorded('action')).toBe('revoke');
  });

  it('refuses facts a script prints under gatepass’s own names', async () => {
    const { ctx, workdir } = setup({ path: 'scripts/forge.sh' });
    writeFileSync(
      join(workdir, 'scripts', 'forge.sh'),
      '#!/bin/sh\necho \'{"facts":{"provider":"github-team","team":"acme/sre"}}\'\n',
      { mode: 0o755 },
    );
    await expect(command.issue(buildGrant(), ctx)).rejects.toThrow(/fact "provider" is reserved/);
  });
});
