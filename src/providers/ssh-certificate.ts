import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  lstat,
  mkdir,
  mkdtemp,
  open,
  readFile,
  realpath,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { Grant } from '../core/grant.js';
import type { Problem } from '../core/problem.js';
import { ConfigurationError, ProviderError } from '../core/errors.js';
import { isSignable, parseSshPublicKey, type SshPublicKey } from './ssh-public-key.js';
import { type Issued, type Provider, type ProviderContext, resolveSecretRef } from './provider.js';
import { checkEnvRef, checkStringList, isSafeRelativePath, problem } from './target-checks.js';

/*
 * Signs the requester's GitHub SSH keys with the CA. The certificate's validity is the grant
 * window, so expiry needs no action; revoke adds the serials (and the grant id as key id) to a
 * KRL committed in the access repo, which servers load with `RevokedKeys`.
 *
 * There is no `list`: a certificate lives on the requester's machine, not in a target we can
 * enumerate, and it ends by itself. Drift cannot exist beyond the KRL, which is already in git.
 */

const run = promisify(execFile);

export const SSH_EXTENSIONS = [
  'permit-pty',
  'permit-port-forwarding',
  'permit-agent-forwarding',
  'permit-X11-forwarding',
  'permit-user-rc',
] as const;
export const DEFAULT_KRL_PATH = 'ssh/revoked.krl';
/** Principals go into a comma-separated `-n` list: no commas, spaces or shell-ish surprises. */
const PRINCIPAL = /^[A-Za-z0-9._@-]{1,64}$/;
const CIDR = /^[0-9A-Fa-f:.]+(?:\/\d{1,3})?$/;

interface SshTarget {
  ca_key: string;
  principals: string[];
  extensions: string[];
  source_address: string[];
  krl_path: string;
}

function isAddressOrCidr(s: string): boolean {
  if (!CIDR.test(s)) return false;
  const [addr, bits] = s.split('/');
  const family = isIP(addr ?? '');
  if (family === 0) return false;
  return bits === undefined || Number(bits) <= (family === 4 ? 32 : 128);
}

export function validateSshTarget(target: Record<string, unknown>): Problem[] {
  const out: Problem[] = [...checkEnvRef(target, 'ca_key')];
  out.push(
    ...checkStringList(target, 'principals', {
      required: true,
      pattern: PRINCIPAL,
      patternHelp: 'is not a valid principal (letters, digits, . _ @ -; at most 64)',
    }),
  );
  out.push(
    ...checkStringList(target, 'extensions', {
      required: false,
      pattern: new RegExp(`^(?:${SSH_EXTENSIONS.join('|')})$`),
      patternHelp: `is not one of ${SSH_EXTENSIONS.join(', ')}`,
    }),
  );
  out.push(...checkStringList(target, 'source_address', { required: false }));
  if (Array.isArray(target.source_address)) {
    target.source_address.forEach((a, i) => {
      if (typeof a === 'string' && !isAddressOrCidr(a))
        out.push(
          problem(
            `source_address[${i}]`,
            `${JSON.stringify(a)} is not an IP address or CIDR block`,
          ),
        );
    });
  }
  if (target.krl_path !== undefined && !isSafeRelativePath(target.krl_path))
    out.push(
      problem('krl_path', 'must be a relative path inside the access repo (no .., no leading /)'),
    );
  return out;
}

function readTarget(ctx: ProviderContext): SshTarget {
  const t = ctx.resource.target;
  const problems = validateSshTarget(t);
  if (problems.length > 0)
    throw new ConfigurationError(
      `resource ${ctx.resource.name}: ${problems.map((p) => p.message).join('; ')}`,
    );
  return {
    ca_key: t.ca_key as string,
    principals: t.principals as string[],
    extensions: (t.extensions as string[] | undefined) ?? [],
    source_address: (t.source_address as string[] | undefined) ?? [],
    krl_path: (t.krl_path as string | undefined) ?? DEFAULT_KRL_PATH,
  };
}

/**
 * Same grant and key → same serial, so a re-run re-signs rather than minting a new serial, and
 * revoke can recompute serials even if the issue facts were never recorded. 63 bits, non-zero.
 */
export function serialFor(grantId: string, keyFingerprint: string): string {
  const h = createHash('sha256').update(`gatepass\0${grantId}\0${keyFingerprint}`).digest();
  const n = h.readBigUInt64BE(0) & 0x7fffffffffffffffn;
  return (n === 0n ? 1n : n).toString();
}

