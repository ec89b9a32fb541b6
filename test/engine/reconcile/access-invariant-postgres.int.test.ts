/**
 * Issue #13's proof, the smaller half: sequences of issue, crash, overlap, refusal, revoke and
 * expiry through the REAL reconcile engine and the REAL postgres provider on the embedded
 * PostgreSQL, with the documented least-privilege admin (CREATEROLE, not a superuser). After
 * each sequence has ended every grant: no grant role, session or object remains, and no other
 * role gained a right or a membership.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import pg from 'pg';
import { CRASH_POINTS } from '../../../src/engine/reconcile/index.js';
import { postgresProvider } from '../../../src/providers/postgres.js';
import { World, type Action } from '../../helpers/access-world.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { generateKey, type KeyPair } from '../../helpers/ssh-keys.js';

let server: TestPostgres;
let key: KeyPair;

async function su<T>(fn: (c: pg.Client) => Promise<T>, database = 'app'): Promise<T> {
  const c = new pg.Client({ connectionString: server.adminUrl(database) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Roles, their attributes and memberships, and the grant roles' sessions and objects. */
async function snapshot() {
  return su(async (c) => {
    const roles = await c.query<{ r: string }>(
      `SELECT rolname || ' super=' || rolsuper || ' createrole=' || rolcreaterole ||
              ' login=' || rolcanlogin AS r
         FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1`,
    );
    const members = await c.query<{ m: string }>(
      `SELECT r.rolname || ' in ' || g.rolname AS m
         FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.member JOIN pg_roles g ON g.oid = a.roleid
        ORDER BY 1`,
    );
    const sessions = await c.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_stat_activity WHERE usename LIKE 'gatepass\\_req\\_%'`,
    );
    const functions = await c.query<{ f: string }>(
      `SELECT p.proname AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' ORDER BY 1`,
    );
    return {
      roles: roles.rows.map((x) => x.r),
      members: members.rows.map((x) => x.m),
      sessions: sessions.rows[0]!.n,
      functions: functions.rows.map((x) => x.f),
    };
  });
}

beforeAll(async () => {
  server = await startPostgres();
  key = generateKey('ed25519');
  await su((c) => c.query('CREATE DATABASE app'), 'postgres');
  await su(async (c) => {
    await c.query('CREATE ROLE readonly NOLOGIN');
    await c.query('GRANT CREATE ON SCHEMA public TO readonly');
  });
  await server.allowGranting('readonly');
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** Returns how many grant roles existed at most after a run (so a sequence is seen to issue). */
async function runOnPostgres(actions: Action[]): Promise<number> {
  let most = 0;
  const before = await snapshot();
  const w = new World(
    { pre: { 'acme/sre': null, 'acme/ops': null } },
    { db: postgresProvider, env: { PG: server.gatepassUrl('app') }, keys: [key.publicKey] },
  );
  for (const a of actions) {
    await w.apply(a);
    if (a.kind === 'run' || a.kind === 'crash') w.checkHeld(a.kind);
    if (a.kind === 'run') {
      // Every grant role that exists belongs to a live grant.
      const live = new Set(
        w
          .remoteGrants()
          .map((g) => g.grant)
          .filter((g) => g.status === 'active' || g.status === 'approved')
          .map((g) => `gatepass_${g.id.replace(/-/g, '_')}`),
      );
      const roles = await su(async (c) =>
        (
          await c.query<{ rolname: string }>(
            `SELECT rolname FROM pg_roles WHERE rolname LIKE 'gatepass\\_req\\_%'`,
          )
        ).rows.map((r) => r.rolname),
      );
      for (const r of roles) expect([r, live.has(r)]).toEqual([r, true]);
      most = Math.max(most, roles.length);
    }
  }
  await w.checkEnd();
  expect(await snapshot()).toEqual(before);
  return most;
}

const seq = (...a: Action[]) => a;

describe('access never outlives its grant, on a real PostgreSQL with the least-privilege admin', () => {
  it('overlapping grants, one revoked early, the other expiring', async () => {
    const most = await runOnPostgres(
      seq(
        { kind: 'request', resource: 'db', hours: 1 },
        { kind: 'run' },
        { kind: 'request', resource: 'db', hours: 2 },
        { kind: 'run' },
        { kind: 'revoke', pick: 0 },
        { kind: 'run' },
        { kind: 'advance', minutes: 125 },
        { kind: 'run' },
      ),
    );
    expect(most).toBe(2);
  }, 60_000);

  it('a crash after the credential exists, then the approver leaves: the refusal drops the role', async () => {
    await runOnPostgres(
      seq(
        { kind: 'request', resource: 'db', hours: 1 },
        { kind: 'crash', point: 'after-effect', nth: 0 },
        { kind: 'approver-leaves' },
        { kind: 'run' },
      ),
    );
  }, 60_000);

  it('a crash after the marker, a renamed requester, an extension and expiry', async () => {
    await runOnPostgres(
      seq(
        { kind: 'request', resource: 'db', hours: 1 },
        { kind: 'run' },
        { kind: 'extend', pick: 0, hours: 2 },
        { kind: 'crash', point: 'after-commit', nth: 0 },
        { kind: 'request', resource: 'db', hours: 1 },
        { kind: 'crash', point: 'after-marker', nth: 0 },
        { kind: 'rename' },
        { kind: 'run' },
        { kind: 'advance', minutes: 241 },
        { kind: 'run' },
      ),
    );
  }, 60_000);

  it('random sequences of issue, crash, revoke and overlap (fixed seed)', async () => {
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({
        kind: fc.constant('request' as const),
        resource: fc.constant('db' as const),
        hours: fc.integer({ min: 1, max: 3 }),
      }),
      fc.constant({ kind: 'run' as const }),
      fc.record({
        kind: fc.constant('crash' as const),
        point: fc.constantFrom(...CRASH_POINTS),
        nth: fc.constantFrom(0, 0, 1),
      }),
      fc.record({ kind: fc.constant('revoke' as const), pick: fc.nat(3) }),
      fc.record({ kind: fc.constant('advance' as const), minutes: fc.constantFrom(30, 61, 125) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 2, maxLength: 8 }), async (a) => {
        await runOnPostgres(a);
      }),
      {
        seed: Number(process.env.GATEPASS_PROPERTY_SEED ?? 1313),
        numRuns: Number(process.env.GATEPASS_PG_PROPERTY_RUNS ?? 20),
        endOnFailure: true,
      },
    );
  }, 180_000);
});
