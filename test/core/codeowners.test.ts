import { describe, it, expect } from '@jest/globals';
import {
  renderCodeownersBlock,
  mergeCodeowners,
  BEGIN_MARKER,
  END_MARKER,
} from '../../src/core/codeowners.js';
import { buildResource } from '../helpers/build.js';

const policies = {
  resources: new Map([
    ['prod-db', buildResource({ name: 'prod-db', approvers: ['acme/SRE', 'carol'] })],
    ['prod-ssh', buildResource({ name: 'prod-ssh', approvers: ['acme/sre'] })],
  ]),
};

describe('renderCodeownersBlock', () => {
  it("makes each resource's approvers own its grant folder, after the catch-all", () => {
    const block = renderCodeownersBlock(policies, ['acme/security']);
    const lines = block.trim().split('\n');
    expect(lines[0]).toBe(BEGIN_MARKER);
    expect(lines).toContain('* @acme/security');
    expect(lines).toContain('/policies/ @acme/security');
    expect(lines).toContain('/.github/ @acme/security');
    expect(lines).toContain('/grants/prod-db/ @acme/sre @carol');
    expect(lines).toContain('/grants/prod-ssh/ @acme/sre');
    // CODEOWNERS: the last matching line wins, so specific folders must follow the catch-all.
    expect(lines.indexOf('/grants/prod-db/ @acme/sre @carol')).toBeGreaterThan(
      lines.indexOf('* @acme/security'),
    );
    expect(lines.at(-1)).toBe(END_MARKER);
  });
});

describe('mergeCodeowners', () => {
  const block = renderCodeownersBlock(policies, ['acme/security']);
  it('appends to a file without a block, keeping what was there', () => {
    expect(mergeCodeowners('/docs/ @acme/writers\n', block)).toBe(
      `/docs/ @acme/writers\n\n${block}`,
    );
  });
  it('replaces an existing block in place', () => {
    const old = `/a/ @x\n${BEGIN_MARKER}\n* @old\n${END_MARKER}\n/b/ @y\n`;
    expect(mergeCodeowners(old, block)).toBe(`/a/ @x\n${block}/b/ @y\n`);
  });
});