/** `ssh-keygen -V` accepts raw epoch seconds in hex, which sidesteps time zones entirely. */
const epochHex = (iso: string): string => `0x${Math.floor(Date.parse(iso) / 1000).toString(16)}`;

async function sshKeygen(args: string[], what: string): Promise<void> {
  try {
    await run('ssh-keygen', args, { timeout: 30_000, maxBuffer: 1 << 20 });
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '')
      .split('\n')
      .filter((l) => l && !/PRIVATE KEY/.test(l))
      .slice(0, 3)
      .join(' ')
      .slice(0, 300);
    throw new ProviderError(`ssh-certificate: ${what} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

/**
 * Writes the CA private key from the environment to a 0600 file in a 0700 temp dir, derives its
 * public half, runs `fn`, and always removes the dir.
 */
async function withCa<T>(
  target: SshTarget,
  ctx: ProviderContext,
  fn: (dir: string, caPath: string, caPubPath: string) => Promise<T>,
): Promise<T> {
  const secret = resolveSecretRef(target.ca_key, ctx.env);
  if (secret === undefined)
    throw new ConfigurationError(
      `resource ${ctx.resource.name}: ${target.ca_key} is not set in the environment`,
    );
  ctx.mask(secret);
  const dir = await mkdtemp(join(tmpdir(), 'gatepass-ssh-'));
  try {
    const caPath = join(dir, 'ca');
    // ssh-keygen refuses a key without its trailing newline.
    await writeFile(caPath, secret.endsWith('\n') ? secret : `${secret}\n`, { mode: 0o600 });
    const { stdout } = await run('ssh-keygen', ['-y', '-f', caPath], { timeout: 30_000 }).catch(
      () => {
        throw new ProviderError(
          `ssh-certificate: ${target.ca_key} does not hold a usable unencrypted SSH private key`,
        );
      },
    );
    const caPubPath = join(dir, 'ca.pub');
    await writeFile(caPubPath, stdout, { mode: 0o600 });
    return await fn(dir, caPath, caPubPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const certFileName: Record<SshPublicKey['type'], string> = {
  'ssh-ed25519': 'id_ed25519-cert.pub',
  'ssh-rsa': 'id_rsa-cert.pub',
  'ecdsa-sha2-nistp256': 'id_ecdsa-cert.pub',
  'ecdsa-sha2-nistp384': 'id_ecdsa-cert.pub',
  'ecdsa-sha2-nistp521': 'id_ecdsa-cert.pub',
};

function deliveryBody(
  resource: string,
  principals: string[],
  expiresAt: string,
  certs: { key: SshPublicKey; cert: string }[],
): string {
  const lines = [
    `SSH certificate${certs.length > 1 ? 's' : ''} for **${resource}**, valid until **${expiresAt}** as ${principals.map((p) => `\`${p}\``).join(', ')}.`,
    'Certificates are not secret. Save the one for your key next to it, and `ssh` uses it automatically:',
    '',
  ];
  for (const { key, cert } of certs) {
    const file = `~/.ssh/${certFileName[key.type]}`;
    lines.push(
      `For \`${key.type}\` key \`${key.fingerprint}\`:`,
      '',
      '```sh',
      `cat > ${file} <<'EOF'`,
      cert.trim(),
      'EOF',
      '```',
      '',
    );
  }
  lines.push(`Then \`ssh ${principals[0]}@<host>\` (or pass \`-o CertificateFile=<file>\`).`);
  return lines.join('\n');
}

/**
 * The KRL's directory inside the checkout, made component by component without following a
 * symlink anywhere on the way: each component is checked with lstat from the checkout root,
 * so a symlink committed to the access repo (for the directory or the file) cannot redirect
 * the write outside it.
 */
async function krlDirectory(
  workdir: string,
  krlPath: string,
): Promise<{ dir: string; name: string }> {
  if (!isSafeRelativePath(krlPath))
    throw new ConfigurationError(`krl_path ${krlPath} leaves the access repo`);
  const root = await realpath(workdir);
  const parts = krlPath.split('/');
  const name = parts.pop()!;
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => null);
    if (st === null) {
      await mkdir(dir);
      continue;
    }
    if (st.isSymbolicLink())
      throw new ConfigurationError(
        `krl_path ${krlPath}: ${relative(root, dir)} is a symlink; refusing to follow it`,
      );
    if (!st.isDirectory())
      throw new ConfigurationError(
        `krl_path ${krlPath}: ${relative(root, dir)} is not a directory`,
      );
  }
  const last = await lstat(join(dir, name)).catch(() => null);
  if (last?.isSymbolicLink())
    throw new ConfigurationError(`krl_path ${krlPath} is a symlink; refusing to follow it`);
  if (last && !last.isFile())
    throw new ConfigurationError(`krl_path ${krlPath} is not a regular file`);
  return { dir, name };
}

