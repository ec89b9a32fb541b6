import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { ProviderError } from '../../src/core/errors.js';
import { postgresProvider, roleNameFor } from '../../src/providers/postgres.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { buildContext, buildGrant, buildResource } from '../helpers/provider-context.js';
import { generateKey, type KeyPair } from '../helpers/ssh-keys.js';

let server: TestPostgres;
let key: KeyPair;

const target = (extra: Record<string, unknown> = {}) => ({
  admin_url: 'env:PG_ADMIN',
  database: 'app',
  roles: ['app_read'],
  connection_limit: 3,
  statement_timeout: '5m',
  ...extra,
});

function context(extra: Record<string, unknown> = {}, keys?: string[]) {
  return buildContext({
    resource: buildResource('postgres', target(extra)),
    // The documented least-privilege admin (CREATEROLE, not a superuser), never the superuser.
    env: { PG_ADMIN: server.gatepassUrl() },
    keys: keys ?? [key.publicKey],
  });
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>, database = 'app'): Promise<T> {
  const c = new pg.Client({ connectionString: server.adminUrl(database) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function roleRow(role: string) {
  return admin(async (c) => {
    const r = await c.query(
      `SELECT rolname, rolcanlogin, rolvaliduntil, rolconnlimit, rolconfig,
              shobj_description(oid, 'pg_authid') AS comment,
              ARRAY(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                     WHERE m.member = r.oid ORDER BY 1) AS member_of
         FROM pg_roles r WHERE rolname = $1`,
      [role],
    );
    return r.rows[0] as
      | {
          rolcanlogin: boolean;
          rolvaliduntil: Date;
          rolconnlimit: number;
          rolconfig: string[] | null;
          comment: string;
          member_of: string[];
        }
      | undefined;
  });
}

/** The password exactly as the requester gets it: decrypted with `age` and their SSH key. */
function decryptDelivery(body: string): string {
  const armored = /-----BEGIN AGE ENCRYPTED FILE-----[\s\S]+?-----END AGE ENCRYPTED FILE-----/.exec(
    body,
  );
  if (!armored) throw new Error('no age block in the delivery');
  return execFileSync('age', ['-d', '-i', key.privatePath], {
    input: armored[0] + '\n',
    encoding: 'utf8',
  });
}

async function login(user: string, password: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: server.urlFor(user, password, 'app') });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function canLogin(user: string, password: string): Promise<boolean> {
  try {
    const c = await login(user, password);
    await c.query('SELECT 1');
    await c.end();
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  server = await startPostgres();
  key = generateKey('ed25519');
  await admin(async (c) => {
    await c.query('CREATE DATABASE app');
  }, 'postgres');
  await admin(async (c) => {
    await c.query('CREATE ROLE app_read NOLOGIN');
    await c.query('CREATE TABLE invoices (id int primary key, amount int)');
    await c.query('INSERT INTO invoices VALUES (1, 100)');
    await c.query('GRANT SELECT ON invoices TO app_read');
  });
  await server.allowGranting('app_read');
}, 60000);

afterAll(async () => {
  await server?.stop();
});

describe('postgres provider against a real server', () => {
  it('creates a login role whose delivered password works and reads what the policy role can', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-101' });
    const issued = await postgresProvider.issue(grant, ctx);

    expect(issued.facts).toMatchObject({
      role: 'gatepass_req_101',
      database: 'app',
      roles: ['app_read'],
    });
    const row = await roleRow('gatepass_req_101');
    expect(row).toBeDefined();
    expect(row!.rolcanlogin).toBe(true);
    expect(row!.rolvaliduntil.toISOString()).toBe(new Date(grant.expires_at!).toISOString());
    expect(row!.rolconnlimit).toBe(3);
    expect(row!.rolconfig).toEqual(['statement_timeout=300000']);
    expect(row!.comment).toBe('gatepass grant req-101');
    expect(row!.member_of).toEqual(['app_read']);

    const password = decryptDelivery(issued.delivery!.body);
    expect(ctx.masked).toContain(password);
    expect(JSON.stringify(issued)).not.toContain(password);
    expect(ctx.logs.join('\n')).not.toContain(password);

    const c = await login('gatepass_req_101', password);
    const r = await c.query('SELECT amount FROM invoices');
    expect(r.rows).toEqual([{ amount: 100 }]);
    await expect(c.query('DELETE FROM invoices')).rejects.toThrow(/permission denied/);
    await c.end();
    await postgresProvider.revoke(grant, ctx);
  });

  it('refuses the login once expires_at has passed', async () => {
    const ctx = context();
    const now = Date.now();
    const grant = buildGrant({
      id: 'req-102',
      issued_at: new Date(now).toISOString(),
      expires_at: new Date(now + 2000).toISOString(),
    });
    const issued = await postgresProvider.issue(grant, ctx);
    const password = decryptDelivery(issued.delivery!.body);
    expect(await canLogin('gatepass_req_102', password)).toBe(true);
    await new Promise((r) => setTimeout(r, 2600));
    expect(await canLogin('gatepass_req_102', password)).toBe(false);
    await postgresProvider.revoke(grant, ctx);
  });

  it('revoke ends an open session, drops the role and is idempotent', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-103' });
    const password = decryptDelivery((await postgresProvider.issue(grant, ctx)).delivery!.body);
    const session = await login('gatepass_req_103', password);
    await session.query('SELECT 1');

    await postgresProvider.revoke(grant, ctx);

    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(await roleRow('gatepass_req_103')).toBeUndefined();
    expect(await canLogin('gatepass_req_103', password)).toBe(false);
    await expect(postgresProvider.revoke(grant, ctx)).resolves.toBeUndefined();
    expect(ctx.logs.some((l) => l.includes('already gone'))).toBe(true);
  });

  it('re-issuing the same grant keeps one role and only the newest password works', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-104' });
    const first = decryptDelivery((await postgresProvider.issue(grant, ctx)).delivery!.body);
    const later = {
      ...grant,
      expires_at: new Date(Date.parse(grant.expires_at!) + 600_000).toISOString(),
    };
    const second = decryptDelivery((await postgresProvider.issue(later, ctx)).delivery!.body);

    expect(second).not.toBe(first);
    const count = await admin((c) =>
      c.query(`SELECT 1 FROM pg_roles WHERE rolname LIKE 'gatepass\\_req\\_104%'`),
    );
    expect(count.rowCount).toBe(1);
    expect((await roleRow('gatepass_req_104'))!.rolvaliduntil.toISOString()).toBe(later.expires_at);
    expect(await canLogin('gatepass_req_104', first)).toBe(false);
    expect(await canLogin('gatepass_req_104', second)).toBe(true);
    await postgresProvider.revoke(grant, ctx);
  });

  it('lists the roles it created, with their grant ids, and removes drift', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-106' });
    await postgresProvider.issue(grant, ctx);
    await admin((c) => c.query('CREATE ROLE bystander LOGIN'));

    const live = await postgresProvider.list!(ctx);
    expect(live).toEqual([
      {
        grantId: 'req-106',
        description: 'postgres role gatepass_req_106 (grant req-106)',
        key: 'gatepass_req_106',
      },
    ]);
    await postgresProvider.removeDrift!(live[0]!, ctx);
    expect(await postgresProvider.list!(ctx)).toEqual([]);
    await expect(
      postgresProvider.removeDrift!({ key: 'bystander', description: 'not ours' }, ctx),
    ).rejects.toThrow(/not created by gatepass/);
    expect(await roleRow('bystander')).toBeDefined();
  });

  it('quotes policy role names with odd characters instead of running them as SQL', async () => {
    const evil = 'x"; CREATE ROLE pwned SUPERUSER; --';
    await admin((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(evil)} NOLOGIN`));
    const ctx = context({ roles: [evil, "it's"] });
    await admin((c) => c.query(`CREATE ROLE "it's" NOLOGIN`));
    await server.allowGranting(evil);
    await server.allowGranting("it's");
    const grant = buildGrant({ id: 'req-107' });
    await postgresProvider.issue(grant, ctx);

    expect((await roleRow('gatepass_req_107'))!.member_of).toEqual([evil, "it's"].sort());
    expect(await roleRow('pwned')).toBeUndefined();
    await postgresProvider.revoke(grant, ctx);
  });

  it('refuses a grant id that would not make a safe role name, creating nothing', async () => {
    const ctx = context();
    const grant = buildGrant({ id: "req-1'; DROP ROLE postgres; --" });
    await expect(postgresProvider.issue(grant, ctx)).rejects.toThrow(ProviderError);
    expect(() => roleNameFor('req-"x')).toThrow(ProviderError);
    expect(ctx.keyRequests).toEqual([]);
  });

  it('creates nothing and says why when the requester has no key to encrypt to', async () => {
    const ecdsa = generateKey('ecdsa');
    const ctx = context({}, [ecdsa.publicKey]);
    const grant = buildGrant({ id: 'req-108' });
    await expect(postgresProvider.issue(grant, ctx)).rejects.toThrow(
      /alice has no SSH key on GitHub that the password can be encrypted to.*nothing was created/,
    );
    expect(await roleRow('gatepass_req_108')).toBeUndefined();
  });

  it('rolls back and leaks nothing when the database refuses (unknown policy role)', async () => {
    const ctx = context({ roles: ['no_such_role'] });
    const grant = buildGrant({ id: 'req-109' });
    const err = await postgresProvider.issue(grant, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toBe(
      'postgres: granting the policy roles for gatepass_req_109 failed (SQLSTATE 42704)',
    );
    expect(await roleRow('gatepass_req_109')).toBeUndefined();
    for (const secret of ctx.masked) expect((err as Error).message).not.toContain(secret);
  });

  it('reports a wrong admin password without echoing the URL', async () => {
    const bad = server.urlFor('postgres', 'wrong-secret', 'postgres');
    const ctx = buildContext({
      resource: buildResource('postgres', target()),
      env: { PG_ADMIN: bad },
      keys: [key.publicKey],
    });
    const err = await postgresProvider
      .revoke(buildGrant({ id: 'req-110' }), ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toMatch(
      /connecting to 127\.0\.0\.1:\d+\/app failed \(SQLSTATE 28P01\)/,
    );
    expect((err as Error).message).not.toContain('wrong-secret');
    expect(ctx.masked).toContain(bad);
  });
});
