import { describe, it, expect } from '@jest/globals';
import { checkGrantAgainstPolicy, checkRequest } from '../../src/core/request-check.js';
import type { PolicySet, Resource } from '../../src/core/policy.js';
import type { AccessRequest } from '../../src/core/request.js';
import {
  alice,
  buildGrant,
  buildResource,
  carol,
  dave,
  mallory,
  memberships,
} from '../helpers/build.js';

const now = new Date('2030-01-01T10:00:00Z');
const policiesOf = (...resources: Resource[]): PolicySet => ({
  resources: new Map(resources.map((r) => [r.name, r])),
});
const request = (overrides: Partial<AccessRequest> = {}): AccessRequest => ({
  resource: 'prod-db',
  justification: 'Investigating slow checkout queries',
  ...overrides,
});
const breakGlass = {
  allowed: ['acme/oncall'],
  max_duration: 1800,
  review_within: 86400,
};

function problemsOf(
  req: AccessRequest,
  resource: Resource = buildResource(),
  who = dave,
): string[] {
  const r = checkRequest(
    req,
    policiesOf(resource, buildResource({ name: 'staging-db' })),
    who,
    memberships,
    now,
  );
  return r.ok ? [] : r.problems.map((p) => p.message);
}

describe('checkRequest', () => {
  it('accepts a request within policy and applies the default duration', () => {
    const r = checkRequest(request(), policiesOf(buildResource()), dave, memberships, now);
    expect(r).toEqual({ ok: true, value: { resource: buildResource(), duration: 3600 } });
  });

  it('says when the resource does not exist, suggesting close names the requester may ask for', () => {
    expect(problemsOf(request({ resource: 'prod-bd' }))).toEqual([
      'there is no resource named "prod-bd"; did you mean "prod-db"?',
    ]);
    // mallory may request nothing, so nothing is revealed to them.
    expect(problemsOf(request({ resource: 'prod-bd' }), buildResource(), mallory)).toEqual([
      'there is no resource named "prod-bd"',
    ]);
  });

  it('refuses requesters not listed, directly or through a team', () => {
    expect(problemsOf(request(), buildResource(), mallory)).toEqual([
      '@mallory may not request "prod-db": not listed in its requesters (directly or through a team)',
    ]);
    // carol is listed through acme/engineers.
    expect(problemsOf(request(), buildResource(), carol)).toEqual([]);
  });

  it('refuses a duration over the maximum', () => {
    expect(problemsOf(request({ duration: 5 * 3600 }))).toEqual([
      'the duration 5h is longer than the 4h allowed for "prod-db"',
    ]);
    expect(problemsOf(request({ duration: 4 * 3600 }))).toEqual([]);
  });

  it('enforces the justification requirements', () => {
    expect(problemsOf(request({ justification: '' }))).toEqual([
      '"prod-db" requires a justification',
    ]);
    expect(problemsOf(request({ justification: 'debug' }))).toEqual([
      'the justification is 5 characters; "prod-db" asks for at least 10',
    ]);
  });

  it('enforces the ticket requirements, anchoring the pattern', () => {
    const resource = buildResource({
      request: {
        justification: { required: true, min_length: 1 },
        ticket: { required: true, pattern: 'INC-[0-9]+' },
      },
    });
    expect(problemsOf(request(), resource)).toEqual(['"prod-db" requires a ticket reference']);
    expect(problemsOf(request({ ticket: 'INC-12' }), resource)).toEqual([]);
    expect(problemsOf(request({ ticket: 'see INC-12' }), resource)).toEqual([
      'the ticket "see INC-12" does not match the pattern "INC-[0-9]+" required by "prod-db"',
    ]);
  });

  it('denies rather than crashes on a broken ticket pattern, and bounds the input it matches', () => {
    const broken = buildResource({
      request: {
        justification: { required: false, min_length: 0 },
        ticket: { required: false, pattern: '(' },
      },
    });
    expect(problemsOf(request({ ticket: 'INC-1' }), broken)[0]).toMatch(
      /not a valid regular expression/,
    );
    const slow = buildResource({
      request: {
        justification: { required: false, min_length: 0 },
        ticket: { required: false, pattern: '(a+)+b' },
      },
    });
    const started = Date.now();
    expect(problemsOf(request({ ticket: 'a'.repeat(201) }), slow)).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('accepts a start time from 5 minutes ago up to 7 days ahead', () => {
    const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000).toISOString();
    expect(problemsOf(request({ start_at: at(-5) }))).toEqual([]);
    expect(problemsOf(request({ start_at: at(-6) }))).toEqual(['the start time is in the past']);
    expect(problemsOf(request({ start_at: at(7 * 24 * 60) }))).toEqual([]);
    expect(problemsOf(request({ start_at: at(7 * 24 * 60 + 1) }))).toEqual([
      'the start time is more than 7d ahead; request closer to the time',
    ]);
  });

  describe('break-glass', () => {
    const reason = { reason: 'checkout is down' };
    it('is refused on a resource without it', () => {
      expect(problemsOf(request({ break_glass: reason }))).toEqual([
        '"prod-db" has no break-glass access',
      ]);
    });
    it('is refused to someone not allowed, even if they may request normally', () => {
      const resource = buildResource({ break_glass: breakGlass });
      expect(problemsOf(request({ break_glass: reason }), resource, carol)).toEqual([
        '@carol may not use break-glass on "prod-db"',
      ]);
    });
    it('is capped at its own maximum, which also caps the default duration', () => {
      const resource = buildResource({ break_glass: breakGlass });
      expect(problemsOf(request({ break_glass: reason, duration: 3600 }), resource)).toEqual([
        'break-glass access to "prod-db" lasts at most 30m; 1h was asked',
      ]);
      const r = checkRequest(
        request({ break_glass: reason }),
        policiesOf(resource),
        dave,
        memberships,
        now,
      );
      expect(r.ok && r.value.duration).toBe(1800);
    });
  });
});

describe('checkGrantAgainstPolicy', () => {
  it('finds nothing wrong with a grant within policy', () => {
    expect(checkGrantAgainstPolicy(buildGrant(), buildResource(), memberships)).toEqual([]);
  });

  it('refuses a grant for a resource that does not exist or is not the one given', () => {
    expect(checkGrantAgainstPolicy(buildGrant(), undefined, memberships)).toEqual([
      { path: 'resource', message: 'there is no resource named "prod-db"' },
    ]);
    expect(
      checkGrantAgainstPolicy(buildGrant(), buildResource({ name: 'staging-db' }), memberships),
    ).toHaveLength(1);
  });

  it('applies the same rules as a request: requester, duration, justification, break-glass', () => {
    const problems = checkGrantAgainstPolicy(
      buildGrant({
        requester: alice,
        duration: 8 * 3600,
        justification: 'x',
        break_glass: { reason: 'x' },
      }),
      buildResource(),
      memberships,
    );
    expect(problems.map((p) => p.path)).toEqual([
      'requester',
      'duration',
      'justification',
      'break_glass',
    ]);
  });
});
