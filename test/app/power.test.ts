import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { fixedClock } from '../../src/core/clock.js';
import { parseGrant, serializeGrant } from '../../src/core/grant-file.js';
import { parseBreakGlassReview, parseTrailers } from '../../src/core/trailers.js';
import type { FakeGitHub, FakeUser } from '../helpers/fake-github.js';
import { readFixture } from '../helpers/fixtures.js';
import {
  alice,
  buildAccessRepo,
  buildProbot,
  carol,
  commentEvent,
  dave,
  issueEvent,
  mallory,
  NOW,
  pullRequestEvent,
  requestBody,
  reviewEvent,
  useFakeAccessRepo,
} from '../helpers/app.js';

/** On call, but not an engineer: not among prod-shell's requesters. */
const erin: FakeUser = { login: 'erin', id: 105, type: 'User' };
const FILE = 'grants/prod-shell/req-42.yaml';

let gh: FakeGitHub;
let probot: Probot;
useFakeAccessRepo(
  (w) => ({ gh, probot } = w),
  () => {
    const repo = buildAccessRepo({ 'policies/power.yaml': readFixture('app/power-policy.yaml') });
    repo.teams.set('acme/oncall', [dave, erin]);
    return repo;
  },
);

/** Issue 42 by `author` for prod-shell, and the PR's `opened` delivery, as GitHub sends both. */
async function request(author: FakeUser, req: Parameters<typeof requestBody>[0] = {}) {
  gh.fileIssue(42, author);
  await probot.receive(
    issueEvent({ author, body: requestBody({ resource: 'prod-shell', duration: 3600, ...req }) }),
  );
  const pr = gh.pullFor('gatepass/req-42');
  if (pr) await probot.receive(pullRequestEvent(pr.number));
  return pr;
}
const lastCheck = () => gh.checkRuns.at(-1)!;
const comments = (n: number) => gh.issue(n).comments.map((c) => c.body);
const grantOnMain = () => {
  const parsed = parseGrant(gh.tree('main').get(FILE)!, FILE);
  if (!parsed.ok) throw new Error('no grant on main');
  return parsed.value;
};

describe('auto-approval', () => {
  it('merges at once, without reviews, naming the rule in the check run and the merge commit', async () => {
    const pr = (await request(dave))!;
    expect(gh.reviews.get(pr.number)).toBeUndefined();
    expect(gh.merges).toHaveLength(1);
    expect(parseTrailers(gh.merges[0]!.commit_message)).toMatchObject({
      grant: 'req-42',
      event: 'approved',
      rule: 'auto_approve:on-call',
    });
    expect(parseTrailers(gh.merges[0]!.commit_message)?.approvedBy).toBeUndefined();
    expect(lastCheck()).toMatchObject({
      conclusion: 'success',
      output: { title: 'Approved (auto_approve:on-call)' },
    });
    expect(comments(42).at(-1)).toContain('rule `auto_approve:on-call`');
  });

  it('leaves a requester outside the rule pending, waiting for reviews', async () => {
    const pr = (await request(carol))!;
    expect(gh.merges).toEqual([]);
    expect(gh.pulls.get(pr.number)!.state).toBe('open');
    expect(lastCheck()).toMatchObject({ status: 'in_progress' });
  });

  it('never applies to someone in the rule but outside requesters: the request is refused', async () => {
    const pr = await request(erin);
    expect(pr).toBeUndefined();
    expect(gh.merges).toEqual([]);
    expect(comments(42).at(-1)).toContain('@erin may not request "prod-shell"');
    expect(gh.labelsOf(42)).toContain('gatepass:invalid');
  });

  it('leaves a duration above the rule maximum pending, and says why', async () => {
    await request(dave, { duration: 2 * 3600 });
    expect(gh.merges).toEqual([]);
    expect(lastCheck().output.summary).toContain(
      'auto-approve rule "on-call" covers up to 1h; 2h needs reviews',
    );
  });
});

