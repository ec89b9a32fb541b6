import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { APP_BOT, FakeGitHub, type FakePull } from '../helpers/fake-github.js';
import {
  alice,
  bob,
  buildProbot,
  carol,
  dave,
  issueEvent,
  mallory,
  pullRequestEvent,
  pushEvent,
  POLICY,
  reviewEvent,
  useFakeAccessRepo,
} from '../helpers/app.js';

/**
 * The cuts in the app's GitHub API calls (issue #17), each with the check it must keep: the
 * app's own just-opened PR is not read back, memberships are looked up per person, a review
 * event's PR comes from the delivery, and a relabel is one PUT that keeps people's labels.
 */
let gh: FakeGitHub;
let probot: Probot;
useFakeAccessRepo((w) => ({ gh, probot } = w));

async function requestPr(): Promise<FakePull> {
  gh.fileIssue(42, dave);
  await probot.receive(issueEvent({}));
  gh.calls.length = 0;
  return gh.pullFor('gatepass/req-42')!;
}

describe("the app's own just-opened request PR", () => {
  it('is not read back: the request handler already checked the head it wrote', async () => {
    const pr = await requestPr();
    await probot.receive(pullRequestEvent(pr.number, 'opened', APP_BOT));
    expect(gh.calls).toEqual([]);
    expect(gh.checkRuns).toMatchObject([{ head_sha: pr.head_sha, status: 'in_progress' }]);
  });

  it('is evaluated when the delivery was not sent by the app (sender is someone else)', async () => {
    const pr = await requestPr();
    await probot.receive(pullRequestEvent(pr.number, 'opened', mallory));
    expect(gh.calls).toContain(`GET /repos/acme/access/compare/main...${pr.head_sha}`);
    expect(gh.checkRuns).toHaveLength(2);
  });

  it('is evaluated when its head is not the commit the app wrote (a later push)', async () => {
    const pr = await requestPr();
    gh.push('gatepass/req-42', { 'grants/prod-db/req-42.yaml': 'id: req-42\n' }, 'rewrite');
    await probot.receive(pullRequestEvent(pr.number, 'opened', APP_BOT));
    expect(gh.checkRuns.at(-1)).toMatchObject({
      head_sha: gh.pulls.get(pr.number)!.head_sha,
      status: 'completed',
      conclusion: 'failure',
    });
  });

  it('is evaluated on synchronize and reopened, and by a process that did not open it', async () => {
    const pr = await requestPr();
    await probot.receive(pullRequestEvent(pr.number, 'synchronize', APP_BOT));
    await probot.receive(pullRequestEvent(pr.number, 'reopened', APP_BOT));
    // Another replica, or the app after a restart: it remembers nothing, so it reads.
    await buildProbot().receive(pullRequestEvent(pr.number, 'opened', APP_BOT));
    expect(gh.calls.filter((c) => c.includes('/compare/'))).toHaveLength(3);
    expect(gh.checkRuns).toHaveLength(4);
  });

  it('is evaluated when someone else opens a PR from the app’s branch, and refused', async () => {
    const ours = await requestPr();
    gh.pulls.get(ours.number)!.state = 'closed';
    const theirs = gh.openPull({ head: 'gatepass/req-42', user: mallory });
    expect(theirs.head_sha).toBe(ours.head_sha);
    await probot.receive(pullRequestEvent(theirs.number, 'opened', mallory));
    expect(gh.checkRuns.at(-1)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(gh.checkRuns.at(-1)!.output.summary).toContain('requester');
  });

  it('is still merged at once when no review is needed (auto-approval is not pending)', async () => {
    // Covered in power.test.ts ("auto-approval › merges at once"): the handler publishes only a
    // pending check and leaves any other outcome to the evaluation of the opened PR.
    const pr = await requestPr();
    expect(gh.checkRuns).toMatchObject([{ head_sha: pr.head_sha, status: 'in_progress' }]);
  });
});

describe('memberships, one person at a time', () => {
  it('looks up the requester and each reviewer, never a whole team', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, carol, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { by: carol }));
    expect(gh.merges).toHaveLength(1);
    expect(gh.calls.filter((c) => c.startsWith('GET /orgs/')).sort()).toEqual([
      'GET /orgs/acme/teams/dba/memberships/carol',
      'GET /orgs/acme/teams/engineers/memberships/dave',
    ]);
  });

  it('does not count a pending (invited, not accepted) team membership', async () => {
    const pr = await requestPr();
    gh.pendingMembers.set('acme/dba', new Set(['mallory']));
    gh.addReview(pr.number, mallory, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { by: mallory }));
    expect(gh.calls).toContain('GET /orgs/acme/teams/dba/memberships/mallory');
    expect(gh.merges).toEqual([]);
    expect(gh.checkRuns.at(-1)!.output.summary).toContain('not among the approvers');
  });

  it('refuses a requester whose team membership is only pending', async () => {
    gh.teams.set('acme/engineers', [carol]);
    gh.pendingMembers.set('acme/engineers', new Set(['mallory']));
    gh.fileIssue(42, mallory);
    await probot.receive(issueEvent({ author: mallory }));
    expect(gh.pullFor('gatepass/req-42')).toBeUndefined();
    expect(gh.issue(42).labels).toContain('gatepass:invalid');
  });
});

