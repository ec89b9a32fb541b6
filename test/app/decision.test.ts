import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { buildGrant } from '../helpers/build.js';
import { serializeGrant } from '../../src/core/grant-file.js';
import { parseTrailers } from '../../src/core/trailers.js';
import { APP_BOT, FakeGitHub, type FakePull } from '../helpers/fake-github.js';
import {
  alice,
  requestBody,
  bob,
  carol,
  checkRunEvent,
  ciBot,
  dave,
  issueEvent,
  mallory,
  pullRequestEvent,
  reviewEvent,
  useFakeAccessRepo,
} from '../helpers/app.js';

let gh: FakeGitHub;
let probot: Probot;
useFakeAccessRepo((w) => ({ gh, probot } = w));

/** The app turns issue 42 into its PR; the calls it made are forgotten. */
async function requestPr(): Promise<FakePull> {
  gh.fileIssue(42, dave);
  await probot.receive(issueEvent({}));
  gh.calls.length = 0;
  return gh.pullFor('gatepass/req-42')!;
}
const lastCheck = () => gh.checkRuns[gh.checkRuns.length - 1]!;

describe('the approval decision on a grant PR', () => {
  it('merges an approved PR at the head it decided on, with the approval trailers', async () => {
    const pr = await requestPr();
    const policyCommit = gh.head;
    const review = gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));

    expect(lastCheck()).toMatchObject({
      name: 'gatepass/approval',
      head_sha: pr.head_sha,
      status: 'completed',
      conclusion: 'success',
    });
    expect(lastCheck().output.summary).toMatch(
      /\| @alice \| APPROVED \| yes \| counts as an approval \|/,
    );
    expect(gh.merges).toEqual([
      expect.objectContaining({
        number: pr.number,
        sha: pr.head_sha,
        merge_method: 'squash',
        commit_title: 'Grant prod-db to dave (req-42) (#100)',
      }),
    ]);
    const trailers = parseTrailers(gh.merges[0]!.commit_message);
    expect(trailers).toMatchObject({
      grant: 'req-42',
      event: 'approved',
      resource: 'prod-db',
      requestedBy: { login: 'dave', id: dave.id },
      approvedBy: [{ login: 'alice', id: alice.id, review_id: review.id, via: 'alice' }],
      policy: policyCommit,
      rule: 'reviews',
      pullRequest: pr.number,
      at: '2030-01-01T10:00:00.000Z',
    });
    expect(gh.tree('main').has('grants/prod-db/req-42.yaml')).toBe(true);
    expect(gh.issue(42).labels).toEqual(['gatepass:approved']);
    expect(gh.issue(42).comments.at(-1)!.body).toContain(`Approved in #${pr.number}`);
  });

  it('makes a bounded number of API calls from review to merge', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    console.log(
      `review submitted → approved + merged: ${gh.calls.length} API calls\n  ${gh.calls.join('\n  ')}`,
    );
    // 15: the request's issue is read (who the requester must be) alongside the grant file.
    expect(gh.calls.length).toBeLessThanOrEqual(15);
    expect(gh.calls).toContain('GET /repos/acme/access/issues/42');
  });

  it('reports a PR without enough approvals as in progress, never neutral', async () => {
    const pr = await requestPr();
    await probot.receive(pullRequestEvent(pr.number, 'opened', APP_BOT));
    expect(lastCheck()).toMatchObject({ status: 'in_progress' });
    expect(lastCheck().conclusion).toBeUndefined();
    expect(lastCheck().output.summary).toContain('_No reviews yet._');
    expect(gh.merges).toEqual([]);
  });

  it('does not count self-approval by the requester of a bot-authored PR', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, dave, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { by: dave }));
    expect(lastCheck().status).toBe('in_progress');
    expect(lastCheck().output.summary).toContain('the requester cannot approve their own access');
    expect(gh.merges).toEqual([]);
  });

  it('does not count an approval on an old head after a new push', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, alice, 'APPROVED');
    const longer = serializeGrant(
      buildGrant({
        duration: 4 * 3600,
        policy_commit: gh.head,
        requested_at: '2030-01-01T10:00:00.000Z',
      }),
    );
    gh.push('gatepass/req-42', { 'grants/prod-db/req-42.yaml': longer });
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck()).toMatchObject({
      status: 'in_progress',
      head_sha: gh.pulls.get(pr.number)!.head_sha,
    });
    expect(lastCheck().output.summary).toContain('a push voids approvals');
    expect(gh.merges).toEqual([]);
  });

  it('does not count an approval by a non-member', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, mallory, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { by: mallory }));
    expect(lastCheck().status).toBe('in_progress');
    expect(lastCheck().output.summary).toContain('not among the approvers');
    expect(gh.merges).toEqual([]);
  });

  it('does not count an approver who has left the team since approving', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, carol, 'APPROVED');
    gh.teams.set('acme/dba', []);
    await probot.receive(reviewEvent(pr.number, { by: carol }));
    expect(gh.merges).toEqual([]);
  });

  it('does not count a bot approval', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, ciBot, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { by: ciBot }));
    expect(lastCheck().output.summary).toContain('reviews by bots never count');
    expect(gh.merges).toEqual([]);
  });

  it('counts an approval through a team', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, carol, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { by: carol }));
    expect(parseTrailers(gh.merges[0]!.commit_message)?.approvedBy?.[0]?.via).toBe('acme/dba');
  });

  it('denies on an eligible request for changes: labels, comments on PR and issue, closes the PR', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, bob, 'CHANGES_REQUESTED');
    await probot.receive(reviewEvent(pr.number, { by: bob }));
    expect(lastCheck()).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(gh.pulls.get(pr.number)).toMatchObject({
      state: 'closed',
      merged: false,
      labels: ['gatepass:denied'],
    });
    expect(gh.issue(42).labels).toEqual(['gatepass:denied']);
    expect(gh.issue(42).comments.at(-1)!.body).toContain('changes requested by @bob');
    expect(gh.issue(pr.number).comments.at(-1)!.body).toContain('Denied');
    expect(gh.tree('main').has('grants/prod-db/req-42.yaml')).toBe(false);
  });

  it('decides the same whatever the order, lateness or duplication of deliveries', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, dave, 'APPROVED');
    gh.addReview(pr.number, alice, 'COMMENTED');
    const late = reviewEvent(pr.number, { by: dave });
    await probot.receive(late);
    await probot.receive(late);
    await probot.receive(checkRunEvent(pr.number));
    await probot.receive(pullRequestEvent(pr.number, 'edited', APP_BOT));
    expect(gh.checkRuns.map((c) => c.status)).toEqual([
      'in_progress', // the request handler's, on the head it wrote
      'in_progress',
      'in_progress',
      'in_progress',
      'in_progress',
    ]);
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { by: alice, action: 'dismissed' })); // out of order
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toHaveLength(1);
    expect(gh.calls.filter((c) => c.endsWith('/merge'))).toHaveLength(1);
  });

  it('survives GitHub refusing the merge (head moved) and decides again on the next event', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, alice, 'APPROVED');
    gh.failNext('PUT', /\/merge$/, 409);
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toEqual([]);
    expect(gh.pulls.get(pr.number)!.state).toBe('open');
    await probot.receive(checkRunEvent(pr.number));
    expect(gh.merges).toHaveLength(1);
  });

  it('ignores a delivery for another repository', async () => {
    const pr = await requestPr();
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number, { repo: 'acme/not-access' }));
    expect(gh.calls).toEqual([]);
  });
});

