import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { generateKey } from '../helpers/ssh-keys.js';
import { encryptToSshKeys, hasAgeRecipient } from '../../src/providers/age-ssh.js';

/** Decrypts with the independent Go implementation (Debian's `age`), as a requester would. */
function ageDecrypt(armored: string, identity: string): string {
  return execFileSync('age', ['-d', '-i', identity], {
    input: armored,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

describe('encryptToSshKeys', () => {
  const ed = generateKey('ed25519');
  const rsa = generateKey('rsa', 2048);
  const ecdsa = generateKey('ecdsa');
  const secret = 'pa$$w0rd with "quotes" and ünïcode';

  it('produces an armored age file that `age -d -i` opens with an ed25519 key', async () => {
    const r = await encryptToSshKeys(secret, [ed.publicKey]);
    if (!r.ok) throw new Error(r.problems[0]?.message);
    expect(r.value).toMatch(
      /^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/,
    );
    expect(r.value).not.toContain(secret);
    expect(ageDecrypt(r.value, ed.privatePath)).toBe(secret);
  });

  it('produces a file that `age -d -i` opens with an RSA key', async () => {
    const r = await encryptToSshKeys(secret, [rsa.publicKey]);
    if (!r.ok) throw new Error(r.problems[0]?.message);
    expect(ageDecrypt(r.value, rsa.privatePath)).toBe(secret);
  });

  it('lets any one of several keys decrypt, skipping keys age cannot use', async () => {
    const r = await encryptToSshKeys(secret, [ecdsa.publicKey, ed.publicKey, rsa.publicKey]);
    if (!r.ok) throw new Error(r.problems[0]?.message);
    expect(ageDecrypt(r.value, ed.privatePath)).toBe(secret);
    expect(ageDecrypt(r.value, rsa.privatePath)).toBe(secret);
  });

  it('cannot be opened with a key it was not encrypted to', async () => {
    const other = generateKey('ed25519');
    const r = await encryptToSshKeys(secret, [ed.publicKey]);
    if (!r.ok) throw new Error(r.problems[0]?.message);
    expect(() => ageDecrypt(r.value, other.privatePath)).toThrow();
  });

  it('encrypts afresh each time (no two ciphertexts alike)', async () => {
    const a = await encryptToSshKeys(secret, [ed.publicKey]);
    const b = await encryptToSshKeys(secret, [ed.publicKey]);
    expect(a.ok && b.ok && a.value !== b.value).toBe(true);
  });

  it('returns a problem, not plaintext, when no key is usable', async () => {
    const short = generateKey('rsa', 1024);
    const r = await encryptToSshKeys(secret, [
      ecdsa.publicKey,
      short.publicKey,
      'ssh-ed25519 garbage',
      '',
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.message).toMatch(/no usable SSH public key/);
    expect(hasAgeRecipient([ecdsa.publicKey, short.publicKey])).toBe(false);
    expect(hasAgeRecipient([ecdsa.publicKey, ed.publicKey])).toBe(true);
  });
});
