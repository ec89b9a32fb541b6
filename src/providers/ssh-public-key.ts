import { createHash } from 'node:crypto';

/**
 * An OpenSSH public key as GitHub publishes it (`type base64 [comment]`), decoded far enough to
 * tell what it is. Anything we cannot fully parse is treated as unusable rather than guessed at.
 */
export interface SshPublicKey {
  type:
    | 'ssh-ed25519'
    | 'ssh-rsa'
    | 'ecdsa-sha2-nistp256'
    | 'ecdsa-sha2-nistp384'
    | 'ecdsa-sha2-nistp521';
  /** The key in SSH wire format (what the base64 field encodes). */
  blob: Buffer;
  /** `type base64`, without the comment (comments are user-controlled text). */
  line: string;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** Ed25519: the 32-byte public key. */
  ed25519?: Uint8Array;
  /** RSA: exponent and modulus, unsigned big-endian. */
  rsa?: { e: Buffer; n: Buffer; bits: number };
}

const MAX_KEY_LINE = 16 * 1024;
/** RSA below this is refused: age refuses it too, and it is no longer considered safe. */
export const MIN_RSA_BITS = 2048;

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer | undefined {
    if (this.off + 4 > this.buf.length) return undefined;
    const len = this.buf.readUInt32BE(this.off);
    if (this.off + 4 + len > this.buf.length) return undefined;
    const out = this.buf.subarray(this.off + 4, this.off + 4 + len);
    this.off += 4 + len;
    return out;
  }
  get done(): boolean {
    return this.off === this.buf.length;
  }
}

/** Strips the sign byte SSH adds to mpints whose high bit is set. */
function unsignedMpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function bitLength(n: Buffer): number {
  if (n.length === 0) return 0;
  return (n.length - 1) * 8 + (n[0] as number).toString(2).length;
}

/** Parses one public key line; `undefined` when it is not a key type gatepass can use. */
export function parseSshPublicKey(text: string): SshPublicKey | undefined {
  if (typeof text !== 'string' || text.length > MAX_KEY_LINE) return undefined;
  const [type, b64] = text.trim().split(/\s+/);
  if (!type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, 'base64');
  const r = new Reader(blob);
  const inner = r.string();
  if (!inner || inner.toString('latin1') !== type) return undefined;
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  const base = { blob, line: `${type} ${blob.toString('base64')}`, fingerprint };
  switch (type) {
    case 'ssh-ed25519': {
      const pk = r.string();
      if (!pk || pk.length !== 32 || !r.done) return undefined;
      return { ...base, type, ed25519: new Uint8Array(pk) };
    }
    case 'ssh-rsa': {
      const e = r.string();
      const n = r.string();
      if (!e || !n || !r.done) return undefined;
      const un = unsignedMpint(n);
      return { ...base, type, rsa: { e: unsignedMpint(e), n: un, bits: bitLength(un) } };
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const curve = r.string();
      const q = r.string();
      if (!curve || !q || !r.done || `ecdsa-sha2-${curve.toString('latin1')}` !== type)
        return undefined;
      return { ...base, type };
    }
    default:
      return undefined;
  }
}

/** Keys strong enough to sign a certificate for: Ed25519, ECDSA, RSA of at least 2048 bits. */
export function isSignable(key: SshPublicKey): boolean {
  return key.type !== 'ssh-rsa' || (key.rsa?.bits ?? 0) >= MIN_RSA_BITS;
}
