import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { buildGrant } from '../helpers/build.js';
import { serializeGrant } from '../../src/core/grant-file.js';
import { parseTrailers } from '../../src/core/trailers.js';
import { APP_BOT, FakeGitHub, type FakePull } from '../helpers/fake-github.js';
import {
  alice,
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
      `GET /repos/acme/access/pulls/${pr.number}/files`,
    ]);
  });
});
