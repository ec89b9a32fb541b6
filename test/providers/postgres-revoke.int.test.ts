/**
 * Issue #13 findings 2 and 3 against a real PostgreSQL (the embedded server, 16+), with the
 * documented least-privilege admin: revoke works whether or not the grantee created anything,
 * and nothing the grantee made runs with anyone else's rights afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { KEEPER_ROLE, PG16, postgresProvider, selfGrantSql } from '../../src/providers/postgres.js';
import { GATEPASS_ADMIN, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { buildContext, buildGrant, buildResource } from '../helpers/provider-context.js';
import { generateKey, type KeyPair } from '../helpers/ssh-keys.js';
import { runValidate } from '../../src/cli/validate.js';
import { copyAccessRepo } from '../helpers/cli.js';

let server: TestPostgres;
let key: KeyPair;

const context = (extra: Record<string, unknown> = {}, env?: Record<string, string>) =>
  buildContext({
    resource: buildResource('postgres', {
      admin_url: 'env:PG_ADMIN',
      database: 'app',
      roles: ['app_write'],
      ...extra,
    }),
    env: env ?? { PG_ADMIN: server.gatepassUrl() },
    keys: [key.publicKey],
  });

async function su<T>(fn: (c: pg.Client) => Promise<T>, database = 'app'): Promise<T> {
  const c = new pg.Client({ connectionString: server.adminUrl(database) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function password(body: string): string {
  const armored = /-----BEGIN AGE ENCRYPTED FILE-----[\s\S]+?-----END AGE ENCRYPTED FILE-----/.exec(
    body,
  )![0];
  return execFileSync('age', ['-d', '-i', key.privatePath], {
    input: armored + '\n',
    encoding: 'utf8',
  });
}

async function as<T>(
  user: string,
  pw: string,
  fn: (c: pg.Client) => Promise<T>,
  database = 'app',
): Promise<T> {
  const c = new pg.Client({ connectionString: server.urlFor(user, pw, database) });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The attack of finding 2: a SECURITY DEFINER function meant to run as its next owner. */
const PLANT = `CREATE FUNCTION public.backdoor() RETURNS void LANGUAGE sql SECURITY DEFINER
  AS $$ CREATE ROLE pwned LOGIN SUPERUSER PASSWORD 'x' $$`;

let bystanderPw: string;

beforeAll(async () => {
  server = await startPostgres();
  key = generateKey('ed25519');
  await su(async (c) => {
    await c.query('CREATE DATABASE app');
    await c.query('CREATE DATABASE other');
  }, 'postgres');
  await su(async (c) => {
    await c.query('CREATE ROLE app_write NOLOGIN');
    // A write role that may create in the schema (PUBLIC's default before PostgreSQL 15).
    await c.query('GRANT CREATE ON SCHEMA public TO app_write');
    bystanderPw = 'bystander-pw';
    await c.query(`CREATE ROLE bystander LOGIN PASSWORD '${bystanderPw}'`);
  });
  await su((c) => c.query('GRANT CREATE ON SCHEMA public TO app_write'), 'other');
  await server.allowGranting('app_write');
}, 60000);

afterAll(async () => {
  await server?.stop();
});

const superusers = () =>
  su(async (c) => {
    const r = await c.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY 1',
    );
    return r.rows.map((x) => x.rolname);
  });

