import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { parseTimestamp, timestampMs } from '../../src/core/timestamp.js';

/**
 * The general reader, as it was before the positional fast path: the fast path must give the
 * same instant, or the same refusal, for every text.
 */
const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
function reference(text: string): number | null {
  if (text.length > 40) return null;
  const m = ISO_WITH_ZONE.exec(text.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((g) => Number(g ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (
    probe.getUTCFullYear() !== year ||
    probe.getUTCMonth() !== month - 1 ||
    probe.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return null;
  const ms = Date.parse(text.trim().replace(' ', 'T').toUpperCase());
  return Number.isNaN(ms) ? null : ms;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
/** Canonical-shaped texts with every field free to go out of range. */
const canonicalShaped = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    milli: fc.option(fc.integer({ min: 0, max: 999 })),
    zone: fc.oneof(
      fc.constant('Z'),
      fc.constant('z'),
      fc
        .tuple(
          fc.constantFrom('+', '-'),
          fc.integer({ min: 0, max: 25 }),
          fc.integer({ min: 0, max: 61 }),
        )
        .map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`),
    ),
  })
  .map(
    (f) =>
      `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:` +
      `${pad(f.second, 2)}${f.milli === null ? '' : `.${pad(f.milli, 3)}`}${f.zone}`,
  );
/** The same with one character replaced: digits, separators, letters out of place. */
const mutated = fc
  .tuple(
    canonicalShaped,
    fc.nat(),
    fc.constantFrom('0', '9', '-', ':', 'T', 'Z', '.', ' ', '+', 'x', '١'),
  )
  .map(([t, i, c]) => t.slice(0, i % t.length) + c + t.slice((i % t.length) + 1));

describe('parseTimestamp', () => {
  it('reads the spellings gatepass and git write', () => {
    expect(parseTimestamp('2030-01-01T00:00:00Z')?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(parseTimestamp('2030-01-01T00:00:00.123Z')?.getTime()).toBe(1893456000123);
    expect(parseTimestamp('2030-01-01T01:30:00+01:30')?.toISOString()).toBe(
      '2030-01-01T00:00:00.000Z',
    );
    expect(parseTimestamp('2029-12-31T19:00:00-05:00')?.toISOString()).toBe(
      '2030-01-01T00:00:00.000Z',
    );
  });

  it('refuses dates that do not exist instead of rolling them over', () => {
    expect(parseTimestamp('2030-02-29T00:00:00Z')).toBeNull();
    expect(parseTimestamp('2028-02-29T00:00:00Z')).not.toBeNull();
    expect(parseTimestamp('2100-02-29T00:00:00Z')).toBeNull();
    expect(parseTimestamp('2030-04-31T00:00:00Z')).toBeNull();
    expect(parseTimestamp('2030-01-01T24:00:00Z')).toBeNull();
    expect(parseTimestamp('2030-01-01T00:00:60Z')).toBeNull();
    expect(parseTimestamp('2030-01-01T00:00:00')).toBeNull();
  });

  it('agrees with the general reader on canonical-shaped texts, in range or not', () => {
    fc.assert(
      fc.property(canonicalShaped, (t) => {
        expect(parseTimestamp(t)?.getTime() ?? null).toBe(reference(t));
        expect(timestampMs(t)).toBe(reference(t));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the general reader when one character is out of place', () => {
    fc.assert(
      fc.property(mutated, (t) => {
        expect(parseTimestamp(t)?.getTime() ?? null).toBe(reference(t));
        expect(timestampMs(t)).toBe(reference(t));
      }),
      { numRuns: 5000 },
    );
  });
});
