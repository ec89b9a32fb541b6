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
    ['(x)\\1', /not a valid RE2 regular expression.*\\1/],
    ['(?<t>x)\\k<t>', /not a valid RE2 regular expression/],
    ['(?<=INC-)[0-9]+', /not a valid RE2 regular expression/],
    ['(?<!x)y', /not a valid RE2 regular expression/],
    ['(?=INC)[A-Z]+', /not a valid RE2 regular expression/],
    ['(INC', /not a valid RE2 regular expression/],
    ['a)|(b', /not a valid RE2 regular expression/],
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
    expect(() => compileTicketPattern('(x)\\1')).toThrow(ConfigurationError);
  });

  // The patterns that stalled a backtracking engine (the old analyser accepted the first one):
  // on RE2 semantics each answers at once, whatever the ticket.
  it.each([
    ['(a|.)'.repeat(40), 'a'.repeat(41)],
    ['(a+)+b', 'a'.repeat(MAX_TICKET_LENGTH - 1) + '!'],
    ['(.*)*x', 'a'.repeat(MAX_TICKET_LENGTH - 1) + '!'],
    ['(a|aa)*c', 'a'.repeat(MAX_TICKET_LENGTH - 1) + '!'],
    ['.*.*.*.*.*.*.*.*y', 'a'.repeat(MAX_TICKET_LENGTH - 1) + '!'],
  ])('matches %s in linear time', (pattern, ticket) => {
    expect(ticketPatternProblem(pattern)).toBeUndefined();
    const re = compileTicketPattern(pattern);
    const started = performance.now();
    expect(re.test(ticket)).toBe(false);
    // A backtracking engine takes hours on the first pattern; RE2 well under a millisecond
    // per character. The bound is loose so a busy machine cannot make this flaky.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('agrees with JavaScript regular expressions on ordinary ticket formats', () => {
    const formats = [
      '(INC|OPS)-[0-9]+',
      '[A-Z][A-Z0-9]+-[0-9]+',
      'INC-\\d{1,6}',
      '([A-Z]+-)?[0-9]+',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...formats),
        fc.string({ unit: fc.constantFrom(...'INCOPS-0123xyz'.split('')), maxLength: 12 }),
        (pattern, ticket) => {
          expect(compileTicketPattern(pattern).test(ticket)).toBe(
            new RegExp(`^(?:${pattern})$`, 'u').test(ticket),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
