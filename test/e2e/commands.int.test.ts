import { describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { roleNameFor } from '../../src/providers/postgres.js';
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
// Each test starts PostgreSQL, the app and the action and runs them end to end (about 18 s on
// an idle machine); on a shared CI machine that can pass the default 30 s.
jest.setTimeout(90_000);

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

  it('/extend opens a request that, once approved, moves the same grant and its native expiry', async () => {
    const w = await world.start();
    const g = await activeGrant(w);
    const before = (await grantOnMain(w, g.grantId, 'prod-db'))!;

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
    // The same grant is extended: no second credential racing the first.
    expect(run.events.map((e) => `${e.grant} ${e.event}`)).toEqual([
      `${extId} approved`,
      `${g.grantId} extended`,
    ]);
    const after = (await grantOnMain(w, g.grantId, 'prod-db'))!;
    expect(after.status).toBe('active');
    const moved = Date.parse(after.expires_at!) - Date.parse(before.expires_at!);
    expect(moved).toBe(30 * 60 * 1000);
    expect(await grantOnMain(w, extId, 'prod-db')).toMatchObject({ status: 'expired' });
    expect(await roleExists(w, extId)).toBe(false);
    // PostgreSQL's own expiry moved too (provider extend against the real server).
    expect((await validUntil(w, g.grantId))?.toISOString()).toBe(
      new Date(after.expires_at!).toISOString(),
    );
    expect((await pgLogin(w, g.grantId, g.password)).ok).toBe(true);

    // Past the original expiry nothing ends; past the extended one the grant expires.
    w.clock.advance((Date.parse(before.expires_at!) + 60_000 - w.clock.now().getTime()) / 1000);
    expect((await runAction(w)).events).toEqual([]);
    expect(await roleExists(w, g.grantId)).toBe(true);
    w.clock.advance((Date.parse(after.expires_at!) + 60_000 - w.clock.now().getTime()) / 1000);
    const sweep = await runAction(w);
    expect(sweep.events.map((e) => `${e.grant} ${e.event}`)).toEqual([`${g.grantId} expired`]);
    expect(await roleExists(w, g.grantId)).toBe(false);

    const report = await audit(w);
    expect(report.err).toBe('');
    expect(report.code).toBe(0);
  });
});

/** The role's `VALID UNTIL` as PostgreSQL itself has it. */
async function validUntil(w: World, grantId: string): Promise<Date | null> {
  const admin = new pg.Client({ connectionString: w.pg!.adminUrl() });
  await admin.connect();
  try {
    const r = await admin.query<{ v: Date | null }>(
      'SELECT rolvaliduntil AS v FROM pg_roles WHERE rolname = $1',
      [roleNameFor(grantId)],
    );
    return r.rows[0]?.v ?? null;
  } finally {
    await admin.end();
  }
}
