import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  parseDuration,
  formatDuration,
  HOUR,
  MINUTE,
  DAY,
  MAX_DURATION,
} from '../../src/core/duration.js';

const seconds = (text: string): number => {
  const r = parseDuration(text);
  if (!r.ok) throw new Error(r.problems[0]!.message);
  return r.value;
};
const problem = (text: unknown): string => {
  const r = parseDuration(text);
  if (r.ok) throw new Error(`expected ${String(text)} to be refused`);
  return r.problems[0]!.message;
};

describe('parseDuration', () => {
  it.each([
    ['90m', 90 * MINUTE],
    ['1h30m', HOUR + 30 * MINUTE],
    ['2h', 2 * HOUR],
    ['1d', DAY],
    ['1d12h', DAY + 12 * HOUR],
    ['PT1H30M', HOUR + 30 * MINUTE],
    ['pt45m', 45 * MINUTE],
    ['P1D', DAY],
    ['P1DT2H', DAY + 2 * HOUR],
    [' 2H ', 2 * HOUR],
    ['90d', MAX_DURATION],
  ])('reads %s', (text, expected) => {
    expect(seconds(text)).toBe(expected);
  });

  it.each([
    ['0m', /zero/],
    ['PT0S', /zero/],
    ['-1h', /negative/],
    ['30s', /shorter than 1m/],
    ['91d', /longer than 90d/],
    ['999999d', /longer than 90d/],
    ['1 hour', /not understood/],
    ['1.5h', /not understood/],
    ['h', /not understood/],
    ['P', /not understood/],
    ['PT', /not understood/],
    ['P1DT', /not understood/],
    ['P1Y', /not understood/],
    ['1h1d', /not understood/],
    ['', /empty/],
    ['9'.repeat(100), /too long/],
  ])('refuses %j saying what is accepted', (text, reason) => {
    const message = problem(text);
    expect(message).toMatch(reason);
    expect(message).toMatch(/such as 30m, 90m, 1h30m/);
  });

  it('refuses values that are not text', () => {
    expect(problem(3600)).toMatch(/must be text/);
    expect(problem(null)).toMatch(/must be text/);
  });

  it('round-trips every valid duration through formatDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: MINUTE, max: MAX_DURATION }), (s) => {
        expect(seconds(formatDuration(s))).toBe(s);
      }),
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseDuration(s);
      }),
    );
  });
});
