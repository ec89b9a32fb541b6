import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  compileTicketPattern,
  ticketPatternProblem,
  MAX_TICKET_LENGTH,
} from '../../src/core/ticket-pattern.js';
import { ConfigurationError } from '../../src/core/errors.js';

describe('ticketPatternProblem', () => {
  it.each([
    '(INC|OPS)-[0-9]+',
    '[A-Z][A-Z0-9]+-[0-9]+',
    'INC-\\d{1,6}',
    '(?:INC|OPS)-[0-9]+',
    '(?<project>[A-Z]{2,10})-[0-9]+',
    'https://tracker\\.acme\\.dev/issues/[0-9]+',
    '([A-Z]+-)?[0-9]+',
    '\\p{Lu}{2,5}-\\d+',
    '[(+*]x',
  ])('accepts the ticket format %s', (pattern) => {
    expect(ticketPatternProblem(pattern)).toBeUndefined();
  });

  it.each([
    ['(a+)+', /must not repeat a group that contains a quantifier/],
    ['(.*)*', /must not repeat a group/],
    ['(a|aa)*', /must not repeat a group/],
    ['(\\w+\\s?)*x', /must not repeat a group/],
    ['((ab)*c)+', /must not repeat a group/],
    ['(?:[A-Z]+-){2,}', /must not repeat a group/],
    ['(a+){10}', /must not repeat a group/],
    ['(x)\\1', /backreferences/],
    ['(?<t>x)\\k<t>', /backreferences/],
    ['(?<=INC-)[0-9]+', /lookahead or lookbehind/],
    ['(?<!x)y', /lookahead or lookbehind/],
    ['(?=INC)[A-Z]+', /lookahead or lookbehind/],
    ['.*.*.*.*.*', /more than 4 quantifiers/],
    ['(INC', /not a valid regular expression/],
    ['a{2', /not a valid regular expression/],
    ['x'.repeat(201), /longer than 200 characters/],
  ])('refuses %s', (pattern, why) => {
    expect(ticketPatternProblem(pattern)).toMatch(why);
  });

  it('never throws and always ends, whatever the pattern', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(...'()[]{}|*+?\\.,:<>=!^$aZ09-ku'.split('')),
          maxLength: 40,
        }),
        (pattern) => {
          const problem = ticketPatternProblem(pattern);
          expect(problem === undefined || typeof problem === 'string').toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts only patterns that stay fast on adversarial tickets of the maximum length', () => {
    // Every accepted pattern is run against inputs built to make backtracking engines fail
    // late; the time limit is generous, exponential patterns take seconds or more.
    const alphabet = 'aA0-. ';
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'()[]|*+?.aA0-\\d'.split('')), maxLength: 16 }),
        (pattern) => {
          if (ticketPatternProblem(pattern) !== undefined) return;
          const re = compileTicketPattern(pattern);
          for (const c of alphabet) {
            const started = performance.now();
            re.test(c.repeat(MAX_TICKET_LENGTH - 1) + '!');
            expect(performance.now() - started).toBeLessThan(200);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('compileTicketPattern', () => {
  it('matches the whole ticket, not a part of it', () => {
    const re = compileTicketPattern('(INC|OPS)-[0-9]+');
    expect(re.test('INC-42')).toBe(true);
    expect(re.test('OPS-7')).toBe(true);
    expect(re.test('see INC-42')).toBe(false);
    expect(re.test('INC-42 and more')).toBe(false);
  });

  it('keeps an alternation inside the anchors', () => {
    const re = compileTicketPattern('INC-[0-9]+|OPS-[0-9]+');
    expect(re.test('xxOPS-1')).toBe(false);
    expect(re.test('INC-1yy')).toBe(false);
  });

  it('throws a ConfigurationError for a pattern the loader would have refused', () => {
    expect(() => compileTicketPattern('(a+)+')).toThrow(ConfigurationError);
  });
});
