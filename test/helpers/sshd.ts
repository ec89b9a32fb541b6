import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';

export const SSHD = '/usr/sbin/sshd';
export const hasSshd = (): boolean => existsSync(SSHD) && process.getuid?.() === 0;

export interface TestSshd {
  port: number;
  user: string;
  /** Runs `ssh … true` with the key and certificate; resolves to whether the login succeeded. */
  login(privateKey: string, certificate: string): Promise<{ ok: boolean; stderr: string }>;
  stop(): void;
}

/**
 * A real sshd on a loopback port that trusts `caPub` for user certificates and reads revocations
 * from `krlPath`. It runs as root and accepts certificates for principal `root` only.
 */
export async function startSshd(caPub: string, krlPath: string): Promise<TestSshd> {
  // sshd insists on its privilege separation directory, which a container may lack.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'gatepass-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  writeFileSync(join(dir, 'ca.pub'), caPub);
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `TrustedUserCAKeys ${join(dir, 'ca.pub')}`,
    `RevokedKeys ${krlPath}`,
    'AuthorizedKeysFile none',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'UsePAM no',
    'StrictModes no',
    'LogLevel VERBOSE',
  ].join('\n');
  const configPath = join(dir, 'sshd_config');
  writeFileSync(configPath, `${config}\n`);
  const proc: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const poll = () => {
      if (log.includes('Server listening')) resolve();
      else if (proc.exitCode !== null || Date.now() > deadline)
        reject(new Error(`sshd did not start: ${log}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
  return {
    port,
    user: 'root',
    login: (privateKey, certificate) =>
      new Promise((resolve) => {
        execFile(
          'ssh',
          [
            '-F',
            '/dev/null',
            '-i',
            privateKey,
            '-o',
            `CertificateFile=${certificate}`,
            '-o',
            'IdentitiesOnly=yes',
            '-o',
            'BatchMode=yes',
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
            '-o',
            'ConnectTimeout=5',
            '-p',
            String(port),
            'root@127.0.0.1',
            'true',
          ],
          { timeout: 10_000 },
          (err, _stdout, stderr) => resolve({ ok: err === null, stderr: String(stderr) }),
        );
      }),
    stop() {
      proc.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