describe('postgres revoke with the least-privilege admin (PostgreSQL 16+)', () => {
  it('the test admin really is the documented one: CREATEROLE, not a superuser', async () => {
    const row = await su(async (c) => {
      const r = await c.query(
        `SELECT rolsuper, rolcreaterole, current_setting('server_version_num')::int AS v
           FROM pg_roles WHERE rolname = $1`,
        [GATEPASS_ADMIN],
      );
      return r.rows[0] as { rolsuper: boolean; rolcreaterole: boolean; v: number };
    });
    expect(row).toEqual({ rolsuper: false, rolcreaterole: true, v: expect.any(Number) });
    expect(row.v).toBeGreaterThanOrEqual(PG16);
  });

  it('revokes a grantee who created nothing (finding 3: REASSIGN OWNED failed with 42501)', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-301' });
    const issued = await postgresProvider.issue(grant, ctx);
    const pw = password(issued.delivery!.body);
    const open = new pg.Client({ connectionString: server.urlFor('gatepass_req_301', pw, 'app') });
    open.on('error', () => undefined);
    await open.connect();

    await postgresProvider.revoke({ ...grant, issued: issued.facts }, ctx);

    await expect(open.query('SELECT 1')).rejects.toThrow();
    expect(
      await su((c) => c.query(`SELECT 1 FROM pg_roles WHERE rolname = 'gatepass_req_301'`)),
    ).toHaveProperty('rowCount', 0);
  });

  it('drops what the grantee created, in every database, so a planted SECURITY DEFINER function is gone (finding 2)', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-302' });
    const issued = await postgresProvider.issue(grant, ctx);
    const pw = password(issued.delivery!.body);
    await as('gatepass_req_302', pw, async (c) => {
      await c.query('CREATE TABLE loot (x int)');
      await c.query(PLANT);
      await c.query('GRANT EXECUTE ON FUNCTION public.backdoor() TO PUBLIC');
    });
    await as('gatepass_req_302', pw, (c) => c.query('CREATE TABLE elsewhere (x int)'), 'other');

    await postgresProvider.revoke({ ...grant, issued: issued.facts }, ctx);

    for (const db of ['app', 'other']) {
      const left = await su(
        (c) =>
          c.query(
            `SELECT proname FROM pg_proc WHERE proname = 'backdoor'
             UNION ALL SELECT relname FROM pg_class WHERE relname IN ('loot', 'elsewhere')`,
          ),
        db,
      );
      expect(left.rows).toEqual([]);
    }
    expect(ctx.logs.join('\n')).toMatch(
      /dropped role gatepass_req_302 and everything it owned in app, other/,
    );
    expect(await superusers()).toEqual(['postgres']);
  });

  it('keep_objects without CREATE for the keeper on the schema: says so, login already off', async () => {
    const ctx = context({ keep_objects: true });
    const grant = buildGrant({ id: 'req-300' });
    const issued = await postgresProvider.issue(grant, ctx);
    const pw = password(issued.delivery!.body);
    await as('gatepass_req_300', pw, async (c) => {
      await c.query('CREATE TABLE early (x int)');
      await c.query(PLANT.replace('backdoor', 'early_door'));
      await c.query('GRANT EXECUTE ON FUNCTION public.early_door() TO PUBLIC');
    });
    await expect(postgresProvider.revoke({ ...grant, issued: issued.facts }, ctx)).rejects.toThrow(
      /could not hand the objects of gatepass_req_300 in database app to gatepass_kept_objects .*needs CREATE on the schemas/,
    );
    await expect(as('gatepass_req_300', pw, (c) => c.query('SELECT 1'))).rejects.toThrow();
    // …and what it planted is already harmless while the role waits to be dropped.
    const planted = await su((c) =>
      c.query(
        `SELECT prosecdef, has_function_privilege('bystander', oid, 'EXECUTE') AS callable
           FROM pg_proc WHERE proname = 'early_door'`,
      ),
    );
    expect(planted.rows).toEqual([{ prosecdef: false, callable: false }]);
    // The documented one-time setup for keep_objects, then the revoke goes through.
    await su((c) => c.query(`GRANT CREATE ON SCHEMA public TO ${KEEPER_ROLE}`));
    await postgresProvider.revoke({ ...grant, issued: issued.facts }, ctx);
    await su((c) => c.query(`DROP TABLE early; DROP FUNCTION early_door()`));
  });

  it('keep_objects: the objects stay, owned by a powerless role, and the function runs with nobody’s rights', async () => {
    const ctx = context({ keep_objects: true });
    const grant = buildGrant({ id: 'req-303' });
    const issued = await postgresProvider.issue(grant, ctx);
    expect(issued.facts).toMatchObject({ keep_objects: true });
    const pw = password(issued.delivery!.body);
    await as('gatepass_req_303', pw, async (c) => {
      await c.query('CREATE TABLE notes (x int)');
      await c.query('INSERT INTO notes VALUES (7)');
      await c.query(PLANT);
      await c.query('GRANT EXECUTE ON FUNCTION public.backdoor() TO PUBLIC');
    });

    await postgresProvider.revoke({ ...grant, issued: issued.facts }, ctx);

    const fn = await su(async (c) => {
      const r = await c.query(
        `SELECT pg_get_userbyid(proowner) AS owner, prosecdef,
                has_function_privilege('bystander', oid, 'EXECUTE') AS bystander_can
           FROM pg_proc WHERE proname = 'backdoor'`,
      );
      return r.rows[0] as { owner: string; prosecdef: boolean; bystander_can: boolean };
    });
    expect(fn).toEqual({ owner: KEEPER_ROLE, prosecdef: false, bystander_can: false });
    const keeper = await su(async (c) => {
      const r = await c.query(
        `SELECT rolcanlogin, rolsuper, rolcreaterole,
                (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS member_of,
                (SELECT count(*)::int FROM pg_auth_members m
                   JOIN pg_roles a ON a.oid = m.member
                  WHERE m.roleid = r.oid AND a.rolname = $2) AS admin_inherits
           FROM pg_roles r WHERE rolname = $1`,
        [KEEPER_ROLE, GATEPASS_ADMIN],
      );
      return r.rows[0];
    });
    // The admin keeps only the ADMIN OPTION PostgreSQL gave it as the creator; it left the
    // inheriting membership it took for the reassignment.
    expect(keeper).toMatchObject({
      rolcanlogin: false,
      rolsuper: false,
      rolcreaterole: false,
      member_of: 0,
    });
    expect((keeper as { admin_inherits: number }).admin_inherits).toBeLessThanOrEqual(1);
    const notes = await su((c) =>
      c.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'notes'`),
    );
    expect(notes.rows).toEqual([{ tableowner: KEEPER_ROLE }]);
    // Whoever calls it now, it runs as the caller, and PUBLIC may not call it at all.
    await expect(
      as('bystander', bystanderPw, (c) => c.query('SELECT public.backdoor()')),
    ).rejects.toThrow(/permission denied/);
    expect(await superusers()).toEqual(['postgres']);

    // A second grant's objects join the same keeper.
    const second = buildGrant({ id: 'req-304' });
    const facts = (await postgresProvider.issue(second, ctx)).facts;
    await postgresProvider.revoke({ ...second, issued: facts }, ctx);
    expect(await postgresProvider.list!(ctx)).toEqual([]);
  });

  it('refuses to hand objects to a keeper role someone made powerful', async () => {
    await su((c) => c.query(`ALTER ROLE ${KEEPER_ROLE} LOGIN`));
    const ctx = context({ keep_objects: true });
    const grant = buildGrant({ id: 'req-305' });
    const facts = (await postgresProvider.issue(grant, ctx)).facts;
    await expect(postgresProvider.revoke({ ...grant, issued: facts }, ctx)).rejects.toThrow(
      /refusing to hand objects to gatepass_kept_objects/,
    );
    await su((c) => c.query(`ALTER ROLE ${KEEPER_ROLE} NOLOGIN`));
    await postgresProvider.revoke({ ...grant, issued: facts }, ctx);
  });

  it('warns at issue when the admin is a superuser', async () => {
    const ctx = context({}, { PG_ADMIN: server.adminUrl() });
    const grant = buildGrant({ id: 'req-306' });
    const facts = (await postgresProvider.issue(grant, ctx)).facts;
    expect(ctx.logs.join('\n')).toMatch(/WARNING: the admin role postgres is a superuser/);
    await postgresProvider.revoke({ ...grant, issued: facts }, ctx);
  });
});

describe('what the grant allows (issue #13)', () => {
  it('refuses a policy role that can create lasting access, creating nothing, unless allowed', async () => {
    await su(async (c) => {
      await c.query('CREATE ROLE role_maker NOLOGIN CREATEROLE');
      await c.query('CREATE ROLE via_member NOLOGIN');
      await c.query('GRANT role_maker TO via_member');
    });
    await server.allowGranting('via_member');
    const ctx = context({ roles: ['via_member'] });
    await expect(postgresProvider.issue(buildGrant({ id: 'req-321' }), ctx)).rejects.toThrow(
      /role_maker can create access that outlives the grant.*nothing was created.*allow_lasting_access/,
    );
    expect(
      await su((c) => c.query(`SELECT 1 FROM pg_roles WHERE rolname = 'gatepass_req_321'`)),
    ).toHaveProperty('rowCount', 0);
    expect(ctx.keyRequests).toHaveLength(1);

    const allowed = buildContext({
      ...{ resource: { ...ctx.resource, allow_lasting_access: true } },
      env: { PG_ADMIN: server.gatepassUrl() },
      keys: [key.publicKey],
    });
    const grant = buildGrant({ id: 'req-322' });
    const facts = (await postgresProvider.issue(grant, allowed)).facts;
    await postgresProvider.revoke({ ...grant, issued: facts }, allowed);
  });
});

describe('checking the admin before any grant (gatepass validate --check-targets)', () => {
  it('finds nothing wrong with the documented least-privilege admin', async () => {
    expect(await postgresProvider.checkTarget!(context())).toEqual({ problems: [], warnings: [] });
  });

  it('warns about a superuser admin', async () => {
    const r = await postgresProvider.checkTarget!(context({}, { PG_ADMIN: server.adminUrl() }));
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([
      'the admin role postgres is a superuser; use a CREATEROLE role (docs/providers.md, "The admin role")',
    ]);
  });

  it('says which policy role the admin cannot grant on PostgreSQL 16+, and which does not exist', async () => {
    await su((c) => c.query('CREATE ROLE not_granted NOLOGIN'));
    const r = await postgresProvider.checkTarget!(
      context({ roles: ['app_write', 'not_granted', 'missing_role'] }),
    );
    expect(r.problems).toEqual([
      `the admin role ${GATEPASS_ADMIN} cannot grant not_granted: on PostgreSQL 16+ it needs ADMIN OPTION on it (GRANT not_granted TO ${GATEPASS_ADMIN} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE)`,
      'policy role missing_role does not exist',
    ]);
  });

  it('runs from the CLI against the example access repo, failing only on problems', async () => {
    await su(async (c) => {
      await c.query('CREATE ROLE readonly NOLOGIN');
      await c.query('CREATE ROLE readwrite NOLOGIN');
    });
    await server.allowGranting('readonly');
    await server.allowGranting('readwrite');
    const repo = await copyAccessRepo();
    try {
      let out = '';
      let err = '';
      const io = {
        out: (t: string) => void (out += t),
        err: (t: string) => void (err += t),
        cwd: repo.dir,
      };
      expect(
        await runValidate(
          io,
          '.',
          { checkTargets: true },
          { PROD_PG_ADMIN_URL: server.gatepassUrl() },
        ),
      ).toBe(0);
      expect(out).toBe('');
      // The example repo also has AWS resources, whose checks cannot reach AWS here: those are
      // warnings about AWS only, never about the PostgreSQL targets this test is about.
      expect(err.split('\n').filter((l) => l !== '' && !/resource prod-aws-/.test(l))).toEqual([]);
      expect(
        await runValidate(
          io,
          '.',
          { checkTargets: true },
          { PROD_PG_ADMIN_URL: server.adminUrl() },
        ),
      ).toBe(0);
      expect(err).toMatch(
        /^warning: policies\/databases\.yaml:\d+: resource prod-db-readonly: the admin role postgres is a superuser/m,
      );
      err = '';
      expect(await runValidate(io, '.', { checkTargets: true }, {})).toBe(1);
      // Problems go to stderr, like every CLI problem.
      expect(err).toMatch(/resource prod-db-readonly: .*env:PROD_PG_ADMIN_URL is not set/);
    } finally {
      await repo.cleanup();
    }
  });
});

describe('postgres revoke acts on the target recorded at issue (finding 5)', () => {
  it('records admin reference, server, database, roles and object policy', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-311' });
    const facts = (await postgresProvider.issue(grant, ctx)).facts;
    expect(facts).toMatchObject({
      role: 'gatepass_req_311',
      admin_url: 'env:PG_ADMIN',
      server: `127.0.0.1:${server.port}`,
      database: 'app',
      roles: ['app_write'],
      keep_objects: false,
    });
    // The policy now names another database: the revoke still cleans up where it issued.
    const moved = context({ database: 'other' });
    const pw = password(
      (await postgresProvider.issue({ ...grant, id: 'req-312' }, ctx)).delivery!.body,
    );
    await as('gatepass_req_312', pw, (c) => c.query('CREATE TABLE in_app (x int)'));
    const facts312 = { ...facts, role: 'gatepass_req_312' };
    await postgresProvider.revoke({ ...grant, id: 'req-312', issued: facts312 }, moved);
    expect(
      await su((c) => c.query(`SELECT 1 FROM pg_class WHERE relname = 'in_app'`)),
    ).toHaveProperty('rowCount', 0);
    await postgresProvider.revoke({ ...grant, issued: facts }, moved);
  });

  it('refuses to act when the admin URL now points at another server', async () => {
    const ctx = context();
    const grant = buildGrant({ id: 'req-313' });
    const facts = (await postgresProvider.issue(grant, ctx)).facts;
    await expect(
      postgresProvider.revoke({ ...grant, issued: { ...facts, server: 'db.elsewhere:5432' } }, ctx),
    ).rejects.toThrow(/role was created on db\.elsewhere:5432; .*will not act on another server/);
    await postgresProvider.revoke({ ...grant, issued: facts }, ctx);
  });
});

describe('the SQL the admin uses to take on a grant role, by server version', () => {
  it('PostgreSQL 16+: an inheriting membership granted with its ADMIN OPTION', () => {
    expect(selfGrantSql(160000, '"gatepass_req_1"')).toBe(
      'GRANT "gatepass_req_1" TO CURRENT_USER WITH INHERIT TRUE',
    );
    expect(selfGrantSql(180001, '"r"')).toBe('GRANT "r" TO CURRENT_USER WITH INHERIT TRUE');
  });

  it('before 16: a plain membership (CREATEROLE may grant it; roles inherit by default)', () => {
    expect(selfGrantSql(150007, '"gatepass_req_1"')).toBe('GRANT "gatepass_req_1" TO CURRENT_USER');
    expect(selfGrantSql(130000, '"r"')).toBe('GRANT "r" TO CURRENT_USER');
  });
});