describe('break-glass', () => {
  const reason = 'Checkout is down, INC-9, need a shell now';

  it('is approved at once, capped, labelled loudly, and opens a follow-up review for the approvers', async () => {
    const pr = (await request(dave, { duration: undefined, break_glass: { reason } }))!;
    expect(gh.merges).toHaveLength(1);
    expect(parseTrailers(gh.merges[0]!.commit_message)?.rule).toBe('break_glass');
    // From the form, the justification is the break-glass reason.
    expect(grantOnMain()).toMatchObject({
      duration: 1800,
      break_glass: { reason: 'Investigating slow checkout queries (INC-7)' },
    });
    expect(gh.labelsOf(42)).toContain('gatepass:break-glass');
    expect(gh.labelsOf(pr.number)).toContain('gatepass:break-glass');
    expect(lastCheck().output.title).toBe('BREAK-GLASS: approved at once, review after the fact');
    expect(lastCheck().output.summary).toContain('[!WARNING]');
    expect(comments(42).some((c) => c.includes('**Break-glass**'))).toBe(true);

    const [number, followUp] = [...gh.opened].at(-1)!;
    expect(followUp).toMatchObject({
      title: 'Break-glass review: prod-shell for dave (req-42)',
      assignees: ['alice', 'bob'],
      state: 'open',
    });
    expect(followUp.body).toContain('@acme/dba');
    expect(followUp.body).toContain('within 1d');
    expect(gh.labelsOf(number)).toEqual(['gatepass:break-glass', 'gatepass:break-glass-review']);
    expect(comments(42).at(-1)).toContain(`after-the-fact review is in #${number}`);

    // A redelivery of the merged PR's events opens no second follow-up.
    await probot.receive(pullRequestEvent(pr.number, 'synchronize'));
    expect(gh.opened.size).toBe(1);
  });

  it('records the after-the-fact review in git when an eligible approver comments /approve', async () => {
    await request(dave, { duration: undefined, break_glass: { reason } });
    const [number, followUp] = [...gh.opened].at(-1)!;
    const onFollowUp = (sender: FakeUser, body = '/approve') =>
      probot.receive(
        commentEvent({
          body,
          sender,
          issue: number,
          author: { login: 'gatepass[bot]', id: 999, type: 'Bot' },
          issueBody: followUp.body,
        }),
      );
    const before = gh.head;
    await onFollowUp(dave);
    expect(comments(number).at(-1)).toContain('cannot review it');
    await onFollowUp(mallory);
    expect(comments(number).at(-1)).toContain('only an approver of `prod-shell`');
    expect(gh.head).toBe(before);

    await onFollowUp(carol, '/approve looked at the session log, fine');
    const record = gh.tree('main').get('reviews/break-glass/prod-shell/req-42.yaml');
    expect(record).toContain('note: looked at the session log, fine');
    expect(parseBreakGlassReview(gh.commitOf('main').message)).toMatchObject({
      grant: 'req-42',
      resource: 'prod-shell',
      reviewer: { login: 'carol', id: carol.id },
    });
    expect(gh.opened.get(number)!.state).toBe('closed');
    expect(gh.labelsOf(number)).not.toContain('gatepass:break-glass-review');

    const after = gh.head;
    await onFollowUp(alice);
    expect(gh.head).toBe(after);
    expect(comments(number).at(-1)).toContain('already reviewed');
  });

  it('/break-glass <reason> on a pending request approves it at once, capped', async () => {
    const pr = (await request(dave, { duration: 2 * 3600 }))!;
    expect(gh.merges).toEqual([]);
    await probot.receive(commentEvent({ body: `/break-glass ${reason}`, sender: dave }));
    expect(gh.merges).toEqual([expect.objectContaining({ number: pr.number })]);
    expect(grantOnMain()).toMatchObject({ duration: 1800, break_glass: { reason } });
    expect(comments(42).at(-1)).toContain('break-glass used on `prod-shell` for 30m');
  });

  // Issue #14 item 3: on the old code anyone who could push to the branch turned an on-call
  // person's pending request into break-glass: merged at once, follow-up issue in their name.
  it('pushed to the branch by someone else counts for nothing: no merge without review', async () => {
    // Without the on-call auto-approval, so only break-glass could merge it at once.
    gh.push('main', {
      'policies/power.yaml': readFixture('app/power-policy.yaml').replace(
        / {4}auto_approve:\n(.*\n){3}/,
        '',
      ),
    });
    const pr = (await request(dave, { duration: 2 * 3600 }))!;
    expect(gh.merges).toEqual([]);
    const pending = parseGrant(gh.tree('gatepass/req-42').get(FILE)!, FILE);
    if (!pending.ok) throw new Error('no grant on the branch');
    gh.push(
      'gatepass/req-42',
      {
        [FILE]: serializeGrant({ ...pending.value, duration: 1800, break_glass: { reason } }),
      },
      'break glass',
      { author: mallory, verified: false },
    );
    await probot.receive(pullRequestEvent(pr.number, 'synchronize', mallory));
    expect(gh.merges).toEqual([]);
    expect(gh.opened.size).toBe(0);
    expect(lastCheck()).toMatchObject({ status: 'in_progress' });
    // Reviews still work as for any request.
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(parseTrailers(gh.merges[0]!.commit_message)?.rule).toBe('reviews');
    expect(gh.opened.size).toBe(0);
  });

  it("a push by someone else voids even the requester's own break-glass", async () => {
    gh.push('main', {
      'policies/power.yaml': readFixture('app/power-policy.yaml').replace(
        / {4}auto_approve:\n(.*\n){3}/,
        '',
      ),
    });
    const pr = (await request(dave, { duration: 2 * 3600 }))!;
    gh.push('gatepass/req-42', { 'notes.txt': 'x' }, 'push', { author: mallory, verified: false });
    gh.push('gatepass/req-42', { 'notes.txt': null }, 'push', { author: mallory, verified: false });
    await probot.receive(commentEvent({ body: `/break-glass ${reason}`, sender: dave }));
    expect(gh.merges).toEqual([]);
    expect(gh.pulls.get(pr.number)!.state).toBe('open');
  });

  it('is refused, with a clear comment, to someone not allowed to use it', async () => {
    expect(await request(carol, { duration: undefined, break_glass: { reason } })).toBeUndefined();
    expect(comments(42).at(-1)).toContain('@carol may not use break-glass on "prod-shell"');
  });

  it('/break-glass by someone not allowed leaves the request pending', async () => {
    const pr = (await request(carol))!;
    await probot.receive(
      commentEvent({ body: `/break-glass ${reason}`, sender: carol, author: carol }),
    );
    expect(comments(42).at(-1)).toContain('you may not use break-glass on `prod-shell`');
    expect(gh.pulls.get(pr.number)!.state).toBe('open');
    expect(gh.merges).toEqual([]);
  });

  it('is refused on a resource without break_glass', async () => {
    await probot.receive(
      issueEvent({ body: requestBody({ duration: undefined, break_glass: { reason } }) }),
    );
    expect(gh.pullFor('gatepass/req-42')).toBeUndefined();
    expect(comments(42).at(-1)).toContain('"prod-db" has no break-glass access');
  });
});

