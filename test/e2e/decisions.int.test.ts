import { describe, expect, it, jest } from '@jest/globals';
import {
  approvalCheck,
  audit,
  comment,
  comments,
  grantOnMain,
  openRequest,
  pull,
  pullForBranch,
  review,
  runAction,
  type World,
} from '../../demo/steps.js';
import { JUSTIFICATION, useWorld } from '../helpers/e2e.js';

// End to end: PostgreSQL, the app and the action per test; slow on a loaded machine.
jest.setTimeout(120_000);

const world = useWorld();

const request = (w: World) =>
  openRequest(w, 'alice', {
    resource: 'prod-db',
    duration: 3600,
    justification: JUSTIFICATION,
    ticket: 'INC-7',
  });

const prCount = (w: World) => [...w.gh.state.issues.values()].filter((i) => i.pull).length;

describe('requests that end without access', () => {
  it('denies a request an approver asks changes on: check failed, PR closed, nothing issued', async () => {
    const w = await world.start();
    const o = await request(w);

    await review(w, 'bob', o.pr!, 'REQUEST_CHANGES', 'Use the read replica instead');

    expect(approvalCheck(w, o.pr!)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    const closed = pull(w, o.pr!);
    expect(closed.state).toBe('closed');
    expect(closed.pull.merged).toBe(false);
    expect(closed.labels).toContain('gatepass:denied');
    expect(w.gh.state.issues.get(o.issue)!.labels).toContain('gatepass:denied');
    expect(comments(w, o.issue).some((c) => c.body.startsWith('Denied'))).toBe(true);
    expect(w.gh.requests.some((r) => r.operationId === 'pulls/merge')).toBe(false);

    // A later approval cannot bring it back: the app never merges a closed PR.
    await review(w, 'bob', o.pr!, 'APPROVE').catch(() => undefined);
    expect(pull(w, o.pr!).pull.merged).toBe(false);

    const run = await runAction(w);
    expect(run.plan).toEqual([]);
    expect(await grantOnMain(w, o.grantId, 'prod-db')).toBeNull();
    expect((await audit(w)).code).toBe(0);
  });

  it('cancels on /cancel from the requester: PR closed, branch deleted, nothing issued', async () => {
    const w = await world.start();
    const o = await request(w);

    // Someone else cannot cancel it.
    await comment(w, 'bob', o.issue, '/cancel');
    expect(pull(w, o.pr!).state).toBe('open');

    await comment(w, 'alice', o.issue, '/cancel');
    const closed = pull(w, o.pr!);
    expect(closed.state).toBe('closed');
    expect(closed.pull.merged).toBe(false);
    expect(await w.gh.git.resolveCommit(`refs/heads/gatepass/${o.grantId}`)).toBeNull();
    expect(w.gh.state.issues.get(o.issue)!.labels).toContain('gatepass:cancelled');

    // Repeating it is harmless.
    await comment(w, 'alice', o.issue, '/cancel');
    expect(prCount(w)).toBe(1);

    expect((await runAction(w)).plan).toEqual([]);
    expect(await grantOnMain(w, o.grantId, 'prod-db')).toBeNull();
  });

  it('carries on after the app restarts mid-flow: a new instance re-derives everything from GitHub', async () => {
    const w = await world.start();
    const o = await request(w);
    await review(w, 'alice', o.pr!, 'APPROVE');

    // Nothing the first instance held in memory (policy cache, anything) survives.
    await w.restartApp();
    const callsBefore = w.gh.requests.length;
    await review(w, 'bob', o.pr!, 'APPROVE');

    // The new instance authenticated afresh, read the policy, and merged the same PR.
    const after = w.gh.requests.slice(callsBefore).map((r) => r.operationId);
    expect(after).toContain('apps/create-installation-access-token');
    expect(after).toContain('pulls/merge');
    expect(pull(w, o.pr!).pull.merged).toBe(true);
    expect(prCount(w)).toBe(1);
    expect(pullForBranch(w, `gatepass/${o.grantId}`)).toBe(o.pr);

    // A redelivered opening of the request (GitHub retries) makes no second PR either.
    const opened = w.gh.events.find((e) => e.name === 'issues' && e.action === 'opened')!;
    await w.restartApp();
    await w.gh.redeliver(opened.id);
    expect(prCount(w)).toBe(1);

    const run = await runAction(w);
    expect(run.events.map((e) => e.event)).toEqual(['approved', 'issued']);
    expect((await audit(w)).code).toBe(0);
  });
});
