import { beforeEach, describe, expect, it } from '@jest/globals';
import { fixedClock } from '../../../src/core/clock.js';
import type { Grant } from '../../../src/core/grant.js';
import { grantPath, serializeGrant } from '../../../src/core/grant-file.js';
import { confirmApproval, readState } from '../../../src/engine/reconcile/index.js';
import { landMergedRequest, MemoryGitHub, MemoryGrantStore } from '../../helpers/memory-ports.js';
import { POLICY, alice, bob } from '../../helpers/reconcile.js';

/**
 * The action's security gate (threat #5), over in-memory ports: every way a grant on the
 * default branch can fail to be a reviewed, merged request is refused with its reason.
 */
const T0 = '2030-01-01T10:00:00.000Z';
const MERGED_AT = '2030-01-01T10:05:00Z';
const carol = { login: 'carol', id: 1003 };

let store: MemoryGrantStore;
let github: MemoryGitHub;
let policyCommit: string;

function request(overrides: Partial<Grant> = {}): Grant {
  return {
    id: 'req-1',
    resource: 'prod-db',
    requester: alice,
    duration: 3600,
    justification: 'Investigating slow checkout queries (INC-7)',
    source: { issue: 1, pull_request: 1001 },
    policy_commit: policyCommit,
    status: 'pending',
    requested_at: T0,
    ...overrides,
  };
}

const PATH = grantPath('prod-db', 'req-1');

function land(grant: Grant, o: Partial<Parameters<typeof landMergedRequest>[2]> = {}) {
  const merge = landMergedRequest(store, github, {
    path: PATH,
    text: serializeGrant(grant),
    pr: 1001,
    grantId: grant.id,
    resource: grant.resource,
    requester: grant.requester,
    reviewers: [bob],
    mergedAt: MERGED_AT,
    ...o,
  });
  return merge;
}

async function confirm(grant: Grant) {
  await store.refresh();
  const state = await readState(store, 'HEAD');
  return confirmApproval(
    {
      history: store,
      github,
      branch: 'main',
      clock: fixedClock('2030-01-01T10:10:00Z'),
      loginOf: (id) => github.loginForId(id),
    },
    grant,
    PATH,
    state,
  );
}

beforeEach(() => {
  store = new MemoryGrantStore({ 'policies/example.yaml': POLICY }, 'Policies');
  policyCommit = store.remoteHead;
  github = new MemoryGitHub().addUser(alice).addUser(bob).addUser(carol);
});

