import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  archivePath,
  grantPath,
  parseGrant,
  parseGrantPath,
  serializeGrant,
  HEADER,
} from '../../src/core/grant-file.js';
import type { Grant } from '../../src/core/grant.js';
import type { Result } from '../../src/core/problem.js';
import { grantArb } from '../helpers/arbitraries.js';
import { buildGrant } from '../helpers/build.js';
import { readFixture } from '../helpers/fixtures.js';

const FILE = 'grants/prod-db/req-42.yaml';

function problemsOf(r: Result<Grant>) {
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}
/** The fixture with one line replaced (or removed when `to` is null). */
function edit(pattern: RegExp, to: string | null): string {
  const text = readFixture('grants/prod-db/req-42.yaml');
  if (!pattern.test(text)) throw new Error(`fixture has no ${pattern}`);
  return text.replace(pattern, to === null ? '' : to);
}

describe('grant paths', () => {
  it('puts a live grant under its resource and an ended one under the month it ended', () => {
    expect(grantPath('prod-db', 'req-42')).toBe(FILE);
    expect(
      archivePath(buildGrant({ status: 'denied', ended_at: '2030-02-28T23:59:59+00:00' })),
    ).toBe('grants/archive/2030/02/prod-db/req-42.yaml');
  });

  it('refuses to build a path from a name that is not one', () => {
    expect(() => grantPath('../etc', 'req-1')).toThrow(RangeError);
    expect(() => grantPath('prod-db', 'req/1')).toThrow(RangeError);
    expect(() => archivePath(buildGrant())).toThrow(/has not ended/);
  });

  it('reads live and archived paths back', () => {
    expect(parseGrantPath(FILE)).toEqual({ resource: 'prod-db', id: 'req-42', archived: false });
    expect(parseGrantPath('grants/archive/2030/02/prod-db/req-42-ext-1.yaml')).toEqual({
      resource: 'prod-db',
      id: 'req-42-ext-1',
      archived: true,
      month: '2030/02',
    });
  });

  it.each([
    'grants/prod-db/req-42.yml',
    'grants/../policies/req-42.yaml',
    'grants/prod-db/../req-42.yaml',
    '/grants/prod-db/req-42.yaml',
    './grants/prod-db/req-42.yaml',
    'grants//prod-db/req-42.yaml',
    'grants/prod-db/sub/req-42.yaml',
    'grants/Prod-DB/req-42.yaml',
    'grants/prod-db/req\u000042.yaml',
    'grants/prоd-db/req-42.yaml',
    'grants\\prod-db\\req-42.yaml',
    'grants/archive/req-42.yaml',
    'grants/archive/2030/13/prod-db/req-42.yaml',
    'grants/archive/30/01/prod-db/req-42.yaml',
    'policies/prod-db/req-42.yaml',
    'grants/prod-db/.yaml',
  ])('refuses the odd path %j', (path) => {
    expect(parseGrantPath(path)).toBeNull();
  });
});

