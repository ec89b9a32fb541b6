import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  parseRequestBody,
  renderRequestBody,
  BREAK_GLASS_OPTION,
} from '../../src/core/request-parse.js';
import type { AccessRequest } from '../../src/core/request.js';
import type { Result } from '../../src/core/problem.js';
import { readFixture } from '../helpers/fixtures.js';
import { accessRequestArb } from '../helpers/arbitraries.js';

const body = (fields: Record<string, string>): string =>
  Object.entries(fields)
    .map(([label, value]) => `### ${label}\n\n${value}`)
    .join('\n\n');

const valid = { Resource: 'prod-db', Justification: 'Investigating slow queries' };

function expectOk(r: Result<AccessRequest>): AccessRequest {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.problems)}`);
  return r.value;
}
function messages(r: Result<AccessRequest>): string {
  if (r.ok) throw new Error(`expected problems, got ${JSON.stringify(r.value)}`);
  return r.problems.map((p) => p.message).join('\n');
}

describe('parseRequestBody', () => {
  it('reads a body written by the issue form', () => {
    expect(expectOk(parseRequestBody(readFixture('requests/basic.md')))).toEqual({
      resource: 'prod-db',
      duration: 7200,
      justification: 'Investigating slow checkout queries.\nSee the incident channel.',
      ticket: 'INC-1234',
    });
  });

  it('reads a hand-edited body: CRLF, reordered and re-cased sections, markdown around values', () => {
    expect(expectOk(parseRequestBody(readFixture('requests/hand-edited.md')))).toEqual({
      resource: 'prod-db',
      duration: 5400,
      justification: 'DB is on fire',
      break_glass: { reason: 'DB is on fire' },
    });
  });

  it('treats _No response_ as empty and leaves optional fields out', () => {
    const r = parseRequestBody(
      body({ ...valid, Duration: '_No response_', Ticket: '_No response_' }),
    );
    expect(expectOk(r)).toEqual({
      resource: 'prod-db',
      justification: 'Investigating slow queries',
    });
  });

  it('ignores text before the first section and unknown sections', () => {
    const r = parseRequestBody('Hello!\n\n' + body({ ...valid, 'Anything else?': 'no' }));
    expect(expectOk(r).resource).toBe('prod-db');
  });

  it('requires a resource and a justification', () => {
    expect(messages(parseRequestBody(body({ Justification: 'x' })))).toMatch(
      /"Resource" section is missing/,
    );
    expect(
      messages(parseRequestBody(body({ Resource: 'prod-db', Justification: '_No response_' }))),
    ).toMatch(/Justification is required/);
  });

  it.each([
    ['../etc', /must not contain/],
    ['prod/db', /must not contain/],
    ['prod-db\u0000', /control characters/],
    ['prоd-db' /* Cyrillic о */, /non-ASCII/],
    ['Prod-DB', /lower-case/],
    ['archive', /not a valid resource name/],
    ['-prod', /not a valid resource name/],
  ])('refuses the resource name %j', (name, message) => {
    const r = parseRequestBody(body({ ...valid, Resource: name }));
    expect(messages(r)).toMatch(message);
    if (!r.ok) expect(r.problems[0]).toMatchObject({ path: 'Resource', line: 1 });
  });

  it('refuses a duplicated section as ambiguous, naming both lines', () => {
    const r = parseRequestBody(body(valid) + '\n\n### resource\n\nother-db');
    expect(messages(r)).toMatch(/"Resource" appears twice \(lines 1 and 9\)/);
  });

  it('refuses a body over 64 KiB before reading it', () => {
    const r = parseRequestBody(body(valid) + '\n\n' + 'x'.repeat(64 * 1024));
    expect(messages(r)).toMatch(/larger than 64 KiB/);
  });

  it('strips control characters from the justification but keeps line breaks and tabs', () => {
    const r = parseRequestBody(
      body({ ...valid, Justification: 'line\u0007 one\u202e\n\tline two\u001b[31m' }),
    );
    expect(expectOk(r).justification).toBe('line one\n\tline two[31m');
  });

  it('refuses control characters and over-long values in the ticket', () => {
    expect(messages(parseRequestBody(body({ ...valid, Ticket: 'INC-1\u0000' })))).toMatch(
      /Ticket contains control characters/,
    );
    expect(messages(parseRequestBody(body({ ...valid, Ticket: 'T'.repeat(101) })))).toMatch(
      /longer than 100/,
    );
  });

  it('refuses an over-long justification', () => {
    expect(messages(parseRequestBody(body({ ...valid, Justification: 'j'.repeat(2001) })))).toMatch(
      /2001 characters long/,
    );
  });

  it('reports a bad duration with the form label and line', () => {
    const r = parseRequestBody(body({ ...valid, Duration: 'forever' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]).toMatchObject({ path: 'Duration', line: 9 });
  });

  it('reads start times with a zone as UTC and refuses times without one or impossible dates', () => {
    expect(
      expectOk(parseRequestBody(body({ ...valid, 'Start time': '2030-01-31T15:00+01:00' })))
        .start_at,
    ).toBe('2030-01-31T14:00:00.000Z');
    expect(
      messages(parseRequestBody(body({ ...valid, 'Start time': '2030-01-31T15:00' }))),
    ).toMatch(/time zone/);
    expect(
      messages(parseRequestBody(body({ ...valid, 'Start time': '2030-02-30T15:00:00Z' }))),
    ).toMatch(/time zone/);
  });

  it('takes the break-glass reason from the justification only when the box is ticked', () => {
    const ticked = parseRequestBody(
      body({ ...valid, 'Break-glass': `- [X] ${BREAK_GLASS_OPTION}` }),
    );
    expect(expectOk(ticked).break_glass).toEqual({ reason: valid.Justification });
    const unticked = parseRequestBody(
      body({ ...valid, 'Break-glass': `- [ ] ${BREAK_GLASS_OPTION}` }),
    );
    expect(expectOk(unticked).break_glass).toBeUndefined();
  });

  it('unwraps a value given in a code fence', () => {
    const r = parseRequestBody(body({ ...valid, Resource: '```\nprod-db\n```' }));
    expect(expectOk(r).resource).toBe('prod-db');
  });

  it('stays fast on hostile bodies built to make patterns backtrack', () => {
    const hostile = [
      '### ' + '# '.repeat(30000) + 'x',
      '### Resource\n\n' + '`'.repeat(60000),
      '### Justification\n\n' + ' '.repeat(60000) + 'x',
      '### Break-glass\n\n' + '\n'.repeat(60000) + 'x',
    ];
    const started = Date.now();
    for (const h of hostile) expect(parseRequestBody(h).ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('never throws, whatever the body', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc
            .array(
              fc.tuple(
                fc.constantFrom(
                  'Resource',
                  'duration',
                  'Justification',
                  'Ticket',
                  'Start time',
                  'Break-glass',
                  'x',
                ),
                fc.string({ unit: 'binary', maxLength: 60 }),
              ),
              { maxLength: 8 },
            )
            .map((fields) => fields.map(([l, v]) => `### ${l}\n\n${v}`).join('\n\n')),
        ),
        (text) => {
          const r = parseRequestBody(text);
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('parses back exactly what renderRequestBody wrote', () => {
    fc.assert(
      fc.property(accessRequestArb, (req) => {
        expect(expectOk(parseRequestBody(renderRequestBody(req)))).toEqual(req);
      }),
      { numRuns: 300 },
    );
  });
});

describe('renderRequestBody', () => {
  it('writes the fields the way GitHub renders the issue form', () => {
    expect(
      renderRequestBody({
        resource: 'prod-db',
        duration: 7200,
        justification: 'Investigating slow checkout queries.\nSee the incident channel.',
        ticket: 'INC-1234',
      }),
    ).toBe(readFixture('requests/basic.md'));
  });
});
