import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  privatePath: string;
  publicPath: string;
  publicKey: string;
  privateKey: string;
}

/** A fresh key pair from the real ssh-keygen, in its own temp dir. */
export function generateKey(
  type: 'ed25519' | 'rsa' | 'ecdsa',
  bits?: number,
  dir?: string,
): KeyPair {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'gatepass-key-'));
  const privatePath = join(d, `id_${type}${bits ? `_${bits}` : ''}`);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(bits ? ['-b', String(bits)] : []),
    '-N',
    '',
    '-C',
    'test@example',
    '-f',
    privatePath,
  ]);
  return {
    privatePath,
    publicPath: `${privatePath}.pub`,
    publicKey: readFileSync(`${privatePath}.pub`, 'utf8').trim(),
    privateKey: readFileSync(privatePath, 'utf8'),
  };
}
