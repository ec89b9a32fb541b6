import { describe, expect, it } from '@jest/globals';
import { parseTrailers } from '../../src/core/trailers.js';
import {
  ageBlock,
  ageDecrypt,
  audit,
  comment,
  comments,
  grantOnMain,
  mainSha,
  openRequest,
  pgLogin,
  pull,
  pullForBranch,
  review,
  roleExists,
  runAction,
  type World,
} from '../../demo/steps.js';
import { JUSTIFICATION, useWorld } from '../helpers/e2e.js';

const world = useWorld();

/** A prod-db grant requested by alice, approved by bob, issued by the action. */
async function activeGrant(w: World, duration = 1800) {
  const o = await openRequest(w, 'alice', {
    resource: 'prod-db',
    duration,
    justification: JUSTIFICATION,
    ticket: 'INC-7',
  });
  await review(w, 'bob', o.pr!, 'APPROVE');
  const run = await runAction(w);
  expect(run.events.map((e) => e.event)).toEqual(['approved', 'issued']);
  const delivery = comments(w, o.issue).find((c) => ageBlock(c.body))!;
  const password = (await ageDecrypt(w, ageBlock(delivery.body)!)).trim();
  return { ...o, password };
}

describe('commands on an issued grant', () => {
  it('/revoke ends access early: the app records who asked, the action drops the role', async () => {
    const w = await world.start();
    const g = await activeGrant(w);
    expect((await pgLogin(w, g.grantId, g.password)).ok).toBe(true);

    w.clock.advance(300);
    const before = await mainSha(w);
    await comment(w, 'alice', g.issue, '/revoke done with the investigation');

    // One commit on main, by the app, guarded by the file's blob sha, with trailers.
    const after = await mainSha(w);
    const commit = (await w.gh.git.commit(after))!;
    expect(commit.parents).toEqual([before]);
    expect(parseTrailers(commit.message)).toMatchObject({
      grant: g.grantId,
      event: 'revoke-requested',
    });
    expect(await grantOnMain(w, g.grantId, 'prod-db')).toMatchObject({
      status: 'active',
      revoke_requested: { by: { login: 'alice', id: 101 } },
    });
    expect(w.gh.state.issues.get(g.issue)!.labels).toContain('gatepass:revoke-requested');

    const run = await runAction(w);
    expect(run.events.map((e) => `${e.grant} ${e.event}`)).toEqual([`${g.grantId} revoked`]);
    expect(await roleExists(w, g.grantId)).toBe(false);
    expect((await pgLogin(w, g.grantId, g.password)).ok).toBe(false);
    expect(await grantOnMain(w, g.grantId, 'prod-db')).toMatchObject({ status: 'revoked' });

    const report = await audit(w);
    expect(report.code).toBe(0);
    expect(report.out).toMatch(new RegExp(`${g.grantId}\\s+prod-db\\s+alice\\s+revoked`));
  });

  it('/extend opens a new request PR that is approved and issued like any other', async () => {
    const w = await world.start();
    const g = await activeGrant(w);

    w.clock.advance(20 * 60);
    await comment(w, 'alice', g.issue, '/extend 30m');
    const ext = pullForBranch(w, `gatepass/${g.grantId}-ext-1`);
    expect(ext).toBeDefined();
    expect(pull(w, ext!).user).toBe('gatepass[bot]');
    expect(comments(w, g.issue).some((c) => c.body.includes(`opened #${ext}`))).toBe(true);

    // Asking twice does not open a second extension.
    await comment(w, 'alice', g.issue, '/extend 30m');
    expect(pullForBranch(w, `gatepass/${g.grantId}-ext-2`)).toBeUndefined();

    await review(w, 'bob', ext!, 'APPROVE');
    expect(pull(w, ext!).pull.merged).toBe(true);
    const extId = `${g.grantId}-ext-1`;
    const run = await runAction(w);
    expect(run.events.map((e) => `${e.grant} ${e.event}`)).toEqual([
      `${extId} approved`,
      `${extId} issued`,
    ]);
    expect(await grantOnMain(w, extId, 'prod-db')).toMatchObject({
      status: 'active',
      extends: g.grantId,
      duration: 1800,
    });

    // The original ends on time; the extension keeps its own credential until its own expiry.
    w.clock.advance(11 * 60);
    const sweep = await runAction(w);
    expect(sweep.events.map((e) => `${e.grant} ${e.event}`)).toEqual([`${g.grantId} expired`]);
    expect(await roleExists(w, g.grantId)).toBe(false);
    expect(await roleExists(w, extId)).toBe(true);

    const report = await audit(w);
    expect(report.err).toBe('');
    expect(report.code).toBe(0);
  });
});
