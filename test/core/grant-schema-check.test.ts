import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { GRANT_SCHEMA } from '../../src/core/grant-schema.js';
import { surelyMatchesGrantSchema } from '../../src/core/grant-schema-check.js';
import { serializeGrant } from '../../src/core/grant-file.js';
import { validateGrantSchema } from '../../src/core/generated/grant-validator.js';
import { parseYaml } from '../../src/core/yaml-document.js';
import { grantArb } from '../helpers/arbitraries.js';

const schemaAccepts = (v: unknown): boolean => validateGrantSchema(v) as boolean;

/** A grant as its file holds it (duration as text): what the grant readers hand the schema. */
const fileValue = grantArb.map((g) => {
  const doc = parseYaml(serializeGrant(g), 'grants/x/req-1.yaml', 64 * 1024);
  if (!doc.ok) throw new Error('serializeGrant wrote YAML it cannot read');
  return doc.value.value as Record<string, unknown>;
});

/** Values at the edges of the schema: lengths, integers, timestamps, types. */
const EDGE_VALUES: unknown[] = [
  '',
  'x',
  'x'.repeat(32),
  'x'.repeat(33),
  'x'.repeat(39),
  'x'.repeat(40),
  'x'.repeat(100),
  'x'.repeat(101),
  'x'.repeat(140),
  'x'.repeat(141),
  'x'.repeat(2000),
  'x'.repeat(2001),
  '\u{1f600}'.repeat(20), // 40 UTF-16 units, 20 code points
  'req-1',
  '-req',
  'Req',
  'a'.repeat(64),
  'a'.repeat(65),
  'reviews',
  'break_glass',
  'auto_approve:x',
  'auto_approve:',
  'pending',
  'Active',
  'a'.repeat(40),
  '0'.repeat(64),
  'A'.repeat(40),
  '2030-01-01T00:00:00Z',
  '2030-01-01T00:00:00.000Z',
  '2030-01-01T00:00:00.0Z',
  '2032-02-29T12:00:00Z',
  '2030-02-29T12:00:00Z',
  '2100-02-29T12:00:00.000Z',
  '2000-02-29T12:00:00.000Z',
  '2030-04-31T00:00:00Z',
  '2030-13-01T00:00:00Z',
  '2030-00-10T00:00:00Z',
  '2030-01-00T00:00:00Z',
  '2030-01-01T24:00:00Z',
  '2030-01-01T23:60:00Z',
  '2030-01-01T23:59:60Z',
  '2030-01-01T12:30:60Z',
  '2030-01-01t00:00:00z',
  '2030-01-01 00:00:00Z',
  '2030-01-01T00:00:00',
  '2030-01-01T00:00:00+00:00',
  '2030-01-01T00:00:00.000+01:00',
  '2030-1-01T00:00:00.000Z',
  '2030-01-01T00:00:00.00aZ',
  '203a-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  0,
  1,
  -1,
  1.5,
  2 ** 53,
  NaN,
  Infinity,
  -Infinity,
  '1',
  true,
  false,
  null,
  [],
  ['x'],
  [1],
  {},
  { login: 'a', id: 1 },
  { login: 'a', id: 1, review_id: 1 },
  { login: '', id: 1 },
  { issue: 1 },
  { reason: 'x' },
  { approved_at: '2030-01-01T00:00:00Z', rule: 'reviews', approvers: [] },
  { by: { login: 'a', id: 1 }, at: '2030-01-01T00:00:00Z' },
  Object.create(null) as unknown,
];

const KEYS = [
  'id',
  'resource',
  'status',
  'requester',
  'duration',
  'justification',
  'ticket',
  'source',
  'policy_commit',
  'requested_at',
  'start_at',
  'extends',
  'break_glass',
  'approval',
  'issued_at',
  'expires_at',
  'revoke_requested',
  'ended_at',
  'end_reason',
  'issued',
  'login',
  'id',
  'review_id',
  'via',
  'merge_commit',
  'approved_at',
  'rule',
  'approvers',
  'by',
  'at',
  'reason',
  'issue',
  'pull_request',
  'extra',
  'a'.repeat(65),
  'bad key',
];

type Edit =
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'add'; at: number; key: string; value: unknown }
  | { kind: 'char'; at: number; pos: number; char: string };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...EDGE_VALUES), fc.jsonValue({ maxDepth: 2 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.constantFrom(...KEYS),
    value: fc.constantFrom(...EDGE_VALUES),
  }),
  fc.record({
    kind: fc.constant('char' as const),
    at: fc.nat(),
    pos: fc.nat(),
    char: fc.constantFrom(
      '0',
      '1',
      '2',
      '3',
      '6',
      '9',
      'a',
      'Z',
      'T',
      'z',
      '-',
      ':',
      '.',
      ' ',
      '\u00e9',
      '',
    ),
  }),
);