describe('request expiry', () => {
  it('does not merge a request approved after its TTL: it is denied and closed', async () => {
    const pr = (await request(carol))!;
    const later = new Date(NOW.getTime() + 25 * 3600_000);
    gh.addReview(pr.number, alice, 'APPROVED', undefined, later.toISOString());
    await buildProbot({ clock: fixedClock(later) }).receive(reviewEvent(pr.number));
    expect(gh.merges).toEqual([]);
    expect(gh.pulls.get(pr.number)!.state).toBe('closed');
    expect(comments(42).at(-1)).toContain('request expired after 1d: the approvals came too late');
  });
});

describe('extension bound', () => {
  it('refuses /extend that would pass max_total_duration', async () => {
    const pr = (await request(carol, { duration: 2 * 3600 }))!;
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    gh.push('main', {
      [FILE]: serializeGrant({
        ...grantOnMain(),
        status: 'active',
        approval: {
          approved_at: NOW.toISOString(),
          rule: 'reviews',
          approvers: [{ login: 'alice', id: alice.id, review_id: 1 }],
        },
        issued_at: '2030-01-01T10:01:00.000Z',
        expires_at: '2030-01-01T12:01:00.000Z',
      }),
    });
    await probot.receive(commentEvent({ body: '/extend 4h', sender: carol, author: carol }));
    expect(gh.pullFor('gatepass/req-42-ext-1')).toBeUndefined();
    expect(comments(42).at(-1)).toContain(
      'would make it last 6h in total, more than the 5h allowed',
    );
    await probot.receive(commentEvent({ body: '/extend 2h', sender: carol, author: carol }));
    expect(gh.pullFor('gatepass/req-42-ext-1')?.state).toBe('open');
  });
});
