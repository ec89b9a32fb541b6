import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { serializeGrant } from '../../src/core/grant-file.js';
import type { Grant } from '../../src/core/grant.js';
import { requestIssueOf } from '../../src/app/grant-pr.js';
import { buildGrant } from '../helpers/build.js';
import { FakeGitHub, type FakePull } from '../helpers/fake-github.js';
import {
  alice,
  carol,
  dave,
  issueEvent,
  mallory,
  reviewEvent,
  useFakeAccessRepo,
} from '../helpers/app.js';

let gh: FakeGitHub;
let probot: Probot;
useFakeAccessRepo((w) => ({ gh, probot } = w));

const FILE = 'grants/prod-db/req-42.yaml';
const lastCheck = () => gh.checkRuns.at(-1)!;
const grantText = (o: Partial<Grant> = {}) =>
  serializeGrant(buildGrant({ policy_commit: gh.head, ...o }));

/** Issue 42 filed by dave, turned into the app's PR; the calls made so far are forgotten. */
async function appPr(): Promise<FakePull> {
  gh.fileIssue(42, dave);
  await probot.receive(issueEvent({}));
  gh.calls.length = 0;
  return gh.pullFor('gatepass/req-42')!;
}

/** An approval by alice, then the review delivery: enough to merge a request that is in order. */
async function approve(pr: FakePull): Promise<void> {
  gh.addReview(pr.number, alice, 'APPROVED');
  await probot.receive(reviewEvent(pr.number));
}

function expectRefused(summary: RegExp): void {
  expect(lastCheck()).toMatchObject({
    name: 'gatepass/approval',
    status: 'completed',
    conclusion: 'failure',
  });
  expect(lastCheck().output.summary).toMatch(summary);
  expect(gh.merges).toEqual([]);
  expect(gh.calls.filter((c) => !c.startsWith('GET '))).toEqual([
    'POST /repos/acme/access/check-runs',
  ]);
  expect(gh.tree('main').has(FILE)).toBe(false);
}

describe('a grant PR opened by a person', () => {
  it('is refused when the grant names another login with the opener’s own id', async () => {
    // The policy lets `dave` request by login; mallory's id would get the access.
    gh.push('mallory/prod', {
      [FILE]: grantText({
        requester: { login: 'dave', id: mallory.id },
        source: { pull_request: 1 },
      }),
    });
    const pr = gh.openPull({ head: 'mallory/prod', user: mallory });
    gh.calls.length = 0;
    await approve(pr);
    expectRefused(
      /@mallory \(id 666\) opened the pull request, so the grant must name them as requester, not @dave \(id 666\)/,
    );
  });

  it('is accepted when the grant names the opener with their login differently cased', async () => {
    gh.push('dave/prod', {
      [FILE]: grantText({ requester: { login: 'DAVE', id: dave.id }, source: { pull_request: 1 } }),
    });
    const pr = gh.openPull({ head: 'dave/prod', user: dave });
    await approve(pr);
    expect(gh.merges).toEqual([expect.objectContaining({ number: pr.number })]);
    // A person's PR names no issue: nothing more is read for it.
    expect(gh.calls.filter((c) => c.includes('/issues/') && c.startsWith('GET'))).toEqual([]);
  });
});

describe('a grant PR opened by the app', () => {
  it('merges when approved, having read the issue the branch was made for', async () => {
    const pr = await appPr();
    await approve(pr);
    expect(gh.calls).toContain('GET /repos/acme/access/issues/42');
    expect(gh.merges).toEqual([expect.objectContaining({ number: pr.number })]);
    expect(gh.tree('main').has(FILE)).toBe(true);
  });

  it('is refused when the grant on its branch was edited to name another requester', async () => {
    const pr = await appPr();
    gh.push('gatepass/req-42', {
      [FILE]: grantText({ requester: { login: 'carol', id: carol.id } }),
    });
    await approve(pr);
    expectRefused(
      /issue #42 was opened by @dave \(id 104\), so the grant must name them as requester, not @carol \(id 103\)/,
    );
  });

  it('is refused when the grant keeps the requester’s id but changes the login', async () => {
    const pr = await appPr();
    gh.push('gatepass/req-42', {
      [FILE]: grantText({ requester: { login: 'alice', id: dave.id } }),
    });
    await approve(pr);
    expectRefused(/issue #42 was opened by @dave \(id 104\)/);
  });

  it('is refused when the grant’s source issue is not the one its branch was made for', async () => {
    const pr = await appPr();
    gh.fileIssue(43, dave);
    gh.push('gatepass/req-42', { [FILE]: grantText({ source: { issue: 43 } }) });
    await approve(pr);
    expectRefused(
      /branch gatepass\/req-42 was made for issue #42, but the grant says it comes from issue #43/,
    );
  });

  it('is refused when the issue it was made for cannot be read', async () => {
    const pr = await appPr();
    gh.issue(42).author = undefined; // GitHub answers 404
    await approve(pr);
    expectRefused(/issue #42 cannot be read/);
  });
});

describe('the issue a request branch was made for', () => {
  it('is the number in gatepass/req-<n> and gatepass/req-<n>-ext-<m>, and nothing else', () => {
    expect(requestIssueOf('gatepass/req-42')).toBe(42);
    expect(requestIssueOf('gatepass/req-42-ext-3')).toBe(42);
    for (const other of [
      undefined,
      'req-42',
      'gatepass/req-42-extra',
      'gatepass/req-042',
      'gatepass/req-42-ext-',
      'mallory/gatepass/req-42',
      'gatepass/req-42/x',
    ])
      expect(requestIssueOf(other)).toBeNull();
  });
});
