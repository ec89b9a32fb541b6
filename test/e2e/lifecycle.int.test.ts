import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { parseTrailers } from '../../src/core/trailers.js';
import { roleNameFor } from '../../src/providers/postgres.js';
import {
  ageBlock,
  ageDecrypt,
  approvalCheck,
  audit,
  comments,
  DemoClock,
  failedDeliveries,
  grantOnMain,
  openRequest,
  pgLogin,
  pull,
  review,
  roleExists,
  runAction,
  startWorld,
  verdictFor,
  type World,
} from '../../demo/steps.js';
import { expectNoContractProblems } from '../standin/github-standin.js';

// End to end: PostgreSQL, the app and the action per test; slow on a loaded machine.
jest.setTimeout(120_000);

let w: World | undefined;
afterEach(async () => {
  const world = w;
  w = undefined;
  if (!world) return;
  try {
    expectNoContractProblems(world.gh);
    expect(failedDeliveries(world)).toEqual([]);
  } finally {
    await world.stop();
  }
});

const JUSTIFICATION = 'Checkout is slow since the deploy; reading the orders table';

describe('the whole lifecycle against the GitHub stand-in', () => {
  it('goes from an issue-form request to a revoked PostgreSQL login with a clean audit', async () => {
    w = await startWorld({ clock: new DemoClock() });

    // The request: the app validates it and opens a grant PR adding exactly one file.
    const o = await openRequest(w, 'alice', {
      resource: 'prod-db',
      duration: 1800,
      justification: JUSTIFICATION,
      ticket: 'INC-7',
    });
    expect(o.pr).toBeDefined();
    const pr = o.pr!;
    const opened = pull(w, pr);
    expect(opened.user).toBe('gatepass[bot]');
    expect(opened.pull.head).toBe(`gatepass/${o.grantId}`);
    expect(await w.gh.git.diff(opened.pull.base_sha, opened.pull.head_sha)).toEqual([
      expect.objectContaining({ filename: `grants/prod-db/${o.grantId}.yaml`, status: 'added' }),
    ]);
    // GitHub asks the approvers from CODEOWNERS (as setup requires); the app does not.
    expect(opened.pull.requested_teams).toEqual(['acme/sre']);
    expect(w.gh.requests.filter((r) => r.path.endsWith('/requested_reviewers'))).toEqual([]);
    expect(approvalCheck(w, pr)).toMatchObject({ status: 'in_progress', conclusion: null });

    // Self-approval: counted for nothing, and the check run says why.
    await review(w, 'alice', pr, 'APPROVE');
    expect(pull(w, pr).pull.merged).toBe(false);
    expect(verdictFor(approvalCheck(w, pr), 'alice')).toMatch(
      /\| no \| the requester cannot approve/,
    );

    // bob approves: the app merges at the head it decided on, squash, trailers only.
    const headBefore = pull(w, pr).pull.head_sha;
    await review(w, 'bob', pr, 'APPROVE');
    const merge = w.gh.requests.find((r) => r.operationId === 'pulls/merge');
    expect(merge).toMatchObject({ status: 200, actor: 'gatepass[bot]' });
    expect(merge!.body).toMatchObject({ sha: headBefore, merge_method: 'squash' });
    const merged = pull(w, pr).pull;
    expect(merged.merged).toBe(true);
    const commit = (await w.gh.git.commit(merged.merge_commit_sha!))!;
    expect(commit.parents).toHaveLength(1);
    expect(parseTrailers(commit.message)).toMatchObject({
      grant: o.grantId,
      event: 'approved',
      approvedBy: [expect.objectContaining({ login: 'bob', id: 102 })],
      pullRequest: pr,
    });
    expect(approvalCheck(w, pr)).toMatchObject({ status: 'completed', conclusion: 'success' });

    // The action verifies through the API and issues a real role; the password goes to alice.
    const first = await runAction(w);
    expect(first.failures).toEqual([]);
    expect(first.events.map((e) => e.event)).toEqual(['approved', 'issued']);
    expect(await roleExists(w, o.grantId)).toBe(true);
    const active = await grantOnMain(w, o.grantId, 'prod-db');
    expect(active).toMatchObject({ status: 'active', approval: { merge_commit: commit.sha } });
    const delivery = comments(w, o.issue).find((c) => ageBlock(c.body));
    expect(delivery?.user).toBe('gatepass[bot]');
    const password = (await ageDecrypt(w, ageBlock(delivery!.body)!)).trim();
    // The password is delivered encrypted only: it appears nowhere in the clear.
    expect(delivery!.body).not.toContain(password);
    expect(await pgLogin(w, o.grantId, password)).toEqual({
      ok: true,
      user: roleNameFor(o.grantId),
      rows: 2,
    });

    // Nothing is due yet: a sweep changes nothing.
    expect((await runAction(w)).events).toEqual([]);

    // Past expiry (gatepass's clock moves, nobody sleeps): the sweep revokes.
    w.clock.advance(1800 + 60);
    const sweep = await runAction(w);
    expect(sweep.events.map((e) => `${e.grant} ${e.event}`)).toEqual([`${o.grantId} expired`]);
    expect(await roleExists(w, o.grantId)).toBe(false);
    expect(await pgLogin(w, o.grantId, password)).toMatchObject({ ok: false });
    expect(await grantOnMain(w, o.grantId, 'prod-db')).toMatchObject({ status: 'expired' });

    const report = await audit(w);
    expect(report.code).toBe(0);
    expect(report.out).toContain('verify: no findings');
    expect(report.out).toMatch(new RegExp(`${o.grantId}\\s+prod-db\\s+alice\\s+expired\\s+bob`));
  });
});
