import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { parseGrant, serializeGrant } from '../../src/core/grant-file.js';
import { parseTrailers } from '../../src/core/trailers.js';
import { parseCommand } from '../../src/app/commands.js';
import { FakeGitHub, type FakePull } from '../helpers/fake-github.js';
import {
  alice,
  carol,
  commentEvent,
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
const replies = () => gh.issue(42).comments.map((c) => c.body);
const lastReply = () => replies().at(-1)!;

async function openRequest(): Promise<FakePull> {
  gh.fileIssue(42, dave);
  await probot.receive(issueEvent({}));
  return gh.pullFor('gatepass/req-42')!;
}
/** Approved and merged, then made active by "the action" (a commit on main). */
async function activeGrant(): Promise<void> {
  const pr = await openRequest();
  gh.addReview(pr.number, alice, 'APPROVED');
  await probot.receive(reviewEvent(pr.number));
  const parsed = parseGrant(gh.tree('main').get(FILE)!, FILE);
  if (!parsed.ok) throw new Error('grant on main does not parse');
  const g = parsed.value;
  const active = {
    ...g,
    status: 'active' as const,
    approval: {
      approved_at: '2030-01-01T10:00:00.000Z',
      rule: 'reviews',
      approvers: [{ login: 'alice', id: alice.id, review_id: 1 }],
    },
    issued_at: '2030-01-01T10:01:00.000Z',
    expires_at: '2030-01-01T12:01:00.000Z',
  };
  gh.push('main', { [FILE]: serializeGrant(active) }, 'issued');
}

describe('commands in comments', () => {
  it('never reads a line in an indented code block as a command', () => {
    expect(parseCommand('    /revoke')).toBeNull();
    expect(parseCommand('\t/cancel')).toBeNull();
    expect(parseCommand('  \t/cancel')).toBeNull();
    expect(parseCommand('        /extend 4h\nexample of what not to do')).toBeNull();
    // Up to three spaces is an ordinary paragraph in Markdown.
    expect(parseCommand('   /cancel')).toEqual({ kind: 'cancel' });
  });

  it('parses commands on the first line only', () => {
    expect(parseCommand('/cancel')).toEqual({ kind: 'cancel' });
    expect(parseCommand('/revoke done with it\nthanks')).toEqual({
      kind: 'revoke',
      reason: 'done with it',
    });
    expect(parseCommand('/extend 2h')).toEqual({ kind: 'extend', duration: 7200 });
    expect(parseCommand('/extend')).toMatchObject({ kind: 'malformed' });
    expect(parseCommand('/frobnicate')).toMatchObject({ kind: 'malformed' });
    expect(parseCommand('thanks!\n/cancel')).toBeNull();
  });

  it('/cancel by the requester closes the PR, deletes the branch, labels and replies', async () => {
    const pr = await openRequest();
    await probot.receive(commentEvent({ body: '/cancel', sender: dave }));
    expect(gh.pulls.get(pr.number)).toMatchObject({
      state: 'closed',
      merged: false,
      labels: ['gatepass:cancelled'],
    });
    expect(gh.branches.has('gatepass/req-42')).toBe(false);
    expect(gh.issue(42).labels).toEqual(['gatepass:cancelled']);
    expect(lastReply()).toContain(`Cancelled: #${pr.number}`);
  });

  it('/cancel twice changes nothing the second time', async () => {
    await openRequest();
    await probot.receive(commentEvent({ body: '/cancel', sender: dave }));
    gh.calls.length = 0;
    await probot.receive(commentEvent({ body: '/cancel', sender: dave }));
    expect(lastReply()).toContain('already closed');
    expect(gh.calls.filter((c) => !c.startsWith('GET')).length).toBe(1); // the reply only
  });

  it('refuses a command from the wrong person', async () => {
    const pr = await openRequest();
    await probot.receive(commentEvent({ body: '/cancel', sender: mallory }));
    expect(gh.pulls.get(pr.number)!.state).toBe('open');
    expect(gh.branches.has('gatepass/req-42')).toBe(true);
    expect(lastReply()).toContain('only the requester @dave can cancel');
  });

  it('never runs a command in an edited comment', async () => {
    const pr = await openRequest();
    gh.calls.length = 0;
    await probot.receive(commentEvent({ body: '/cancel', sender: dave, action: 'edited' }));
    expect(gh.pulls.get(pr.number)!.state).toBe('open');
    expect(gh.calls).toEqual([]);
  });

  it('answers an unknown command and changes nothing', async () => {
    await openRequest();
    gh.calls.length = 0;
    await probot.receive(commentEvent({ body: '/frobnicate', sender: dave }));
    expect(lastReply()).toContain('unknown command `/frobnicate`');
    expect(gh.calls).toEqual(['POST /repos/acme/access/issues/42/comments']);
  });

  it('/revoke by the requester commits revoke_requested with trailers, guarded by the blob sha', async () => {
    await activeGrant();
    const before = gh.head;
    await probot.receive(commentEvent({ body: '/revoke done early', sender: dave }));
    const commit = gh.commitOf('main');
    expect(commit.parent).toBe(before);
    const g = parseGrant(gh.tree('main').get(FILE)!, FILE);
    expect(g.ok && g.value.revoke_requested).toEqual({
      by: { login: 'dave', id: dave.id },
      at: '2030-01-01T10:00:00.000Z',
      reason: 'done early',
    });
    expect(g.ok && g.value.status).toBe('active');
    expect(parseTrailers(commit.message)).toMatchObject({
      grant: 'req-42',
      event: 'revoke-requested',
      actor: `dave (${dave.id})`,
    });
    expect(lastReply()).toContain('revocation of `req-42` requested');
    expect(gh.issue(42).labels).toContain('gatepass:revoke-requested');

    await probot.receive(commentEvent({ body: '/revoke', sender: dave }));
    expect(gh.commitOf('main').sha).toBe(commit.sha);
    expect(lastReply()).toContain('already requested');
  });

  // Issue #14 item 7: on the old code `/revoke` between the merge and the action's run said
  // "it ended" and wrote nothing, and the action then issued the grant.
  it('/revoke on a merged grant the action has not issued yet records the request', async () => {
    const pr = await openRequest();
    gh.addReview(pr.number, alice, 'APPROVED');
    await probot.receive(reviewEvent(pr.number));
    const before = gh.head;
    await probot.receive(commentEvent({ body: '/revoke wrong database', sender: alice }));
    expect(gh.head).not.toBe(before);
    const g = parseGrant(gh.tree('main').get(FILE)!, FILE);
    expect(g.ok && g.value).toMatchObject({
      status: 'pending',
      revoke_requested: { by: { login: 'alice', id: alice.id }, reason: 'wrong database' },
    });
    expect(lastReply()).toContain('revocation of `req-42` requested');
  });

  it('/revoke by an approver through a team is allowed; by anyone else refused', async () => {
    await activeGrant();
    const before = gh.head;
    await probot.receive(commentEvent({ body: '/revoke', sender: mallory }));
    expect(gh.head).toBe(before);
    expect(lastReply()).toContain('only the requester or an approver');
    await probot.receive(commentEvent({ body: '/revoke', sender: carol }));
    expect(gh.head).not.toBe(before);
  });

  it('/revoke and /extend look the commenter up in each team, never list a whole team', async () => {
    await activeGrant();
    const teamCalls = () => gh.calls.filter((c) => c.startsWith('GET /orgs/'));
    gh.calls.length = 0;
    await probot.receive(commentEvent({ body: '/revoke', sender: carol }));
    expect(teamCalls()).toEqual(['GET /orgs/acme/teams/dba/memberships/carol']);
    expect(lastReply()).toContain('revocation of `req-42` requested');
    gh.calls.length = 0;
    await probot.receive(commentEvent({ body: '/extend 1h', sender: dave }));
    expect(teamCalls()).toEqual(['GET /orgs/acme/teams/engineers/memberships/dave']);
  });

  it('/revoke by someone whose approver-team membership is only pending is refused', async () => {
    await activeGrant();
    gh.pendingMembers.set('acme/dba', new Set(['mallory']));
    const before = gh.head;
    await probot.receive(commentEvent({ body: '/revoke', sender: mallory }));
    expect(gh.calls).toContain('GET /orgs/acme/teams/dba/memberships/mallory');
    expect(gh.head).toBe(before);
    expect(lastReply()).toContain('only the requester or an approver');
  });

  it('/revoke on a grant changed concurrently says so and changes nothing', async () => {
    await activeGrant();
    gh.failNext('PUT', /\/contents\//, 409);
    const before = gh.head;
    await probot.receive(commentEvent({ body: '/revoke', sender: dave }));
    expect(gh.head).toBe(before);
    expect(lastReply()).toContain('changed while I was writing');
  });

  it('/extend opens a new request PR that extends the grant, once', async () => {
    await activeGrant();
    await probot.receive(commentEvent({ body: '/extend 1h', sender: dave }));
    const ext = gh.pullFor('gatepass/req-42-ext-1')!;
    expect(ext.state).toBe('open');
    const file = 'grants/prod-db/req-42-ext-1.yaml';
    const g = parseGrant(gh.tree('gatepass/req-42-ext-1').get(file)!, file);
    expect(g.ok && g.value).toMatchObject({
      id: 'req-42-ext-1',
      extends: 'req-42',
      duration: 3600,
      status: 'pending',
      source: { issue: 42 },
    });
    await probot.receive(commentEvent({ body: '/extend 1h', sender: dave }));
    expect(lastReply()).toContain(`already pending in #${ext.number}`);
    expect([...gh.pulls.values()].filter((p) => p.head_ref.includes('ext'))).toHaveLength(1);
  });

  it('/extend beyond the maximum is refused with the reason', async () => {
    await activeGrant();
    await probot.receive(commentEvent({ body: '/extend 9h', sender: dave }));
    expect(gh.pullFor('gatepass/req-42-ext-1')).toBeUndefined();
    expect(lastReply()).toContain('longer than the 4h allowed');
  });

  it('/extend by someone else is refused', async () => {
    await activeGrant();
    await probot.receive(commentEvent({ body: '/extend 1h', sender: alice }));
    expect(gh.pullFor('gatepass/req-42-ext-1')).toBeUndefined();
    expect(lastReply()).toContain('only the requester @dave can extend');
  });
});