describe('a review event', () => {
  it('uses the PR its delivery carries: no GET of the pull request', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toHaveLength(1);
    expect(gh.calls).not.toContain(`GET /repos/acme/access/pulls/${pr.number}`);
  });

  it('takes the policy commit from the comparison: no GET of the default branch ref', async () => {
    const pr = await requestPr();
    gh.calls.length = 0;
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toHaveLength(1);
    expect(gh.calls.filter((c) => c.includes('/git/ref'))).toEqual([]);
  });

  it('judges under the policy main has now, even when the push that changed it never arrived', async () => {
    const pr = await requestPr();
    // alice stops being an approver on main; the app never hears of that push.
    gh.push(
      'main',
      {
        'policies/prod.yaml': POLICY.replace(
          'approvers: [alice, bob, acme/dba]',
          'approvers: [bob]',
        ),
      },
      'policy change',
    );
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toEqual([]);
    expect(gh.checkRuns.at(-1)!.output.summary).toContain('not among the approvers');
  });

  it('merges only at the head the delivery named: a head moved since is refused by GitHub', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, alice, 'APPROVED');
    const ev = reviewEvent(pr.number);
    gh.push('gatepass/req-42', { 'notes.txt': 'x' }, 'later push');
    await probot.receive(ev);
    expect(gh.merges).toEqual([]);
  });
});

describe('relabelling', () => {
  it('replaces pending with approved in one PUT per item and keeps labels people set', async () => {
    const pr = await requestPr();
    gh.labelsOf(pr.number).push('urgent');
    gh.issue(42).labels.push('team:payments');
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(gh.labelsOf(pr.number).sort()).toEqual(['gatepass:approved', 'urgent']);
    expect(gh.issue(42).labels.sort()).toEqual(['gatepass:approved', 'team:payments']);
    expect(gh.calls.filter((c) => c.includes('/labels'))).toEqual([
      `PUT /repos/acme/access/issues/${pr.number}/labels`,
      'PUT /repos/acme/access/issues/42/labels',
    ]);
  });

  it('keeps them on a denial too', async () => {
    const pr = await requestPr();
    gh.labelsOf(pr.number).push('urgent');
    gh.issue(42).labels.push('team:payments');
    gh.addReview(pr.number, bob, 'CHANGES_REQUESTED');
    await probot.receive(reviewEvent(pr.number, { by: bob }));
    expect(gh.labelsOf(pr.number).sort()).toEqual(['gatepass:denied', 'urgent']);
    expect(gh.issue(42).labels).toContain('team:payments');
    expect(gh.issue(42).labels).toContain('gatepass:denied');
    expect(gh.issue(42).labels).not.toContain('gatepass:pending');
  });
});

describe('policies across a push to the default branch', () => {
  const policyReads = () => gh.calls.filter((c) => c.includes('/contents/policies'));

  /** The request, then main moves by a commit that changes `files` and its push is delivered. */
  async function requestThenPush(
    files: Record<string, string>,
    o: { forced?: boolean; listed?: boolean } = {},
  ): Promise<FakePull> {
    const pr = await requestPr();
    const before = gh.head;
    const after = gh.push('main', files, 'another change');
    const paths = Object.keys(files);
    await probot.receive(
      pushEvent({
        before,
        after,
        forced: o.forced ?? false,
        commits: o.listed === false ? [] : [{ added: paths }],
      }),
    );
    gh.calls.length = 0;
    return pr;
  }

  it('are not read again when the push touched nothing under policies/', async () => {
    const pr = await requestThenPush({ 'grants/other/g9.yaml': 'x: 1\n' });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(policyReads()).toEqual([]);
    expect(gh.merges).toHaveLength(1);
  });

  it('are read fresh when the push changed a policy, and the new policy decides', async () => {
    // alice is no longer an approver at the new head of main.
    const pr = await requestThenPush({
      'policies/prod.yaml': POLICY.replace('approvers: [alice, bob, acme/dba]', 'approvers: [bob]'),
    });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(policyReads().length).toBeGreaterThan(0);
    expect(gh.merges).toEqual([]);
    expect(gh.checkRuns.at(-1)!.output.summary).toContain('not among the approvers');
  });

  it.each([
    ['a forced push', { forced: true }],
    ['a push whose commits are not listed', { listed: false }],
  ])('are read fresh after %s', async (_, o) => {
    const pr = await requestThenPush({ 'grants/other/g9.yaml': 'x: 1\n' }, o);
    await probot.receive(pullRequestEvent(pr.number, 'synchronize', APP_BOT));
    expect(policyReads().length).toBeGreaterThan(0);
  });
});