describe('parseGrant', () => {
  it('reads an annotated grant file', () => {
    const r = parseGrant(readFixture('grants/prod-db/req-42.yaml'), FILE);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.value).toMatchObject({
      id: 'req-42',
      status: 'active',
      duration: 7200,
      requester: { login: 'dave', id: 104 },
      approval: { rule: 'reviews', approvers: [{ login: 'alice', id: 101, review_id: 9001 }] },
    });
  });

  it('reports unknown keys with file, path and line', () => {
    const problems = problemsOf(parseGrant(edit(/^ticket: INC-7$/m, 'tickt: INC-7'), FILE));
    expect(problems).toContainEqual({
      file: FILE,
      path: 'tickt',
      line: 11,
      message: 'unknown key "tickt"',
    });
  });

  it('reports a bad duration at its line', () => {
    const problems = problemsOf(parseGrant(edit(/^duration: 2h$/m, 'duration: 2 weeks'), FILE));
    expect(problems[0]).toMatchObject({ file: FILE, path: 'duration', line: 9 });
  });

  it('refuses a file whose content does not match its path', () => {
    const problems = problemsOf(
      parseGrant(readFixture('grants/prod-db/req-42.yaml'), 'grants/other-db/req-7.yaml'),
    );
    expect(problems.map((p) => p.message)).toEqual([
      'resource "prod-db" does not match the file\'s folder "other-db"',
      'id "req-42" does not match the file name "req-7.yaml"',
    ]);
    expect(
      problemsOf(parseGrant(readFixture('grants/prod-db/req-42.yaml'), 'x.yaml'))[0]!.message,
    ).toMatch(/grant files live at/);
  });

  it('refuses a live grant in the archive and an archived grant in the wrong month', () => {
    const text = readFixture('grants/prod-db/req-42.yaml');
    expect(
      problemsOf(parseGrant(text, 'grants/archive/2030/01/prod-db/req-42.yaml'))[0]!.message,
    ).toMatch(/only ended grants belong in the archive/);
    const ended = text
      .replace('status: active', 'status: expired')
      .concat('ended_at: 2030-01-01T12:21:30Z\n');
    expect(parseGrant(ended, 'grants/archive/2030/01/prod-db/req-42.yaml').ok).toBe(true);
    expect(
      problemsOf(parseGrant(ended, 'grants/archive/2030/02/prod-db/req-42.yaml'))[0]!.message,
    ).toMatch(/falls in 2030\/01/);
  });

  it('requires what the status implies', () => {
    const problems = problemsOf(parseGrant(edit(/^issued_at: .*\n/m, null), FILE));
    expect(problems).toContainEqual(
      expect.objectContaining({ path: 'issued_at', message: 'an active grant needs "issued_at"' }),
    );
    const pending = problemsOf(parseGrant(edit(/^status: active$/m, 'status: pending'), FILE));
    // A request may carry nothing only gatepass writes: `issued` would pose as its crash marker.
    expect(pending.map((p) => p.path)).toEqual(['approval', 'issued_at', 'expires_at', 'issued']);
    expect(pending[0]!.line).toBe(17);
  });

  it('refuses an expiry before the issue time and an approval by the requester', () => {
    const early = problemsOf(
      parseGrant(edit(/^expires_at: .*$/m, 'expires_at: 2030-01-01T10:00:00Z'), FILE),
    );
    expect(early[0]).toMatchObject({ path: 'expires_at', line: 26 });
    const self = problemsOf(parseGrant(edit(/id: 101/, 'id: 104'), FILE));
    expect(self[0]!.message).toMatch(/requester cannot be one of the approvers/);
  });

  it('refuses timestamps without a zone and impossible dates', () => {
    expect(
      problemsOf(
        parseGrant(edit(/^requested_at: .*$/m, 'requested_at: 2030-01-01T10:00:00'), FILE),
      )[0],
    ).toMatchObject({ path: 'requested_at', line: 16 });
    expect(
      problemsOf(
        parseGrant(edit(/^requested_at: .*$/m, 'requested_at: 2030-02-30T10:00:00Z'), FILE),
      )[0],
    ).toMatchObject({ path: 'requested_at' });
  });

  it('refuses YAML that is not a mapping, or too big, or hostile', () => {
    expect(problemsOf(parseGrant('- a\n- b\n', FILE))[0]!.message).toMatch(/must be object/);
    expect(problemsOf(parseGrant('a: ' + 'x'.repeat(70 * 1024), FILE))[0]!.message).toMatch(
      /larger than 64 KiB/,
    );
    expect(parseGrant('id: !!js/function "f"\n', FILE).ok).toBe(false);
  });
});

describe('serializeGrant', () => {
  it('writes a header, stable key order and durations as text', () => {
    const text = serializeGrant(
      buildGrant({ ticket: 'INC-7', duration: 5400, source: { pull_request: 7, issue: 42 } }),
    );
    expect(text.startsWith(HEADER)).toBe(true);
    const keys = text
      .split('\n')
      .filter((l) => /^[a-z_]+:/.test(l))
      .map((l) => l.split(':')[0]);
    expect(keys).toEqual([
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
    ]);
    expect(text).toContain('\nduration: 1h30m\n');
  });

  it('writes the fixture byte for byte from the grant it holds', () => {
    const text = readFixture('grants/prod-db/req-42.yaml');
    const r = parseGrant(text, FILE);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(serializeGrant(r.value)).toBe(text);
  });

  it('round-trips every valid grant', () => {
    fc.assert(
      fc.property(grantArb, (g) => {
        const r = parseGrant(serializeGrant(g), grantPath(g.resource, g.id));
        if (!r.ok) throw new Error(JSON.stringify(r.problems));
        expect(r.value).toEqual(g);
      }),
      { numRuns: 300 },
    );
  });
});
