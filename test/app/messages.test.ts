import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { inert, pullRequestBody } from '../../src/app/messages.js';
import { buildGrant } from '../helpers/build.js';

/** The text outside every inline code span of a Markdown line (what GitHub would render live). */
function outsideCode(markdown: string): string {
  let out = '';
  let i = 0;
  while (i < markdown.length) {
    const run = /^`+/.exec(markdown.slice(i));
    if (!run) {
      out += markdown[i++];
      continue;
    }
    const close = markdown.indexOf(run[0], i + run[0].length);
    if (close < 0) {
      out += markdown.slice(i);
      break;
    }
    i = close + run[0].length;
  }
  return out;
}

describe('text a requester typed, in the bot’s pull request body', () => {
  const hostile =
    '@acme/sre @bob please <img src=x onerror=alert(1)> <a href="https://evil.example">docs</a> [click](https://evil.example) https://evil.example | x';

  it('renders no mention, no HTML and no link from the justification or the ticket', () => {
    const body = pullRequestBody(
      buildGrant({ justification: hostile, ticket: '@acme/everyone' }),
      'a'.repeat(40),
    );
    const row = body.split('\n').find((l) => l.startsWith('| Justification |'))!;
    const live = outsideCode(row);
    expect(live).not.toMatch(/@|<|https?:|\]\(/);
    const ticket = body.split('\n').find((l) => l.startsWith('| Ticket |'))!;
    expect(outsideCode(ticket)).not.toContain('@');
  });

  it('keeps any text on one table row inside one code span', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'@<>|`[]() \n\rab/:'.split('')) }), (s) => {
        const cell = inert(s);
        expect(cell).not.toMatch(/[\r\n]/);
        expect(outsideCode(cell).replace(/\s/g, '')).toBe('');
        // Pipes stay escaped, so the table keeps its two columns.
        expect(cell.replace(/\\\|/g, '')).not.toContain('|');
      }),
      { numRuns: 1000 },
    );
  });
});
