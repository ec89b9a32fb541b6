import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderError } from '../../src/core/errors.js';
import { serialFor, sshCertificateProvider as ssh } from '../../src/providers/ssh-certificate.js';
import { buildContext, buildGrant, buildResource } from '../helpers/provider-context.js';
import { hasSshd, startSshd, type TestSshd } from '../helpers/sshd.js';
import { generateKey, type KeyPair } from '../helpers/ssh-keys.js';

const ca = generateKey('ed25519');
const ed = generateKey('ed25519');
const rsa = generateKey('rsa', 3072);
const ecdsa = generateKey('ecdsa');
const weak = generateKey('rsa', 1024);

function setup(extra: Record<string, unknown> = {}, keys: string[] = [ed.publicKey]) {
  const workdir = mkdtempSync(join(tmpdir(), 'gatepass-repo-'));
  const ctx = buildContext({
    resource: buildResource(
      'ssh-certificate',
      { ca_key: 'env:SSH_CA', principals: ['root'], ...extra },
      'prod-ssh',
    ),
    env: { SSH_CA: ca.privateKey },
    keys,
    workdir,
  });
  return { ctx, workdir, krl: join(workdir, 'ssh', 'revoked.krl') };
}

/** Writes a delivered certificate next to a copy of the key, as the requester would. */
function saveCert(body: string, index = 0): string {
  const certs = [...body.matchAll(/<<'EOF'\n(.+)\nEOF/g)].map((m) => m[1]!);
  const file = join(mkdtempSync(join(tmpdir(), 'gatepass-cert-')), 'cert.pub');
  writeFileSync(file, `${certs[index]}\n`);
  return file;
}

const inspect = (certFile: string) =>
  execFileSync('ssh-keygen', ['-L', '-f', certFile], { encoding: 'utf8' });
const isRevoked = (krl: string, certFile: string): boolean => {
  try {
    execFileSync('ssh-keygen', ['-Q', '-f', krl, certFile], { stdio: 'pipe' });
    return false;
  } catch {
    return true;
  }
};
const caDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('gatepass-ssh-'));