describe('confirmApproval', () => {
  it('confirms a merged request reviewed by an approver on its head', async () => {
    const grant = request();
    const merge = land(grant);
    const c = await confirm(grant);
    expect(c).toMatchObject({ number: 1001, added: merge, decision: { outcome: 'approved' } });
    if ('decision' in c) expect(c.decision.approvers.map((a) => a.login)).toEqual(['bob']);
  });

  it('refuses a file no commit on the branch adds', async () => {
    expect(await confirm(request())).toEqual({
      refused: 'no commit on the default branch adds this file',
    });
  });

  it('refuses a request changed after its merge (widened by a later push)', async () => {
    const grant = request();
    land(grant);
    const widened = { ...grant, duration: 4 * 3600 };
    store.commitOnRemote({ [PATH]: serializeGrant(widened) }, 'widen');
    expect(await confirm(widened)).toEqual({
      refused: expect.stringMatching(/no longer what commit \w{7} merged/),
    });
  });

  it('refuses a grant pushed without a pull request', async () => {
    const grant = request({ source: { issue: 1 } });
    store.commitOnRemote({ [PATH]: serializeGrant(grant) }, 'direct push');
    expect(await confirm(grant)).toEqual({
      refused: expect.stringMatching(/added it without a pull request/),
    });
  });

  it('refuses a pull request that does not exist, was not merged, or merged something else', async () => {
    const grant = request();
    land(grant);
    const pr = github.pulls.get(1001)!;
    github.pulls.delete(1001);
    expect(await confirm(grant)).toEqual({ refused: 'pull request #1001 does not exist' });
    github.pulls.set(1001, { ...pr, info: { ...pr.info, merged: false } });
    expect(await confirm(grant)).toEqual({ refused: 'pull request #1001 was not merged' });
    github.pulls.set(1001, { ...pr, info: { ...pr.info, merge_commit_sha: 'f'.repeat(40) } });
    expect(await confirm(grant)).toEqual({
      refused: expect.stringMatching(/is not the merge of #1001/),
    });
    github.pulls.set(1001, { ...pr, info: { ...pr.info, base_ref: 'release' } });
    expect(await confirm(grant)).toEqual({ refused: '#1001 was merged into release' });
  });

  it('refuses a pull request that changed more than the grant file', async () => {
    const grant = request();
    land(grant, {
      files: [
        { filename: PATH, status: 'added' },
        { filename: 'policies/example.yaml', status: 'modified' },
      ],
    });
    expect(await confirm(grant)).toEqual({
      refused: '#1001 must change exactly this grant file, it changed 2',
    });
  });

  it('refuses a requester whose id now names another login, or no account', async () => {
    const grant = request();
    land(grant);
    github.addUser({ login: 'mallory', id: alice.id });
    expect(await confirm(grant)).toEqual({
      refused: `the requester's account ${alice.id} is @mallory, not @alice`,
    });
    github.users.delete(alice.id);
    expect(await confirm(grant)).toEqual({
      refused: `the requester's account ${alice.id} is gone, not @alice`,
    });
  });

  it('judges under the policy the branch had at the merge, not a later one', async () => {
    const grant = request();
    land(grant, { reviewers: [carol] });
    // Carol becomes an approver only after the merge: her review still does not count.
    store.commitOnRemote(
      { 'policies/example.yaml': POLICY.replace('approvers: [bob]', 'approvers: [bob, carol]') },
      'loosen',
    );
    expect(await confirm(grant)).toEqual({
      refused: expect.stringMatching(/^approval not confirmed: /),
    });
  });

  it('refuses a policy commit that is not on the branch', async () => {
    const grant = request({ policy_commit: 'a'.repeat(40) });
    land(grant);
    expect(await confirm(grant)).toEqual({
      refused: `its policy commit aaaaaaa is not on the default branch`,
    });
  });

  describe('with team principals (looked up one person at a time)', () => {
    const TEAMS = POLICY.replace('requesters: [alice]', 'requesters: [acme/eng]').replace(
      'approvers: [bob]',
      'approvers: [acme/dba]',
    );
    beforeEach(() => {
      store = new MemoryGrantStore({ 'policies/example.yaml': TEAMS }, 'Team policies');
      policyCommit = store.remoteHead;
      github.addToTeam('acme/eng', alice.id).addToTeam('acme/dba', bob.id);
    });

    it('confirms, asking only about the requester and the reviewer', async () => {
      const grant = request();
      land(grant);
      expect(await confirm(grant)).toMatchObject({ decision: { outcome: 'approved' } });
      expect(github.calls.filter((c) => c.startsWith('members'))).toEqual([
        'membershipsOf(["alice@acme/eng","bob@acme/dba"])',
      ]);
    });

    it('refuses when the reviewer’s membership is only pending (an invitation)', async () => {
      github.teams.get('acme/dba')!.set(bob.id, { state: 'pending', role: 'member' });
      const grant = request();
      land(grant);
      expect(await confirm(grant)).toEqual({
        refused: expect.stringMatching(/0 of 1 required approval/),
      });
    });

    it('refuses when the requester left the requesters’ team', async () => {
      github.teams.get('acme/eng')!.delete(alice.id);
      const grant = request();
      land(grant);
      expect(await confirm(grant)).toEqual({ refused: expect.stringMatching(/alice/) });
    });
  });

  it('sees a subfolder policy as any other (policies/team/x.yaml)', async () => {
    store = new MemoryGrantStore({ 'policies/team/db.yaml': POLICY }, 'Policies in a folder');
    policyCommit = store.remoteHead;
    const grant = request();
    land(grant);
    expect(await confirm(grant)).toMatchObject({ decision: { outcome: 'approved' } });
  });

  // Issue #14 item 1, the action's side: it read the PR's live file list, which can describe
  // another head than the one merged. On the old code this confirmed the approval.
  it("judges the files of the merged head, not the PR's live file list", async () => {
    const grant = request();
    land(grant, {
      files: [
        { filename: PATH, status: 'added' },
        { filename: '.github/workflows/steal.yml', status: 'added' },
      ],
    });
    github.pulls.get(1001)!.liveFiles = [{ filename: PATH, status: 'added' }];
    expect(await confirm(grant)).toEqual({
      refused: '#1001 must change exactly this grant file, it changed 2',
    });
    expect(github.calls.some((c) => c.startsWith('pullRequestFiles'))).toBe(false);
  });

  // Issue #14 item 6 (the "known gap" of docs/action.md): the action did not tie the requester
  // to who asked; on the old code both of these were confirmed.
  it("refuses an app PR whose request issue was opened by someone else than the grant's requester", async () => {
    const grant = request();
    github.issues.set(1, { number: 1, user: { ...carol, type: 'User' }, state: 'open' });
    land(grant);
    expect(await confirm(grant)).toEqual({
      refused: expect.stringContaining('issue #1 was opened by @carol (id 1003)'),
    });
    expect(github.calls.filter((c) => c.startsWith('issue('))).toEqual(['issue(1)']);
  });

  it('refuses a hand-merged PR opened by someone else than the requester', async () => {
    const grant = request({ source: { pull_request: 1001 } });
    land(grant);
    const pr = github.pulls.get(1001)!;
    pr.info.user = { ...carol, type: 'User' };
    pr.commits = [
      { sha: pr.info.head_sha, author: { ...carol, type: 'User' }, verified: false, message: 'x' },
    ];
    expect(await confirm(grant)).toEqual({
      refused: expect.stringContaining('@carol (id 1003) opened the pull request'),
    });
  });

  // Issue #14 item 4, the action's side: the same time rules as the app, judged at the merge.
  it('refuses a request dated after its merge (it would move its TTL)', async () => {
    const grant = request({ requested_at: '2031-01-01T10:00:00.000Z' });
    land(grant);
    expect(await confirm(grant)).toEqual({
      refused: expect.stringContaining('requested_at 2031-01-01T10:00:00.000Z is in the future'),
    });
  });
});

// Issue #14 item 3, the action's side: break-glass counts only when every commit of the merged
// head is the app's own (GitHub-verified); on the old code a push by anyone made it count.
describe('confirmApproval of break-glass', () => {
  const BG_POLICY = `${POLICY}    break_glass:
      allowed: [alice]
      max_duration: 1h
`;
  beforeEach(() => {
    store = new MemoryGrantStore({ 'policies/example.yaml': BG_POLICY }, 'Policies');
    policyCommit = store.remoteHead;
  });
  const APP = { login: 'gatepass[bot]', id: 99, type: 'Bot' };

  it('confirms break-glass the app wrote, with no reviews', async () => {
    const grant = request({ break_glass: { reason: 'INC-9 checkout down' } });
    land(grant, { reviewers: [] });
    expect(await confirm(grant)).toMatchObject({ decision: { rule: 'break_glass' } });
  });

  it('ignores break-glass when someone else pushed to the request: it needed reviews', async () => {
    const grant = request({ break_glass: { reason: 'INC-9 checkout down' } });
    land(grant, {
      reviewers: [],
      commits: [
        { sha: 'a'.repeat(40), author: APP, verified: true, message: 'request' },
        { sha: 'b'.repeat(40), author: { ...carol, type: 'User' }, verified: false, message: 'bg' },
      ],
    });
    expect(await confirm(grant)).toEqual({
      refused: expect.stringContaining('approval not confirmed: waiting for approvals'),
    });
  });
});
