import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { Encrypter, Stanza, armor, type Recipient } from 'age-encryption';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type Result, ok, fail } from '../core/problem.js';
import { MIN_RSA_BITS, parseSshPublicKey, type SshPublicKey } from './ssh-public-key.js';

/*
 * age's `ssh-ed25519` and `ssh-rsa` recipient types (age-encryption.org/v1, as implemented by
 * filippo.io/age/agessh), so a secret can be encrypted to the SSH keys a person publishes on
 * GitHub and decrypted with nothing but `age -d -i ~/.ssh/id_ed25519`. typage ships neither.
 */

const ED25519_LABEL = new TextEncoder().encode('age-encryption.org/v1/ssh-ed25519');
const RSA_LABEL = Buffer.from('age-encryption.org/v1/ssh-rsa');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64').replace(/=+$/, '');

/** The stanza tag lets a decrypting identity find its stanza: SHA-256 of the wire key, 4 bytes. */
const tagOf = (key: SshPublicKey): string => b64(sha256(key.blob).subarray(0, 4));

function ed25519Recipient(key: SshPublicKey, pk: Uint8Array): Recipient {
  const theirs = ed25519.utils.toMontgomery(pk);
  // The tweak binds the shared secret to the SSH key itself, not only its X25519 form. Note the
  // order: the wire key is the HKDF *salt* and the input key material is empty (agessh, rage).
  const tweak = hkdf(sha256, new Uint8Array(0), key.blob, ED25519_LABEL, 32);
  return {
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
      const ephemeral = randomBytes(32);
      const share = x25519.scalarMultBase(ephemeral);
      const shared = x25519.scalarMult(tweak, x25519.scalarMult(ephemeral, theirs));
      const salt = new Uint8Array(64);
      salt.set(share, 0);
      salt.set(theirs, 32);
      const wrapKey = hkdf(sha256, shared, salt, ED25519_LABEL, 32);
      const body = chacha20poly1305(wrapKey, new Uint8Array(12)).encrypt(fileKey);
      return [new Stanza(['ssh-ed25519', tagOf(key), b64(share)], body)];
    },
  };
}

function rsaRecipient(key: SshPublicKey, rsa: NonNullable<SshPublicKey['rsa']>): Recipient {
  const pub = createPublicKey({
    key: { kty: 'RSA', n: rsa.n.toString('base64url'), e: rsa.e.toString('base64url') },
    format: 'jwk',
  });
  return {
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
      const body = publicEncrypt(
        {
          key: pub,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha256',
          oaepLabel: RSA_LABEL,
        },
        fileKey,
      );
      return [new Stanza(['ssh-rsa', tagOf(key)], new Uint8Array(body))];
    },
  };
}

/** An age recipient for the key, or `undefined` when age cannot use it (ECDSA, short RSA). */
export function ageRecipientFor(key: SshPublicKey): Recipient | undefined {
  if (key.type === 'ssh-ed25519' && key.ed25519) return ed25519Recipient(key, key.ed25519);
  if (key.type === 'ssh-rsa' && key.rsa && key.rsa.bits >= MIN_RSA_BITS)
    return rsaRecipient(key, key.rsa);
  return undefined;
}

/** Whether at least one of the keys can receive an age-encrypted secret. */
export function hasAgeRecipient(keys: readonly string[]): boolean {
  return keys.some((k) => {
    const parsed = parseSshPublicKey(k);
    return parsed !== undefined && ageRecipientFor(parsed) !== undefined;
  });
}

/**
 * Encrypts `secret` to every usable key (any one of them decrypts it) and returns the armored
 * age file. Keys age cannot use are skipped; none usable is a Problem, never a plaintext fallback.
 */
export async function encryptToSshKeys(
  secret: string,
  keys: readonly string[],
): Promise<Result<string>> {
  const recipients = keys
    .map((k) => parseSshPublicKey(k))
    .map((k) => (k ? ageRecipientFor(k) : undefined))
    .filter((r): r is Recipient => r !== undefined);
  if (recipients.length === 0) {
    return fail({
      message:
        'no usable SSH public key to encrypt to (age needs an ssh-ed25519 key or an ssh-rsa key of at least 2048 bits)',
    });
  }
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return ok(armor.encode(await e.encrypt(secret)));
}