describe('a grant requested by a pull request', () => {
  const grantText = (o = {}) =>
    serializeGrant(buildGrant({ policy_commit: gh.head, source: { pull_request: 1 }, ...o }));

  it('is judged like an issue request and merged when approved', async () => {
    gh.push('dave/prod', { 'grants/prod-db/req-42.yaml': grantText() });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toHaveLength(1);
  });

  it('fails when it changes a second file', async () => {
    gh.push('dave/prod', { 'grants/prod-db/req-42.yaml': grantText(), 'README.md': 'hi' });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(pullRequestEvent(pr.number));
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck()).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(lastCheck().output.summary).toContain('changes 2 files');
    expect(gh.merges).toEqual([]);
  });

  it('fails when it also changes a policy', async () => {
    gh.push('dave/prod', {
      'grants/prod-db/req-42.yaml': grantText(),
      'policies/prod.yaml': gh
        .tree('main')
        .get('policies/prod.yaml')!
        .replace('approvals_required: 1', 'approvals_required: 1\n    auto_approve: []'),
    });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck().output.summary).toContain('policies/prod.yaml');
    expect(gh.merges).toEqual([]);
  });

  it('fails when it asks for longer than the maximum', async () => {
    gh.push('dave/prod', { 'grants/prod-db/req-42.yaml': grantText({ duration: 5 * 3600 }) });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck().conclusion).toBe('failure');
    expect(lastCheck().output.summary).toContain('longer than the 4h allowed');
    expect(gh.merges).toEqual([]);
  });

  it('fails when it names someone else as requester', async () => {
    gh.push('mallory/prod', { 'grants/prod-db/req-42.yaml': grantText() });
    const pr = gh.openPull({ head: 'mallory/prod', user: mallory });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck().output.summary).toContain('must name them as requester');
    expect(gh.merges).toEqual([]);
  });

  it('leaves pull requests that touch no grant alone', async () => {
    gh.push('docs', { 'README.md': 'hello' });
    const pr = gh.openPull({ head: 'docs', user: dave });
    await probot.receive(pullRequestEvent(pr.number));
    expect(gh.checkRuns).toEqual([]);
    expect(gh.calls).toEqual([
      `GET /repos/acme/access/pulls/${pr.number}`,
      `GET /repos/acme/access/compare/main...${pr.head_sha}`,
    ]);
  });

  // Issue #14 item 4: before, a hand-opened request skipped the form's time rules and could
  // name anyone's issue (which then got labels and comments); each of these merged.
  it('fails when it was requested in the future (which would move its TTL)', async () => {
    gh.push('dave/prod', {
      'grants/prod-db/req-42.yaml': grantText({ requested_at: '2031-01-01T10:00:00.000Z' }),
    });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck().output.summary).toContain('is in the future');
    expect(gh.merges).toEqual([]);
  });

  it('fails when it starts further ahead than a form request may', async () => {
    gh.push('dave/prod', {
      'grants/prod-db/req-42.yaml': grantText({ start_at: '2030-04-01T10:00:00.000Z' }),
    });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck().output.summary).toContain(
      'the start time is more than 7d after the request',
    );
    expect(gh.merges).toEqual([]);
  });

  it("fails when it names someone else's issue, and leaves that issue alone", async () => {
    gh.fileIssue(7, carol);
    gh.push('dave/prod', { 'grants/prod-db/req-42.yaml': grantText({ source: { issue: 7 } }) });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(lastCheck().output.summary).toContain('issue #7 was opened by @carol');
    expect(gh.merges).toEqual([]);
    expect(gh.issue(7)).toMatchObject({ labels: [], comments: [] });
  });

  it('may name its own issue', async () => {
    gh.fileIssue(7, dave);
    gh.push('dave/prod', { 'grants/prod-db/req-42.yaml': grantText({ source: { issue: 7 } }) });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toHaveLength(1);
  });
});

