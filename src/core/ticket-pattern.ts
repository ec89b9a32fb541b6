import { RE2JS } from 're2js';
import { ConfigurationError } from './errors.js';

/**
 * Ticket patterns come from policy files and run against text from issue bodies, so a pattern
 * that backtracks would let one request stall the app (threat #12). Rather than judge patterns
 * by their syntax (a hand-written analyser let `(a|.)` chained 40 times through, and any such
 * analyser is one missed shape away from the same hole), patterns run on RE2 semantics
 * (`re2js`, pure JavaScript): matching is linear in the ticket's length for every pattern, so
 * the class of slow patterns cannot exist. RE2 has no backreferences and no lookaround; a
 * pattern using them is refused when the policy is loaded, with RE2's own message.
 */
export const MAX_TICKET_PATTERN_LENGTH = 200;
/** Longest ticket the request checker accepts; it refuses longer input before matching. */
export const MAX_TICKET_LENGTH = 100;

/** A compiled ticket pattern: `test` is true when the whole ticket matches. */
export interface TicketMatcher {
  test(ticket: string): boolean;
}

function compile(pattern: string): RE2JS {
  // Wrapped so an alternation stays inside the whole-ticket match (`matches` anchors both ends).
  return RE2JS.compile(`(?:${pattern})`);
}

/** Why `pattern` is refused as a ticket pattern, or undefined when it is acceptable. */
export function ticketPatternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_TICKET_PATTERN_LENGTH)
    return `ticket pattern is longer than ${MAX_TICKET_PATTERN_LENGTH} characters`;
  try {
    // Compiled alone first: `a)|(b` would compile once wrapped, with another meaning.
    RE2JS.compile(pattern);
    compile(pattern);
  } catch (e) {
    const message = (e as Error).message.replace(/^error parsing regexp: /, '');
    return `ticket pattern is not a valid RE2 regular expression (no backreferences or lookaround): ${message}`;
  }
  return undefined;
}

/**
 * The ticket pattern as a matcher of the whole ticket. Policies are validated when loaded, so
 * an invalid pattern here means the caller skipped validation: that is a configuration error.
 */
export function compileTicketPattern(pattern: string): TicketMatcher {
  const problem = ticketPatternProblem(pattern);
  if (problem) throw new ConfigurationError(problem);
  const re = compile(pattern);
  return { test: (ticket) => re.matches(ticket) };
}
