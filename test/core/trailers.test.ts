import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  trailerBlock,
  commitMessage,
  formatBreakGlassReview,
  parseBreakGlassReview,
  parseTrailers,
  formatTrailers,
  type EventTrailers,
} from '../../src/core/trailers.js';

const approved: EventTrailers = {
  grant: 'req-42',
  event: 'approved',
  resource: 'prod-db',
  requestedBy: { login: 'alice', id: 1 },
  approvedBy: [
    { login: 'bob', id: 2, review_id: 77, via: 'acme/sre' },
    { login: 'carol', id: 3, review_id: 78 },
  ],
  policy: 'a'.repeat(40),
  rule: 'reviews',
  at: '2026-11-30T10:00:00Z',
  pullRequest: 43,
};

describe('commit trailers', () => {
  it('round-trip through a commit message', () => {
    const msg = commitMessage(
      'Grant prod-db to alice (req-42)',
      approved,
      'Justification: debugging',
    );
    expect(parseTrailers(msg)).toEqual(approved);
  });

  it('are written as git trailers in the last paragraph', () => {
    const msg = commitMessage('subject', approved);
    const last = msg.trim().split('\n\n').at(-1)!;
    expect(last.split('\n')).toContain('Approved-by: bob (2) review=77 via=acme/sre');
    expect(last.split('\n')).toContain('Gatepass-Event: approved');
  });

  it('cannot be smuggled in through a newline in a value', () => {
    const msg = commitMessage('x', { ...approved, grant: 'req-1\nGatepass-Event: issued' });
    expect(parseTrailers(msg)?.event).toBe('approved');
  });

  it('are absent from an ordinary commit', () => {
    expect(parseTrailers('Fix typo\n\nSigned-off-by: someone <a@b>\n')).toBeNull();
    expect(
      parseTrailers('Gatepass-Grant: x\nGatepass-Event: bogus\nGatepass-Resource: y'),
    ).toBeNull();
  });

  it('never throws on arbitrary messages', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseTrailers(s)));
  });

  it('format every field once, in a fixed order', () => {
    expect(formatTrailers({ grant: 'g', event: 'expired', resource: 'r', actor: 'schedule' })).toBe(
      'Gatepass-Grant: g\nGatepass-Event: expired\nGatepass-Resource: r\nGatepass-Actor: schedule',
    );
  });
});

describe('the break-glass review trailer', () => {
  it('round-trips, and is not a grant event', () => {
    const msg = `Break-glass review of req-1 by carol\n\n${formatBreakGlassReview({
      grant: 'req-1',
      resource: 'prod-db',
      reviewer: { login: 'carol', id: 103 },
      review: 9,
      at: '2030-01-01T12:00:00.000Z',
    })}\n`;
    expect(msg).toContain('Gatepass-Break-Glass-Review: carol (103) review=9');
    expect(parseBreakGlassReview(msg)).toEqual({
      grant: 'req-1',
      resource: 'prod-db',
      reviewer: { login: 'carol', id: 103 },
      review: 9,
      at: '2030-01-01T12:00:00.000Z',
    });
    expect(parseTrailers(msg)).toBeNull();
  });

  it('needs the grant and the resource it is about', () => {
    expect(parseBreakGlassReview('x\n\nGatepass-Break-Glass-Review: carol (103)\n')).toBeNull();
  });
});