/**
 * Updates the KRL atomically: the current list is copied (never through a symlink) to a new
 * temporary file in the same directory, ssh-keygen updates that copy, and a rename puts it in
 * place. A crash leaves the old list or the new one, never half of one.
 */
async function updateKrl(
  workdir: string,
  krlPath: string,
  update: (file: string, exists: boolean) => Promise<void>,
): Promise<void> {
  const { dir, name } = await krlDirectory(workdir, krlPath);
  const file = join(dir, name);
  const tmp = join(dir, `.${name}.gatepass-${randomBytes(6).toString('hex')}.tmp`);
  let current: Buffer | null = null;
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      current = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
  try {
    // O_EXCL: a fresh file of our own, never an existing file or a symlink planted there.
    const out = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      if (current) await out.writeFile(current);
    } finally {
      await out.close();
    }
    await update(tmp, current !== null);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The grant id becomes the certificate's key id and a KRL line: keep it to one boring token. */
function checkGrantId(grant: Grant): void {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(grant.id))
    throw new ProviderError(
      `ssh-certificate: grant id ${JSON.stringify(grant.id)} is not a safe key id`,
    );
}

/** Signs the requester's keys for the grant's window (issue, or again with a new window). */
/**
 * The target a grant was issued under, from its facts: an extension re-signs, and a revoke
 * revokes, exactly what was issued, whatever the policy says today. Grants issued before the
 * target was recorded use today's policy (said in the log).
 */
function recordedTarget(grant: Grant, ctx: ProviderContext): SshTarget {
  const current = readTarget(ctx);
  const f = grant.issued ?? {};
  const list = (v: unknown): string[] | undefined =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  if (typeof f.krl_path !== 'string' || typeof f.ca_key !== 'string') {
    ctx.log(
      `ssh-certificate: grant ${grant.id} has no recorded target (issued before gatepass recorded it); using the policy's current target`,
    );
    return current;
  }
  const recorded = {
    ca_key: f.ca_key,
    principals: list(f.principals) ?? current.principals,
    extensions: list(f.extensions) ?? current.extensions,
    source_address: list(f.source_address) ?? current.source_address,
    krl_path: f.krl_path,
  };
  // Facts are re-checked as a policy would be: they end up on ssh-keygen's command line.
  const problems = validateSshTarget(recorded);
  if (problems.length > 0)
    throw new ProviderError(
      `ssh-certificate: grant ${grant.id} recorded an invalid target: ${problems.map((p) => p.message).join('; ')}`,
    );
  return recorded;
}

