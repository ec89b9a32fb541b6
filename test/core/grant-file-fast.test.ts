import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { parseGrantFast, readSerializedGrant } from '../../src/core/grant-file-fast.js';
import { grantPath, parseGrant, serializeGrant, HEADER } from '../../src/core/grant-file.js';
import { parseYaml } from '../../src/core/yaml-document.js';
import { grantArb } from '../helpers/arbitraries.js';
import { buildGrant } from '../helpers/build.js';
import { readFixture } from '../helpers/fixtures.js';

const FILE = 'grants/prod-db/req-42.yaml';

/** What the YAML library makes of the text, or a marker when it refuses it. */
function yamlValue(text: string): unknown {
  const doc = parseYaml(text, FILE, 64 * 1024);
  return doc.ok ? doc.value.value : 'YAML refused it';
}

/** Edits that reach the corners of YAML: indentation, comments, quoting, indicators, lines. */
const EDIT_TOKENS = [
  ' ',
  '  ',
  '\n',
  '\n  ',
  '\n\n',
  '\t',
  '#',
  ' #',
  ':',
  ': ',
  '-',
  '- ',
  '"',
  "'",
  '\\',
  '\\n',
  '|',
  '|-',
  '>',
  '&a ',
  '*a',
  '!!str ',
  '{',
  '}',
  '[',
  ']',
  ',',
  '~',
  'null',
  'true',
  '0x1',
  '1e3',
  '.5',
  '007',
  '---\n',
  '...\n',
  '<<: ',
  '__proto__',
  '%',
  '@',
  '`',
  '?',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\r',
  'é',
];

const mutated = fc
  .tuple(
    grantArb,
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.nat({ max: 3 }),
        fc.oneof(fc.constantFrom(...EDIT_TOKENS), fc.string({ maxLength: 3 })),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([g, edits]) => {
    const original = serializeGrant(g);
    let text = original;
    for (const [pos, del, insert] of edits) {
      const at = HEADER.length + (pos % Math.max(1, text.length - HEADER.length));
      text = text.slice(0, at) + insert + text.slice(at + del);
    }
    return { text, original, file: grantPath(g.resource, g.id) };
  });

describe('the fast grant reader', () => {
  it('reads every file serializeGrant writes as the YAML library does', () => {
    fc.assert(
      fc.property(grantArb, (g) => {
        const text = serializeGrant(g);
        const fast = readSerializedGrant(text);
        if (fast !== null) expect(fast).toEqual(yamlValue(text));
      }),
      { numRuns: 400 },
    );
  });

  it('never accepts a text the YAML library reads differently, however it was edited', () => {
    fc.assert(
      fc.property(mutated, ({ text }) => {
        const fast = readSerializedGrant(text);
        if (fast !== null) expect(fast).toEqual(yamlValue(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('still reads many edited texts itself, so the property above tests something', () => {
    const samples = fc.sample(mutated, { numRuns: 2000, seed: 7 });
    const accepted = samples.filter((m) => readSerializedGrant(m.text) !== null);
    const meaningChanged = accepted.filter(
      (m) => JSON.stringify(yamlValue(m.text)) !== JSON.stringify(yamlValue(m.original)),
    );
    expect(accepted.length).toBeGreaterThan(200);
    expect(meaningChanged.length).toBeGreaterThan(100);
  });

  it('gives exactly what parseGrant gives, edited or not', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          grantArb.map((g) => ({ text: serializeGrant(g), file: grantPath(g.resource, g.id) })),
          mutated,
        ),
        ({ text, file }) => {
          expect(parseGrantFast(text, file)).toEqual(parseGrant(text, file));
        },
      ),
      { numRuns: 800 },
    );
  });

  it('takes the fast path for the files gatepass writes', () => {
    const writes = fc.sample(grantArb, { numRuns: 500, seed: 42 }).map(serializeGrant);
    const fast = writes.filter((t) => readSerializedGrant(t) !== null).length;
    // Justifications and issued values are arbitrary Unicode here; real ones are mostly prose.
    expect(fast / writes.length).toBeGreaterThan(0.5);
    expect(readSerializedGrant(readFixture('grants/prod-db/req-42.yaml'))).not.toBeNull();
    const prose = buildGrant({
      justification: 'Checkout is down: "INC-7".\nNeed read access to see\n  the locks',
      ticket: 'INC-7',
    });
    expect(readSerializedGrant(serializeGrant(prose))).toEqual(yamlValue(serializeGrant(prose)));
  });

  it.each([
    ['a comment', (t: string) => t.replace('\nstatus:', '\n# hand edit\nstatus:')],
    ['an anchor', (t: string) => t.replace('requester:\n', 'requester: &r\n')],
    [
      'a flow mapping',
      (t: string) =>
        t.replace(
          /requester:\n {2}login: (\S+)\n {2}id: (\d+)/,
          'requester: { login: $1, id: $2 }',
        ),
    ],
    ['a float', (t: string) => t.replace(/review_id: (\d+)/, 'review_id: $1.0')],
    ['a duplicate key', (t: string) => t.replace('\nstatus:', '\nid: req-1\nstatus:')],
    ['no header', (t: string) => t.slice(HEADER.length)],
    ['a Windows line end', (t: string) => t.replace('\nstatus:', '\r\nstatus:')],
    [
      'a folded continuation',
      (t: string) => t.replace(/\nduration: (\S+)\n/, '\nduration: $1\n  more\n'),
    ],
  ])('leaves %s to the YAML library, with the same result', (_, edit) => {
    const text = edit(readFixture('grants/prod-db/req-42.yaml'));
    expect(readSerializedGrant(text)).toBeNull();
    expect(parseGrantFast(text, FILE)).toEqual(parseGrant(text, FILE));
  });

  it('reports an invalid file with the lines parseGrant gives', () => {
    const text = readFixture('grants/prod-db/req-42.yaml').replace(/\nid: \S+/, '\nid: req-43');
    const r = parseGrantFast(text, FILE);
    expect(r.ok).toBe(false);
    expect(r).toEqual(parseGrant(text, FILE));
    if (!r.ok) expect(r.problems[0]?.line).toBeDefined();
  });

  it('reads values that start with a digit as the YAML library does (numbers, words, times)', () => {
    const digitLed = fc.oneof(
      fc.stringMatching(/^[0-9][0-9a-z]{0,8}$/),
      fc.stringMatching(/^0[xo][0-9a-f]{1,4}$/),
      fc.stringMatching(/^[0-9]{1,17}$/),
      fc.stringMatching(/^[0-9]{1,3}e[0-9]{1,2}$/),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('0', '00', '007', '1h', '0x1f', '0o17', '12e3', '2030-01-01T00:00:00Z'),
    );
    const base = readFixture('grants/prod-db/req-42.yaml');
    fc.assert(
      fc.property(digitLed, fc.constantFrom('ticket', 'justification', 'duration'), (v, key) => {
        const text = base.replace(new RegExp(`\\n${key}: .*`), `\n${key}: ${v}`);
        const fast = readSerializedGrant(text);
        if (fast !== null) expect(fast).toEqual(yamlValue(text));
        expect(parseGrantFast(text, FILE)).toEqual(parseGrant(text, FILE));
      }),
      { numRuns: 1500 },
    );
  });
});