/** Every container in `v` with the keys (or indexes) it holds, the root first. */
function slots(v: unknown): [Record<string | number, unknown>, string | number][] {
  const out: [Record<string | number, unknown>, string | number][] = [];
  const walk = (x: unknown) => {
    if (typeof x !== 'object' || x === null) return;
    const o = x as Record<string | number, unknown>;
    for (const k of Array.isArray(x) ? x.keys() : Object.keys(o)) {
      out.push([o, k]);
      walk(o[k]);
    }
  };
  walk(v);
  return out;
}

function apply(value: Record<string, unknown>, edits: Edit[]): unknown {
  const v = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  for (const e of edits) {
    const all = slots(v);
    if (all.length === 0) break;
    const [o, k] = all[e.at % all.length]!;
    if (e.kind === 'set') o[k] = e.value;
    else if (e.kind === 'delete') {
      if (Array.isArray(o)) o.splice(Number(k), 1);
      else delete o[k];
    } else if (e.kind === 'add') {
      const target = typeof o[k] === 'object' && o[k] !== null && !Array.isArray(o[k]) ? o[k] : o;
      if (!Array.isArray(target)) (target as Record<string, unknown>)[e.key] = e.value;
    } else {
      const s = o[k];
      if (typeof s === 'string' && s.length > 0) {
        const at = e.pos % s.length;
        o[k] = s.slice(0, at) + e.char + s.slice(at + 1);
      }
    }
  }
  return v;
}

describe('the quick grant schema test', () => {
  it('accepts the files gatepass writes, so the audit skips the full validator for them', () => {
    fc.assert(
      fc.property(fileValue, (v) => {
        expect(schemaAccepts(v)).toBe(true);
        expect(surelyMatchesGrantSchema(v)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never accepts a value the schema refuses, however it was edited', () => {
    let refused = 0;
    let both = 0;
    fc.assert(
      fc.property(fileValue, fc.array(editArb, { minLength: 1, maxLength: 3 }), (value, edits) => {
        const v = apply(value, edits);
        const sure = surelyMatchesGrantSchema(v);
        const accepts = schemaAccepts(v);
        if (sure) expect(accepts).toBe(true);
        if (!accepts) refused += 1;
        if (sure && accepts) both += 1;
      }),
      { numRuns: 4000 },
    );
    // Both sides of the property were reached: edits the schema refuses, and edited values
    // still known to be valid.
    expect(refused).toBeGreaterThan(1000);
    expect(both).toBeGreaterThan(500);
  });

  it.each([
    ['a 29 February outside a leap year', { requested_at: '2030-02-29T00:00:00.000Z' }],
    ['a leap second', { requested_at: '2030-12-31T23:59:60Z' }],
    ['an offset other than Z', { requested_at: '2030-01-01T00:00:00+00:00' }],
    ['a lowercase separator', { requested_at: '2030-01-01t00:00:00Z' }],
    ['an unknown key', { owner: 'x' }],
    ['a float id', { requester: { login: 'a', id: 1.5 } }],
    ['a 40-character login', { requester: { login: 'x'.repeat(40), id: 1 } }],
    ['an empty source', { source: {} }],
    ['an uppercase commit id', { policy_commit: 'A'.repeat(40) }],
  ])('leaves %s to the full validator', (_, change) => {
    const [value] = fc.sample(fileValue, { numRuns: 1, seed: 3 });
    const v = { ...value!, ...change };
    expect(surelyMatchesGrantSchema(v)).toBe(false);
  });
});

describe('the quick test and the schema it mirrors', () => {
  it('was written for this schema: a change to GRANT_SCHEMA must revisit it', () => {
    // surelyMatchesGrantSchema restates GRANT_SCHEMA by hand. A schema change (a new field, a
    // tighter limit) could make it accept what the schema now refuses, and the fast reader
    // would skip ajv for such a value. When this fails: make the quick test at least as strict
    // as the new schema (the property tests above must still pass), then record the new digest.
    const digest = createHash('sha256').update(JSON.stringify(GRANT_SCHEMA)).digest('hex');
    expect(digest).toBe('d43f44d3eb1e13013c8460e163805d386f8eb986ec97e7543461ad118e5d371f');
  });
});
