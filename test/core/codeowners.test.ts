import { describe, it, expect } from '@jest/globals';
import {
  renderCodeowners,
  mergeCodeowners,
  linesAfterGatepassBlock,
  BEGIN_MARKER,
  END_MARKER,
  DEFAULT_BEGIN_MARKER,
} from '../../src/core/codeowners.js';
import { buildResource } from '../helpers/build.js';

const policies = {
  resources: new Map([
    ['prod-db', buildResource({ name: 'prod-db', approvers: ['acme/SRE', 'carol'] })],
    ['prod-ssh', buildResource({ name: 'prod-ssh', approvers: ['acme/sre'] })],
  ]),
};
const blocks = renderCodeowners(policies, ['acme/security']);

/** The owners GitHub applies to a path: the last matching line wins (simple prefix patterns). */
function ownersOf(file: string, path: string): string {
  let owners = '';
  for (const line of file.split('\n')) {
    const [pattern, ...who] = line.trim().split(/\s+/);
    if (!pattern || pattern.startsWith('#')) continue;
    const matches =
      pattern === '*' ||
      (pattern.startsWith('/') && pattern.endsWith('/') && `/${path}`.startsWith(pattern));
    if (matches) owners = who.join(' ');
  }
  return owners;
}

describe('renderCodeowners', () => {
  it("makes each resource's approvers own its grant folder, the policy owners everything gatepass depends on", () => {
    const file = mergeCodeowners('', blocks);
    expect(ownersOf(file, 'grants/prod-db/req-1.yaml')).toBe('@acme/sre @carol');
    expect(ownersOf(file, 'grants/prod-ssh/req-2.yaml')).toBe('@acme/sre');
    expect(ownersOf(file, 'grants/archive/2026/01/req-1.yaml')).toBe('@acme/security');
    expect(ownersOf(file, 'grants/unknown/req-3.yaml')).toBe('@acme/security');
    expect(ownersOf(file, 'policies/db.yaml')).toBe('@acme/security');
    expect(ownersOf(file, '.github/workflows/gatepass.yml')).toBe('@acme/security');
    expect(ownersOf(file, 'action/dist/index.js')).toBe('@acme/security');
    expect(ownersOf(file, 'README.md')).toBe('@acme/security');
    expect(blocks.block.trim().split('\n').at(-1)).toBe(END_MARKER);
  });
});

describe('mergeCodeowners', () => {
  it('keeps your lines between the catch-all and the gatepass block, so they win over the catch-all only', () => {
    const file = mergeCodeowners('/docs/ @acme/writers\n/grants/prod-db/ @mallory\n', blocks);
    expect(file.startsWith(DEFAULT_BEGIN_MARKER)).toBe(true);
    expect(ownersOf(file, 'docs/x.md')).toBe('@acme/writers');
    // A line of yours cannot take a grant folder from its approvers: gatepass's block is last.
    expect(ownersOf(file, 'grants/prod-db/req-1.yaml')).toBe('@acme/sre @carol');
    expect(file.trimEnd().endsWith(END_MARKER)).toBe(true);
  });

  it('is idempotent and moves lines that came after the block above it', () => {
    const once = mergeCodeowners('/docs/ @acme/writers\n', blocks);
    expect(mergeCodeowners(once, blocks)).toBe(once);
    const tampered = `${once}/grants/ @mallory\n`;
    expect(linesAfterGatepassBlock(tampered)).toEqual(['/grants/ @mallory']);
    const fixed = mergeCodeowners(tampered, blocks);
    expect(linesAfterGatepassBlock(fixed)).toEqual([]);
    expect(ownersOf(fixed, 'grants/prod-db/req-1.yaml')).toBe('@acme/sre @carol');
  });

  it('replaces an old single block', () => {
    const old = `/a/ @x\n${BEGIN_MARKER}\n* @old\n${END_MARKER}\n`;
    const file = mergeCodeowners(old, blocks);
    expect(file).not.toContain('@old');
    expect(file).toContain('/a/ @x');
  });
});