async function sign(grant: Grant, ctx: ProviderContext, why: 'issue' | 'extend'): Promise<Issued> {
  const target = why === 'extend' ? recordedTarget(grant, ctx) : readTarget(ctx);
  checkGrantId(grant);
  const from = grant.issued_at;
  const to = grant.expires_at;
  if (!from || !to || Number.isNaN(Date.parse(from)) || Number.isNaN(Date.parse(to)))
    throw new ProviderError(`ssh-certificate: grant ${grant.id} has no valid issued_at/expires_at`);
  const published = await ctx.publicKeys(grant.requester);
  if (published.length === 0)
    throw new ProviderError(
      `${grant.requester.login} has no SSH keys on GitHub; add one at https://github.com/settings/keys and retry`,
    );
  const parsed = published
    .map((k) => parseSshPublicKey(k))
    .filter((k): k is SshPublicKey => k !== undefined);
  let keys = [...new Map(parsed.filter(isSignable).map((k) => [k.fingerprint, k])).values()];
  const recorded = grant.issued?.key_fingerprints;
  // An extension re-signs the keys the grant was issued for, not keys added since.
  if (why === 'extend' && Array.isArray(recorded) && recorded.length > 0)
    keys = keys.filter((k) => recorded.includes(k.fingerprint));
  if (keys.length === 0)
    throw new ProviderError(
      `${grant.requester.login} has no usable SSH key on GitHub (need ssh-ed25519, ecdsa, or ssh-rsa of at least 2048 bits)`,
    );

  const options = ['-O', 'clear', ...target.extensions.flatMap((e) => ['-O', e])];
  if (target.source_address.length > 0)
    options.push('-O', `source-address=${target.source_address.join(',')}`);
  const validity = `${epochHex(from)}:${epochHex(to)}`;

  let caFingerprint = '';
  const certs = await withCa(target, ctx, async (dir, caPath, caPubPath) => {
    // Which CA signed is recorded (never the key): a changed ca_key is then visible.
    caFingerprint =
      parseSshPublicKey((await readFile(caPubPath, 'utf8')).trim())?.fingerprint ?? 'unknown';
    const out: { key: SshPublicKey; cert: string; serial: string }[] = [];
    for (const [i, key] of keys.entries()) {
      const pub = join(dir, `key${i}.pub`);
      await writeFile(pub, `${key.line}\n`);
      const serial = serialFor(grant.id, key.fingerprint);
      await sshKeygen(
        [
          '-q',
          '-s',
          caPath,
          '-I',
          grant.id,
          '-n',
          target.principals.join(','),
          '-V',
          validity,
          '-z',
          serial,
          ...options,
          pub,
        ],
        `signing key ${key.fingerprint}`,
      );
      out.push({
        key,
        cert: (await readFile(join(dir, `key${i}-cert.pub`), 'utf8')).trim(),
        serial,
      });
    }
    return out;
  });
  ctx.log(
    `ssh-certificate: ${why === 'extend' ? 're-signed' : 'signed'} ${certs.length} key(s) for ${grant.requester.login} until ${to}`,
  );
  return {
    facts: {
      serials: certs.map((c) => c.serial),
      key_fingerprints: certs.map((c) => c.key.fingerprint),
      principals: [...target.principals],
      extensions: [...target.extensions],
      source_address: [...target.source_address],
      valid_until: new Date(Date.parse(to)).toISOString(),
      ca_key: target.ca_key,
      ca_fingerprint: caFingerprint,
      krl_path: target.krl_path,
    },
    delivery: {
      title: `${why === 'extend' ? 'Extended SSH certificate' : 'SSH certificate'} for ${ctx.resource.name}`,
      body: deliveryBody(
        ctx.resource.name,
        target.principals,
        new Date(Date.parse(to)).toISOString(),
        certs,
      ),
    },
  };
}

export const sshCertificateProvider: Provider = {
  kind: 'ssh-certificate',

  files: (resource) => [
    typeof resource.target.krl_path === 'string' ? resource.target.krl_path : DEFAULT_KRL_PATH,
  ],

  validateTarget: validateSshTarget,

  issue: (grant, ctx) => sign(grant, ctx, 'issue'),

  /**
   * Certificates cannot be changed once signed: re-sign the same keys (same serials, since a
   * serial is derived from grant id and key) with the longer window, and deliver them again.
   * The old certificates simply end at the old expiry.
   */
  extend: (grant, ctx) => sign(grant, ctx, 'extend'),

  async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
    const target = recordedTarget(grant, ctx);
    checkGrantId(grant);
    const recorded = grant.issued?.serials;
    const serials = new Set(
      Array.isArray(recorded) ? recorded.filter((s) => /^\d{1,20}$/.test(s)) : [],
    );
    // If issue ran but its facts were never committed, the serials can still be recomputed.
    try {
      for (const k of await ctx.publicKeys(grant.requester)) {
        const parsed = parseSshPublicKey(k);
        if (parsed) serials.add(serialFor(grant.id, parsed.fingerprint));
      }
    } catch (e) {
      ctx.log(
        `ssh-certificate: could not fetch keys to recompute serials (${(e as Error).message}); using recorded serials and key id`,
      );
    }
    await withCa(target, ctx, async (dir, _ca, caPub) => {
      const spec = join(dir, 'revoke.spec');
      // The key id line catches any certificate for this grant, whatever its serial.
      const lines = [...[...serials].sort().map((s) => `serial: ${s}`), `id: ${grant.id}`];
      await writeFile(spec, `${lines.join('\n')}\n`);
      await updateKrl(ctx.workdir, target.krl_path, (file, exists) =>
        sshKeygen(
          ['-q', '-k', ...(exists ? ['-u'] : []), '-s', caPub, '-f', file, spec],
          `updating the KRL ${target.krl_path}`,
        ),
      );
    });
    ctx.log(
      `ssh-certificate: revoked ${serials.size} serial(s) of grant ${grant.id} in ${target.krl_path}`,
    );
  },
};

export default sshCertificateProvider;
