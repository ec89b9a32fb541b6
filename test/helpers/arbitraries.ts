import fc from 'fast-check';
import { DAY, MAX_DURATION, MIN_DURATION } from '../../src/core/duration.js';
import type { Grant, GrantStatus } from '../../src/core/grant.js';
import { GRANT_STATUSES } from '../../src/core/grant.js';
import { NAME_PATTERN } from '../../src/core/policy.js';
import type { AccessRequest } from '../../src/core/request.js';

export const nameArb = fc
  .stringMatching(NAME_PATTERN)
  .filter((n) => n !== 'archive' && n.length <= 64);
export const durationArb = fc.integer({ min: MIN_DURATION, max: MAX_DURATION });
export const personArb = fc.record({
  login: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/),
  id: fc.integer({ min: 1, max: 2 ** 31 }),
});
const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/);
const instant = (min: string, max: string) =>
  fc.date({ min: new Date(min), max: new Date(max), noInvalidDate: true });

const STRIPPED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Justifications as the parser leaves them: control characters gone, no trailing spaces on
 * lines, trimmed. Lines that GitHub's own rendering would make ambiguous (a `### ` heading, an
 * enclosing code fence) are left out: no renderer could tell them from form structure.
 */
export const justificationArb = fc
  .array(fc.string({ unit: 'grapheme', maxLength: 80 }), { minLength: 1, maxLength: 5 })
  .map((lines) =>
    lines
      .join('\n')
      .replace(STRIPPED, '')
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .trim(),
  )
  .filter(
    (j) =>
      j !== '' &&
      j !== '_No response_' &&
      !/^###[ \t]/m.test(j) &&
      !/^(```|~~~)/.test(j) &&
      j.length <= 2000,
  );

export const ticketArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9#:./-]{0,40}$/);

export const accessRequestArb: fc.Arbitrary<AccessRequest> = fc
  .record(
    {
      resource: nameArb,
      duration: durationArb,
      justification: justificationArb,
      ticket: ticketArb,
      start_at: instant('2000-01-01', '2100-01-01').map((d) => d.toISOString()),
      breakGlass: fc.boolean(),
    },
    { requiredKeys: ['resource', 'justification', 'breakGlass'] },
  )
  .map(({ breakGlass, ...req }) =>
    breakGlass ? { ...req, break_glass: { reason: req.justification } } : req,
  );

/** Any grant a correct gatepass could write: its fields agree with its status. */
export const grantArb: fc.Arbitrary<Grant> = fc
  .record({
    issue: fc.integer({ min: 1, max: 999999 }),
    ext: fc.option(fc.integer({ min: 1, max: 99 }), { nil: undefined }),
    resource: nameArb,
    requester: personArb,
    duration: durationArb,
    justification: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
    ticket: fc.option(fc.string({ minLength: 1, maxLength: 100 }), { nil: undefined }),
    source: fc.oneof(
      fc.record({ issue: fc.integer({ min: 1, max: 999999 }) }),
      fc.record({ pull_request: fc.integer({ min: 1, max: 999999 }) }),
      fc.record({
        issue: fc.integer({ min: 1, max: 999999 }),
        pull_request: fc.integer({ min: 1, max: 999999 }),
      }),
    ),
    policy_commit: hex40,
    status: fc.constantFrom<GrantStatus>(...GRANT_STATUSES),
    requested_at: instant('2020-01-01', '2040-01-01'),
    gaps: fc.array(fc.integer({ min: 0, max: 2 * DAY }), { minLength: 4, maxLength: 4 }),
    start: fc.boolean(),
    wasIssued: fc.boolean(),
    extends: fc.option(nameArb, { nil: undefined }),
    breakGlass: fc.option(fc.string({ minLength: 1, maxLength: 200 }), { nil: undefined }),
    rule: fc.constantFrom('reviews', 'auto_approve:oncall', 'break_glass'),
    approvers: fc.array(personArb, { minLength: 1, maxLength: 3 }),
    merge: fc.option(hex40, { nil: undefined }),
    revokeBy: fc.option(personArb, { nil: undefined }),
    endReason: fc.option(fc.string({ minLength: 1, maxLength: 100 }), { nil: undefined }),
    issued: fc.option(
      fc.dictionary(
        fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/),
        fc.oneof(
          fc.string({ maxLength: 50 }),
          fc.integer(),
          fc.boolean(),
          fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        ),
        { maxKeys: 4 },
      ),
      { nil: undefined },
    ),
  })
  .map((a) => {
    const at = (offset: number): string =>
      new Date(a.requested_at.getTime() + offset * 1000).toISOString();
    const [g1, g2, g3, g4] = a.gaps as [number, number, number, number];
    const id = a.ext === undefined ? `req-${a.issue}` : `req-${a.issue}-ext-${a.ext}`;
    const g: Grant = {
      id,
      resource: a.resource,
      requester: a.requester,
      duration: a.duration,
      justification: a.justification,
      source: a.source,
      policy_commit: a.policy_commit,
      status: a.status,
      requested_at: at(0),
    };
    if (a.ticket !== undefined) g.ticket = a.ticket;
    if (a.start) g.start_at = at(g1);
    if (a.extends !== undefined && a.extends !== id) g.extends = a.extends;
    const rule = a.rule === 'break_glass' && a.breakGlass === undefined ? 'reviews' : a.rule;
    if (a.breakGlass !== undefined) g.break_glass = { reason: a.breakGlass };
    const approved = ['approved', 'active', 'expired', 'revoked'].includes(a.status);
    if (approved) {
      g.approval = {
        approved_at: at(g1),
        rule,
        approvers: a.approvers
          .filter((p) => p.id !== a.requester.id)
          .map((p, i) => ({ ...p, review_id: 1000 + i })),
      };
      if (rule === 'reviews' && g.approval.approvers.length === 0)
        g.approval.approvers = [{ login: 'alice', id: a.requester.id + 1, review_id: 1 }];
      if (a.merge !== undefined) g.approval.merge_commit = a.merge;
    }
    const issued =
      a.status === 'active' || (a.wasIssued && (a.status === 'expired' || a.status === 'revoked'));
    if (issued) {
      g.issued_at = at(g1 + g2);
      g.expires_at = at(g1 + g2 + a.duration);
      if (a.issued !== undefined) g.issued = a.issued;
    }
    if (a.revokeBy && (a.status === 'active' || a.status === 'revoked'))
      g.revoke_requested = { by: a.revokeBy, at: at(g1 + g2 + g3) };
    if (['expired', 'revoked', 'denied', 'cancelled'].includes(a.status)) {
      g.ended_at = at(g1 + g2 + g3 + g4 + (issued ? a.duration : 0));
      if (a.endReason !== undefined) g.end_reason = a.endReason;
    }
    return g;
  });
