import { describe, it, expect } from '@jest/globals';
import { parseYaml, dottedPath } from '../../src/core/yaml-document.js';

describe('parseYaml', () => {
  it('finds the line of a nested value', () => {
    const r = parseYaml(
      'resources:\n  prod-db:\n    max_duration: 4h\n    approvers:\n      - alice\n      - bob\n',
      'p.yaml',
    );
    if (!r.ok) throw new Error('parse failed');
    expect(r.value.lineOf(['resources', 'prod-db', 'max_duration'])).toBe(3);
    expect(r.value.lineOf(['resources', 'prod-db', 'approvers', 1])).toBe(6);
    // A missing key points at its nearest existing ancestor.
    expect(r.value.lineOf(['resources', 'prod-db', 'nope'])).toBe(2);
  });

  it('refuses an alias bomb without hanging', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill('*' + String.fromCharCode(96 + i))
          .join(', ')}]`,
      );
    const r = parseYaml(bomb.join('\n'), 'bomb.yaml');
    expect(r.ok).toBe(false);
  });

  it('refuses oversized files before parsing', () => {
    const r = parseYaml('a: ' + 'x'.repeat(300 * 1024), 'big.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]!.message).toMatch(/larger than 256 KiB/);
  });

  it('reports syntax errors and duplicate keys with their line', () => {
    const r = parseYaml('a: 1\nb: [\n', 'bad.yaml');
    expect(r.ok).toBe(false);
    const d = parseYaml('a: 1\na: 2\n', 'dup.yaml');
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.problems[0]!.line).toBe(2);
  });

  it('does not honour custom tags', () => {
    const r = parseYaml('a: !!js/function "function () {}"\n', 'tag.yaml');
    expect(r.ok).toBe(false);
  });

  it('spells paths the way people read them', () => {
    expect(dottedPath(['resources', 'prod-db', 'approvers', 1])).toBe(
      'resources.prod-db.approvers[1]',
    );
  });
});