// Issue #14 item 1: the file list came from the live PR (`pulls/{n}/files`) while the grant
// and the merge were pinned to the decided head. On the old code this test merged the workflow
// and the loosened policy with one approval of the bad head.
describe('the files of a request', () => {
  it('are those of the decided commit, even if the head moves during the call and back', async () => {
    gh.fileIssue(42, dave);
    await probot.receive(issueEvent({}));
    const pr = gh.pullFor('gatepass/req-42')!;
    const good = pr.head_sha;
    const bad = gh.push('gatepass/req-42', {
      '.github/workflows/steal.yml': 'on: push\njobs: {}\n',
      'policies/prod.yaml': gh
        .tree('main')
        .get('policies/prod.yaml')!
        .replace(
          'approvals_required: 1',
          'approvals_required: 1\n    auto_approve: [{name: all, requester_in: [dave], max_duration: 4h}]',
        ),
    });
    gh.addReview(pr.number, alice, 'APPROVED');
    // While the app lists the files the head is back at the good commit, then moves on again.
    gh.beforeNext('GET', /\/pulls\/\d+\/files$/, () => {
      pr.head_sha = good;
      gh.beforeNext('GET', /\/contents\//, () => (pr.head_sha = bad));
    });
    await probot.receive(reviewEvent(pr.number));
    expect(gh.merges).toEqual([]);
    expect(gh.tree('main').has('.github/workflows/steal.yml')).toBe(false);
    expect(lastCheck()).toMatchObject({ head_sha: bad, conclusion: 'failure' });
    expect(lastCheck().output.summary).toContain('.github/workflows/steal.yml');
  });
});

// Issue #14 item 2: the app reused a `gatepass/req-<n>` branch someone had pushed first, kept
// their grant file, and described the form's request in the PR: on the old code a 4 h grant
// merged on an approval of a PR that said 30 m.
describe('a request branch that already exists', () => {
  it('is never reused when someone else made it: the requester is told, no PR is opened', async () => {
    gh.fileIssue(42, dave);
    gh.push('gatepass/req-42', {
      'grants/prod-db/req-42.yaml': serializeGrant(
        buildGrant({
          duration: 4 * 3600,
          policy_commit: gh.head,
          requested_at: '2030-01-01T10:00:00.000Z',
        }),
      ),
    });
    await probot.receive(issueEvent({ body: requestBody({ duration: 1800 }) }));
    expect(gh.pullFor('gatepass/req-42')).toBeUndefined();
    expect(gh.issue(42).comments.at(-1)!.body).toContain(
      'the branch `gatepass/req-42` already exists with commits gatepass did not make',
    );
    expect(gh.issue(42).labels).toContain('gatepass:invalid');
    expect(gh.merges).toEqual([]);
  });

  it('is picked up again when the app made it (a delivery interrupted before the PR)', async () => {
    gh.fileIssue(42, dave);
    // The first delivery created the branch and wrote the file, then died before the PR.
    gh.failNext('POST', /\/pulls$/, 500);
    await expect(
      probot.receive(issueEvent({ body: requestBody({ duration: 1800 }) })),
    ).rejects.toThrow();
    await probot.receive(issueEvent({ body: requestBody({ duration: 1800 }) }));
    const pr = gh.pullFor('gatepass/req-42')!;
    expect(pr.body).toContain('| Duration | 30m |');
  });
});
