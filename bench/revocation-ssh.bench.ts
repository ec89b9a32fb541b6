import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshCertificateProvider } from '../src/providers/ssh-certificate.js';
import { buildContext, buildGrant, buildResource } from '../test/helpers/provider-context.js';
import { hasSshd, startSshd } from '../test/helpers/sshd.js';
import { generateKey } from '../test/helpers/ssh-keys.js';
import { expiryRow, pollUntilRefused, summarise, type ExpiryTrial } from './support/expiry.js';
import { scale } from './support/scale.js';
import type { Bench, BenchRow } from './types.js';

/**
 * The real provider signs the requester's key with validity ending a couple of seconds ahead; a
 * real sshd on loopback that trusts the CA is asked to let the certificate in every 50 ms.
 */
const TRIALS = scale(3, 1);
const INTERVAL = 50;
const FIGURE = 'revocation latency, SSH certificate (login refused after valid-before)';

/** The certificate from the delivery, saved as the requester would. */
function saveCert(body: string, dir: string): string {
  const cert = /<<'EOF'\n(.+)\nEOF/.exec(body)?.[1];
  if (!cert) throw new Error('no certificate in the delivery');
  const file = join(dir, `cert-${Date.now()}.pub`);
  writeFileSync(file, `${cert}\n`);
  return file;
}

/** Valid-before as ssh-keygen reads it back from the certificate, epoch ms. */
function validBefore(certFile: string): number {
  const text = execFileSync('ssh-keygen', ['-L', '-f', certFile], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  const m = /Valid: from \S+ to (\S+)/.exec(text);
  if (!m) throw new Error(`no validity in certificate: ${text}`);
  return Date.parse(`${m[1]}Z`);
}

export const revocationSshBench: Bench = {
  name: 'revocation-ssh',
  async run(): Promise<BenchRow[]> {
    if (!hasSshd())
      return [
        {
          figure: FIGURE,
          baseline: '',
          measured:
            'skipped: /usr/sbin/sshd is absent or the bench is not root (apt-get install openssh-server)',
          target: '0 s',
          met: null,
        },
      ];
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-bench-ssh-'));
    const ca = generateKey('ed25519', undefined, dir);
    const user = generateKey('ed25519', undefined, mkdtempSync(join(dir, 'user-')));
    mkdirSync(join(dir, 'repo', 'ssh'), { recursive: true });
    const krl = join(dir, 'repo', 'ssh', 'revoked.krl');
    // sshd refuses every key when RevokedKeys is unreadable, so start from an empty KRL.
    execFileSync('ssh-keygen', ['-q', '-k', '-f', krl]);
    const sshd = await startSshd(ca.publicKey, krl);
    try {
      const ctx = buildContext({
        resource: buildResource(
          'ssh-certificate',
          { ca_key: 'env:SSH_CA', principals: ['root'] },
          'prod-ssh',
        ),
        env: { SSH_CA: ca.privateKey },
        keys: [user.publicKey],
        workdir: join(dir, 'repo'),
      });
      const trials: ExpiryTrial[] = [];
      for (let i = 0; i < TRIALS; i++) {
        const now = Date.now();
        // Certificates hold whole seconds: end on one, so the grant and the certificate agree.
        const end = Math.ceil((now + 2000) / 1000) * 1000;
        const grant = buildGrant({
          id: `req-${950 + i}`,
          issued_at: new Date(now - 60_000).toISOString(),
          expires_at: new Date(end).toISOString(),
        });
        const issued = await sshCertificateProvider.issue(grant, ctx);
        const cert = saveCert(issued.delivery!.body, dir);
        const expiry = validBefore(cert);
        if (expiry !== end) throw new Error(`certificate ends at ${expiry}, grant at ${end}`);
        trials.push(
          await pollUntilRefused(
            async () => (await sshd.login(user.privatePath, cert)).ok,
            expiry,
            INTERVAL,
          ),
        );
      }
      return [
        expiryRow(
          FIGURE,
          summarise(trials, INTERVAL),
          TRIALS,
          'native expiry: sshd checks valid-before itself; the KRL written on revoke is for ending a grant early',
        ),
      ];
    } finally {
      sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
