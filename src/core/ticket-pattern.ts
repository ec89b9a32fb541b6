import { ConfigurationError } from './errors.js';

/**
 * Ticket patterns come from policy files and run against text from issue bodies, so a pattern
 * that backtracks catastrophically would let one request stall the app (threat #12). JavaScript
 * has no linear-time regex engine, so the check is conservative by construction, over the
 * pattern's syntax, rather than clever:
 * - at most MAX_TICKET_PATTERN_LENGTH characters, and it must compile (with the `u` flag);
 * - no backreferences (`\1`, `\k<name>`) and no lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`);
 * - no repeated group that itself contains a quantifier or an alternation: `(a+)+`, `(.*)*`,
 *   `(a|aa)*`, `(\w+-){2,}` are refused (only `?` may follow such a group);
 * - at most MAX_VARIABLE_QUANTIFIERS variable quantifiers (`*`, `+`, `?`, `{n,}`, `{n,m}`) in
 *   total, which bounds the polynomial cost of patterns like `.*.*.*.*`, given that tickets are
 *   at most MAX_TICKET_LENGTH characters long.
 * Real ticket formats (`(INC|OPS)-[0-9]+`, `[A-Z][A-Z0-9]+-[0-9]+`) pass easily.
 */
export const MAX_TICKET_PATTERN_LENGTH = 200;
export const MAX_VARIABLE_QUANTIFIERS = 4;
/** Longest ticket the request checker accepts; it refuses longer input before matching. */
export const MAX_TICKET_LENGTH = 100;

interface Frame {
  quantified: boolean;
  alternation: boolean;
}

/** Why `pattern` is refused as a ticket pattern, or undefined when it is acceptable. */
export function ticketPatternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_TICKET_PATTERN_LENGTH)
    return `ticket pattern is longer than ${MAX_TICKET_PATTERN_LENGTH} characters`;
  try {
    // Compiled alone first: `a)|(b` would compile once wrapped, with another meaning.
    new RegExp(pattern, 'u');
  } catch (e) {
    return `ticket pattern is not a valid regular expression: ${(e as Error).message}`;
  }
  const stack: Frame[] = [{ quantified: false, alternation: false }];
  // What the next quantifier applies to: a plain atom, or a group that just closed.
  let last: 'none' | 'atom' | Frame = 'none';
  let variable = 0;
  // Index of the next `ch` after `from`; the end when there is none, so the scan always ends.
  const endOf = (ch: string, from: number): number => {
    const at = pattern.indexOf(ch, from);
    return at < 0 ? pattern.length : at;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && pattern[i + 2] === '<'))
        return 'ticket pattern must not use backreferences';
      i++;
      // `\u{…}`, `\p{…}`: the braces belong to the escape, not to a quantifier.
      if (/[upP]/.test(next) && pattern[i + 1] === '{') i = endOf('}', i);
      last = 'atom';
    } else if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      last = 'atom';
    } else if (c === '(') {
      if (/^\(\?<?[=!]/.test(pattern.slice(i, i + 4)))
        return 'ticket pattern must not use lookahead or lookbehind';
      // Skip the `?:` or `?<name>` of the group so its `?` is not read as a quantifier.
      if (pattern[i + 1] === '?') i = pattern[i + 2] === '<' ? endOf('>', i) : i + 2;
      stack.push({ quantified: false, alternation: false });
      last = 'none';
    } else if (c === ')') {
      const closed = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      parent.quantified ||= closed.quantified;
      parent.alternation ||= closed.alternation;
      last = closed;
    } else if (c === '|') {
      top.alternation = true;
      last = 'none';
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      let min = c === '+' ? 1 : 0;
      let max = c === '?' ? 1 : Infinity;
      if (c === '{') {
        // The pattern compiled with the `u` flag, so a `{` here is a well-formed quantifier.
        const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
        if (!m) return 'ticket pattern has a "{" that is not a quantifier; write \\{ for a brace';
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        i += m[0].length - 1;
      }
      if (pattern[i + 1] === '?') i++; // lazy: same cost in the worst case
      if (typeof last === 'object' && max > 1 && (last.quantified || last.alternation))
        return 'ticket pattern must not repeat a group that contains a quantifier or "|" (as in (a+)+ or (a|b)*): such patterns can take exponential time';
      if (max !== min) {
        variable++;
        top.quantified = true;
      }
      last = 'none';
    } else {
      last = 'atom';
    }
  }
  if (variable > MAX_VARIABLE_QUANTIFIERS)
    return `ticket pattern has more than ${MAX_VARIABLE_QUANTIFIERS} quantifiers (*, +, ?, {n,m}); simplify it`;
  return undefined;
}

/**
 * The ticket pattern as a RegExp matching the whole ticket. Policies are validated when loaded,
 * so an unsafe pattern here means the caller skipped validation: that is a configuration error.
 */
export function compileTicketPattern(pattern: string): RegExp {
  const problem = ticketPatternProblem(pattern);
  if (problem) throw new ConfigurationError(problem);
  return new RegExp(`^(?:${pattern})$`, 'u');
}