describe('ssh-certificate provider with the real ssh-keygen', () => {
  it('signs every usable key with the grant id, principals, window and chosen extensions', async () => {
    const { ctx } = setup(
      {
        principals: ['root', 'deploy'],
        extensions: ['permit-pty'],
        source_address: ['10.0.0.0/8', '127.0.0.1'],
      },
      [ed.publicKey, rsa.publicKey, ecdsa.publicKey, weak.publicKey, 'ssh-dss AAAA'],
    );
    const grant = buildGrant({
      id: 'req-7',
      issued_at: '2030-01-01T10:00:00Z',
      expires_at: '2030-01-01T12:00:00Z',
    });
    const before = caDirs();
    const issued = await ssh.issue(grant, ctx);

    expect(issued.facts.key_fingerprints).toHaveLength(3);
    const serials = issued.facts.serials as string[];
    expect(serials).toEqual(
      (issued.facts.key_fingerprints as string[]).map((f) => serialFor('req-7', f)),
    );
    const cert = inspect(saveCert(issued.delivery!.body, 0));
    expect(cert).toContain('Key ID: "req-7"');
    expect(cert).toContain(`Serial: ${serials[0]}`);
    expect(cert).toMatch(/Principals:\s+root\s+deploy/);
    expect(cert).toMatch(/Valid: from 2030-01-01T\d\d:00:00 to 2030-01-01T\d\d:00:00/);
    expect(cert).toMatch(/Critical Options:\s+source-address 10\.0\.0\.0\/8,127\.0\.0\.1/);
    expect(cert).toMatch(/Extensions:\s+permit-pty\n/);
    expect(cert).not.toContain('permit-port-forwarding');
    expect(issued.delivery!.body).toContain('~/.ssh/id_ed25519-cert.pub');
    expect(issued.delivery!.body).not.toContain('PRIVATE KEY');
    expect(ctx.masked).toContain(ca.privateKey);
    expect(caDirs()).toEqual(before);
  });

  it('re-issuing the same grant gives the same serials', async () => {
    const { ctx } = setup();
    const grant = buildGrant({ id: 'req-8' });
    const a = await ssh.issue(grant, ctx);
    const b = await ssh.issue(grant, ctx);
    expect(b.facts.serials).toEqual(a.facts.serials);
    expect(serialFor('req-9', ed.publicKey)).not.toBe(serialFor('req-8', ed.publicKey));
  });

  it('extends by re-signing the same keys with the same serials and the later end, not keys added since', async () => {
    const { ctx } = setup({}, [ed.publicKey]);
    const grant = buildGrant({
      id: 'req-12',
      issued_at: '2030-01-01T10:00:00Z',
      expires_at: '2030-01-01T11:00:00Z',
    });
    const issued = await ssh.issue(grant, ctx);
    // The requester published another key since; the extension must not sign it.
    const later = setup({}, [ed.publicKey, rsa.publicKey]).ctx;
    const extended = await ssh.extend!(
      { ...grant, expires_at: '2030-01-01T12:30:00Z', issued: issued.facts },
      later,
    );
    expect(extended).toBeDefined();
    const facts = (extended as { facts: Record<string, unknown> }).facts;
    expect(facts.serials).toEqual(issued.facts.serials);
    expect(facts.key_fingerprints).toEqual(issued.facts.key_fingerprints);
    const cert = inspect(saveCert((extended as { delivery: { body: string } }).delivery.body));
    expect(cert).toContain('Key ID: "req-12"');
    expect(cert).toContain(`Serial: ${(issued.facts.serials as string[])[0]}`);
    expect(cert).toMatch(/Valid: from 2030-01-01T\d\d:00:00 to 2030-01-01T\d\d:30:00/);
  });

  it('says clearly when the requester has no SSH keys on GitHub', async () => {
    const { ctx } = setup({}, []);
    await expect(ssh.issue(buildGrant(), ctx)).rejects.toThrow(
      new ProviderError(
        'alice has no SSH keys on GitHub; add one at https://github.com/settings/keys and retry',
      ),
    );
    const weakOnly = setup({}, [weak.publicKey]).ctx;
    await expect(ssh.issue(buildGrant(), weakOnly)).rejects.toThrow(
      /alice has no usable SSH key on GitHub/,
    );
  });

  it('revokes into a KRL that ssh-keygen recognises, idempotently, even without recorded serials', async () => {
    const { ctx, krl } = setup();
    const grant = buildGrant({ id: 'req-10' });
    const issued = await ssh.issue(grant, ctx);
    const cert = saveCert(issued.delivery!.body);
    const other = saveCert((await ssh.issue(buildGrant({ id: 'req-11' }), ctx)).delivery!.body);

    await ssh.revoke(grant, ctx); // no `issued` facts: serials are recomputed from the keys
    expect(isRevoked(krl, cert)).toBe(true);
    expect(isRevoked(krl, other)).toBe(false);
    await ssh.revoke({ ...grant, issued: issued.facts }, ctx);
    expect(isRevoked(krl, cert)).toBe(true);
    expect(isRevoked(krl, other)).toBe(false);
  });

  it('refuses a CA secret that is not a private key, without echoing it', async () => {
    const { ctx } = setup();
    const bad = { ...ctx, env: { SSH_CA: 'not-a-key-but-a-secret' } };
    const err = await ssh.issue(buildGrant(), bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(/env:SSH_CA does not hold a usable/);
    expect((err as Error).message).not.toContain('not-a-key-but-a-secret');
  });
});

const sshdSuite = hasSshd() ? describe : describe.skip;
if (!hasSshd())
  console.warn(
    'Skipping the sshd login tests: /usr/sbin/sshd is absent or we are not root (apt-get install openssh-server)',
  );

sshdSuite('certificates against a real sshd', () => {
  let sshd: TestSshd;
  let env: ReturnType<typeof setup>;
  let user: KeyPair;

  beforeAll(async () => {
    env = setup();
    user = ed;
    execFileSync('mkdir', ['-p', join(env.workdir, 'ssh')]);
    // sshd refuses every key when RevokedKeys is unreadable, so start from an empty KRL.
    execFileSync('ssh-keygen', ['-q', '-k', '-f', env.krl]);
    sshd = await startSshd(ca.publicKey, env.krl);
  });
  afterAll(() => sshd?.stop());

  it('accepts a login inside the window and refuses it after KRL revocation', async () => {
    const grant = buildGrant({ id: 'req-20' });
    const cert = saveCert((await ssh.issue(grant, env.ctx)).delivery!.body);
    expect((await sshd.login(user.privatePath, cert)).ok).toBe(true);

    await ssh.revoke(grant, env.ctx);
    const after = await sshd.login(user.privatePath, cert);
    expect(after.ok).toBe(false);
  });

  it('refuses a login once the certificate has expired', async () => {
    const now = Date.now();
    const grant = buildGrant({
      id: 'req-21',
      issued_at: new Date(now - 60_000).toISOString(),
      expires_at: new Date(now + 2000).toISOString(),
    });
    const cert = saveCert((await ssh.issue(grant, env.ctx)).delivery!.body);
    expect((await sshd.login(user.privatePath, cert)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await sshd.login(user.privatePath, cert)).ok).toBe(false);
  });

  it('refuses a certificate signed by another CA', async () => {
    const rogue = generateKey('ed25519');
    const ctx = { ...env.ctx, env: { SSH_CA: rogue.privateKey } };
    const cert = saveCert((await ssh.issue(buildGrant({ id: 'req-22' }), ctx)).delivery!.body);
    expect((await sshd.login(user.privatePath, cert)).ok).toBe(false);
  });
});

describe('the KRL is written inside the checkout only, atomically (issue #13)', () => {
  const outside = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-outside-'));
    const file = join(dir, 'authorized_keys');
    writeFileSync(file, 'precious\n');
    return { dir, file };
  };

  it('refuses a committed symlink as the KRL file itself, writing nothing through it', async () => {
    const { ctx, workdir } = setup();
    const target = outside();
    mkdirSync(join(workdir, 'ssh'));
    symlinkSync(target.file, join(workdir, 'ssh', 'revoked.krl'));
    const grant = buildGrant({ id: 'req-50' });
    const issued = await ssh.issue(grant, ctx);
    await expect(ssh.revoke({ ...grant, issued: issued.facts }, ctx)).rejects.toThrow(
      /krl_path ssh\/revoked\.krl is a symlink; refusing to follow it/,
    );
    expect(readFileSync(target.file, 'utf8')).toBe('precious\n');
  });

  it('refuses a symlinked directory on the way, even one that points back inside', async () => {
    const { ctx, workdir } = setup({ krl_path: 'keys/ssh/revoked.krl' });
    const target = outside();
    symlinkSync(target.dir, join(workdir, 'keys'));
    const grant = buildGrant({ id: 'req-51' });
    const issued = await ssh.issue(grant, ctx);
    await expect(ssh.revoke({ ...grant, issued: issued.facts }, ctx)).rejects.toThrow(
      /keys is a symlink; refusing to follow it/,
    );
    expect(readdirSync(target.dir)).toEqual(['authorized_keys']);
    const inside = setup({ krl_path: 'alias/revoked.krl' });
    mkdirSync(join(inside.workdir, 'real'));
    symlinkSync(join(inside.workdir, 'real'), join(inside.workdir, 'alias'));
    await expect(ssh.revoke({ ...grant, issued: undefined }, inside.ctx)).rejects.toThrow(
      /alias is a symlink/,
    );
  });

  it('replaces the list by rename (a new file), leaving no temporary file behind', async () => {
    const { ctx, workdir, krl } = setup();
    const grant = buildGrant({ id: 'req-52' });
    const facts = (await ssh.issue(grant, ctx)).facts;
    await ssh.revoke({ ...grant, issued: facts }, ctx);
    const first = statSync(krl).ino;
    await ssh.revoke({ ...buildGrant({ id: 'req-53' }) }, ctx);
    expect(statSync(krl).ino).not.toBe(first);
    expect(lstatSync(krl).isFile()).toBe(true);
    expect(readdirSync(join(workdir, 'ssh'))).toEqual(['revoked.krl']);
  });

  it('revokes into the KRL recorded at issue when the policy has moved it (finding 5)', async () => {
    const { ctx, workdir, krl } = setup();
    const grant = buildGrant({ id: 'req-54' });
    const issued = await ssh.issue(grant, ctx);
    expect(issued.facts).toMatchObject({
      krl_path: 'ssh/revoked.krl',
      ca_key: 'env:SSH_CA',
      principals: ['root'],
      ca_fingerprint: expect.stringMatching(/^SHA256:/),
    });
    const cert = saveCert(issued.delivery!.body);
    const moved = buildContext({
      resource: buildResource(
        'ssh-certificate',
        { ca_key: 'env:SSH_CA', principals: ['admin'], krl_path: 'ssh/new.krl' },
        'prod-ssh',
      ),
      env: { SSH_CA: ca.privateKey },
      keys: [ed.publicKey],
      workdir,
    });
    await ssh.revoke({ ...grant, issued: issued.facts }, moved);
    expect(isRevoked(krl, cert)).toBe(true);
    expect(readdirSync(join(workdir, 'ssh'))).toEqual(['revoked.krl']);
  });
});
