import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockingDirectory } from './postgres.js';

/**
 * Run as root from a folder other users cannot enter, the PostgreSQL tests must stop at once
 * with a message naming that folder, rather than wait on an initdb that could not start.
 */
describe('blockingDirectory', () => {
  const stranger = { uid: 64999, gid: 64999 };

  it('finds the 0700 folder on the way to the binaries', () => {
    const top = mkdtempSync(join(tmpdir(), 'gatepass-reach-'));
    try {
      mkdirSync(join(top, 'checkout', 'node_modules', 'bin'), { recursive: true });
      chmodSync(top, 0o700);
      expect(
        blockingDirectory(join(top, 'checkout', 'node_modules', 'bin', 'initdb'), stranger),
      ).toBe(top);
      chmodSync(top, 0o711);
      expect(
        blockingDirectory(join(top, 'checkout', 'node_modules', 'bin', 'initdb'), stranger),
      ).toBe(undefined);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });

  it("uses the owner's and the group's bits for the user's own folders", () => {
    const stat = (p: string) =>
      p === '/home/pg'
        ? { mode: 0o40700, uid: 70, gid: 70 }
        : p === '/shared'
          ? { mode: 0o40750, uid: 0, gid: 70 }
          : { mode: 0o40755, uid: 0, gid: 0 };
    expect(blockingDirectory('/home/pg/bin/initdb', { uid: 70, gid: 70 }, stat)).toBe(undefined);
    expect(blockingDirectory('/home/pg/bin/initdb', stranger, stat)).toBe('/home/pg');
    expect(blockingDirectory('/shared/bin/initdb', { uid: 71, gid: 70 }, stat)).toBe(undefined);
    expect(blockingDirectory('/shared/bin/initdb', stranger, stat)).toBe('/shared');
  });
});