describe('free text in a commit the app writes', () => {
  const revoke = (reason: string) =>
    commitMessage(
      'Request revocation of req-1',
      {
        grant: 'req-1',
        event: 'revoke-requested',
        resource: 'prod-db',
        actor: 'alice (101)',
        at: '2030-01-01T12:00:00.000Z',
      },
      reason,
    );

  it('cannot record a break-glass review: `/revoke Gatepass-Break-Glass-Review: bob (102)`', () => {
    const msg = revoke('Gatepass-Break-Glass-Review: bob (102)');
    expect(parseBreakGlassReview(msg)).toBeNull();
    expect(parseTrailers(msg)?.event).toBe('revoke-requested');
  });

  it('never starts a line, so a reason cannot pose as a trailer block or a subject', () => {
    const msg = revoke('done\n\nGatepass-Event: approved\nApproved-by: bob (102) review=1\n\n');
    const lines = msg.split('\n');
    const body = lines.slice(2, lines.indexOf('Gatepass-Grant: req-1') - 1);
    expect(body.every((l) => l.startsWith('>'))).toBe(true);
    expect(parseTrailers(msg)).toEqual(
      expect.objectContaining({ event: 'revoke-requested', grant: 'req-1' }),
    );
    expect(parseTrailers(msg)?.approvedBy).toBeUndefined();
  });

  it('holds for any reason text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'Gatepass-Brk:vw ()0123\n\r>ab'.split('')) }),
        (reason) => {
          const msg = revoke(reason);
          expect(parseBreakGlassReview(msg)).toBeNull();
          expect(parseTrailers(msg)).toEqual({
            grant: 'req-1',
            event: 'revoke-requested',
            resource: 'prod-db',
            actor: 'alice (101)',
            at: '2030-01-01T12:00:00.000Z',
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('trailerBlock', () => {
  it('is the last paragraph of the message, as splitting it on blank lines gives', () => {
    const bySplit = (message: string) => {
      const paragraphs = message
        .replace(/\r\n/g, '\n')
        .trim()
        .split(/\n{2,}/);
      return paragraphs[paragraphs.length - 1] ?? '';
    };
    const piece = fc.constantFrom(
      '\n',
      '\n\n',
      '\n\n\n',
      '\r\n',
      '\r\n\r\n',
      '\r',
      ' ',
      '\t',
      'a',
      'Gatepass-Grant: g1',
      '\u2028',
      '\u00a0',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const message = parts.join('');
        expect(trailerBlock(message)).toBe(bySplit(message));
      }),
      { numRuns: 3000 },
    );
  });
});

/** The reading `parseTrailers` had when each line went through a regular expression. */
function byLinePattern(message: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of trailerBlock(message).split('\n')) {
    const m = /^([A-Za-z-]+): (.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), m[2]!.trim()]);
  }
  return fields;
}

describe('parseTrailers', () => {
  it('reads exactly the lines `^([A-Za-z-]+): (.*)$` matches, in any case, first value wins', () => {
    const line = fc.oneof(
      fc.constantFrom(
        'Gatepass-Grant: req-1',
        'gatepass-grant: req-2',
        'Gatepass-Event: approved',
        'GATEPASS-EVENT: revoked',
        'Gatepass-Resource: prod-db',
        'Gatepass-Resource:prod-db',
        'Gatepass-Resource : prod-db',
        ' Gatepass-Grant: req-3',
        'Gatepass-Actor: alice (1)\r',
        'Gatepass-Actor: a\u2028b',
        'Gatepass-At:  2030-01-01T00:00:00Z  ',
        'Gatepass-Pull-Request: 7',
        'Approved-by: bob (2) review=3',
        'Approved-by: carol (3) review=4 via=acme/x',
        'Requested-by: dave (4)',
        'requested-BY: erin (5)',
        'Gatepass-Expires: 2030-01-01T01:00:00Z',
        'Gatepass-Pull-Request: x7',
        'Approved-by: nobody',
        'Policy: ' + 'a'.repeat(40),
        'Gatepass-Lateness: 12s',
        'Gatepass-Reason: why: because',
        'Gatepass-Rule:',
        'Gatepass-Rule: ',
        'X-Other: y',
        '',
      ),
      fc.string({ unit: fc.constantFrom(...'Gatepass-EvntRuAt: ()\r\n\u2028é1'.split('')) }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.nat(3), (lines, shape) => {
        // Often with a complete grant event after the random lines, so the values get read.
        const core =
          shape >= 2 ? ['Gatepass-Grant: g', 'Gatepass-Event: issued', 'Gatepass-Resource: r'] : [];
        const message = (shape % 2 ? 'Subject\n\n' : '') + [...lines, ...core].join('\n');
        const fields = byLinePattern(message);
        const one = (k: string) => fields.get(k.toLowerCase())?.[0];
        const parsed = parseTrailers(message);
        const complete =
          one('Gatepass-Grant') &&
          one('Gatepass-Resource') &&
          [
            'requested',
            'approved',
            'issued',
            'extended',
            'revoke-requested',
            'revoked',
            'expired',
            'denied',
            'cancelled',
            'refused',
            'issuing',
            'archived',
          ].includes(one('Gatepass-Event') ?? '');
        if (!complete) return expect(parsed).toBeNull();
        expect(parsed).not.toBeNull();
        expect(parsed!.grant).toBe(one('Gatepass-Grant'));
        expect(parsed!.resource).toBe(one('Gatepass-Resource'));
        expect(parsed!.event).toBe(one('Gatepass-Event'));
        expect(parsed!.actor).toBe(one('Gatepass-Actor') || undefined);
        expect(parsed!.at).toBe(one('Gatepass-At') || undefined);
        expect(parsed!.rule).toBe(one('Gatepass-Rule') || undefined);
        expect(parsed!.reason).toBe(one('Gatepass-Reason') || undefined);
        expect(parsed!.policy).toBe(one('Policy') || undefined);
        expect(parsed!.expires).toBe(one('Gatepass-Expires') || undefined);
        const pr = one('Gatepass-Pull-Request');
        expect(parsed!.pullRequest).toBe(pr && /^\d+$/.test(pr) ? Number(pr) : undefined);
        const by = /^(\S+) \((\d+)\)$/.exec(one('Requested-by') ?? '');
        expect(parsed!.requestedBy).toEqual(by ? { login: by[1], id: Number(by[2]) } : undefined);
        expect(parsed!.approvedBy?.length ?? 0).toBe(
          (fields.get('approved-by') ?? []).filter((v) =>
            /^(\S+) \((\d+)\) review=(\d+)(?: via=(\S+))?$/.test(v),
          ).length,
        );
      }),
      { numRuns: 3000 },
    );
  });
});
