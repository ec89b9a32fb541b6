import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Grant } from '../core/grant.js';
import type { Problem } from '../core/problem.js';
import { ConfigurationError, ProviderError } from '../core/errors.js';
import { formatPerson } from '../core/identity.js';
import { encryptToSshKeys, hasAgeRecipient } from './age-ssh.js';
import {
  type Issued,
  type LiveAccess,
  type Provider,
  type ProviderContext,
  resolveSecretRef,
} from './provider.js';
import { checkEnvRef, checkStringList, parseTimeout, problem } from './target-checks.js';

/*
 * One LOGIN role per grant, so overlapping grants never share (or take away) a credential.
 * Expiry is native (`VALID UNTIL`); revoke also ends open sessions, which VALID UNTIL does not.
 *
 * Order in `issue`, chosen so a failure leaves nothing behind: fetch the requester's keys and
 * encrypt the new password first (no usable key → nothing is created), then create or update
 * the role in one transaction (role DDL is transactional in PostgreSQL), and only then return
 * the ciphertext for delivery.
 */

export interface PostgresTarget {
  admin_url: string;
  database: string;
  roles: string[];
  connection_limit: number;
  /** Seconds, or undefined to leave the server default. */
  statement_timeout?: number;
  /** Keep what the grantee created, owned by a powerless role, instead of dropping it. */
  keep_objects: boolean;
}

export const ROLE_PREFIX = 'gatepass_';
/**
 * Owner of objects kept from ended grants (`keep_objects: true`): NOLOGIN, member of nothing,
 * holding no privileges, so nothing it owns runs with anyone's rights.
 */
export const KEEPER_ROLE = 'gatepass_kept_objects';
const KEEPER_COMMENT = 'gatepass: owns objects kept from ended grants; holds no privileges';
/** PostgreSQL 16 changed who may grant roles and what CREATEROLE allows. */
export const PG16 = 160000;
const COMMENT_PREFIX = 'gatepass grant ';
const MAX_IDENTIFIER = 63;
const DEFAULT_CONNECTION_LIMIT = 5;
const ROLE_NAME = /^gatepass_[a-z0-9_]{1,54}$/;

export function validatePostgresTarget(target: Record<string, unknown>): Problem[] {
  const out: Problem[] = [...checkEnvRef(target, 'admin_url')];
  const db = target.database;
  if (typeof db !== 'string' || db.length === 0 || Buffer.byteLength(db) > MAX_IDENTIFIER)
    out.push(problem('database', 'must be a database name of 1 to 63 bytes'));
  else if (db.includes('\0')) out.push(problem('database', 'must not hold a NUL character'));
  out.push(...checkStringList(target, 'roles', { required: true, maxLength: MAX_IDENTIFIER }));
  if (Array.isArray(target.roles)) {
    target.roles.forEach((r, i) => {
      if (typeof r !== 'string') return;
      if (r.toLowerCase().startsWith(ROLE_PREFIX))
        out.push(
          problem(
            `roles[${i}]`,
            `must not start with ${ROLE_PREFIX}: those are gatepass's own per-grant roles`,
          ),
        );
      if (/^(postgres|pg_.*|public|current_user|session_user|current_role)$/i.test(r))
        out.push(
          problem(
            `roles[${i}]`,
            `${JSON.stringify(r)} is a built-in or superuser role; grant a purpose-made role instead`,
          ),
        );
    });
  }
  const limit = target.connection_limit;
  if (
    limit !== undefined &&
    (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 1000)
  )
    out.push(problem('connection_limit', 'must be a whole number from 1 to 1000'));
  if (target.statement_timeout !== undefined) {
    const t = parseTimeout(target.statement_timeout, 1, 24 * 3600);
    if (!t.ok) out.push(problem('statement_timeout', t.problems.map((p) => p.message).join('; ')));
  }
  if (target.keep_objects !== undefined && typeof target.keep_objects !== 'boolean')
    out.push(problem('keep_objects', 'must be true or false'));
  return out;
}

function readTarget(ctx: ProviderContext): PostgresTarget {
  const t = ctx.resource.target;
  const problems = validatePostgresTarget(t);
  if (problems.length > 0)
    throw new ConfigurationError(
      `resource ${ctx.resource.name}: ${problems.map((p) => p.message).join('; ')}`,
    );
  const timeout =
    t.statement_timeout === undefined ? undefined : parseTimeout(t.statement_timeout, 1, 86400);
  return {
    admin_url: t.admin_url as string,
    database: t.database as string,
    roles: t.roles as string[],
    connection_limit: (t.connection_limit as number | undefined) ?? DEFAULT_CONNECTION_LIMIT,
    statement_timeout: timeout?.ok ? timeout.value : undefined,
    keep_objects: t.keep_objects === true,
  };
}

/**
 * Where a revoke or an extension acts: the admin reference, database, server and object
 * policy recorded when the grant was issued, never today's policy (a changed target must not
 * leave the old role behind). Grants issued before these were recorded use the policy's.
 */
interface Recorded {
  admin_url: string;
  database: string;
  /** `host:port` the role was created on; checked against the admin URL before acting. */
  server?: string;
  keep_objects: boolean;
}

function recordedTarget(grant: Grant, ctx: ProviderContext): Recorded {
  const f = grant.issued ?? {};
  if (typeof f.admin_url === 'string' && typeof f.database === 'string')
    return {
      admin_url: f.admin_url,
      database: f.database,
      ...(typeof f.server === 'string' ? { server: f.server } : {}),
      keep_objects: f.keep_objects === true,
    };
  ctx.log(
    `postgres: grant ${grant.id} has no recorded target (issued before gatepass recorded it); using the policy's current target`,
  );
  const t = readTarget(ctx);
  return {
    admin_url: t.admin_url,
    database: typeof f.database === 'string' ? f.database : t.database,
    keep_objects: t.keep_objects,
  };
}

const serverOf = (url: URL): string => `${url.hostname}:${url.port || '5432'}`;

/** `req-42` → `gatepass_req_42`; anything that would not be a boring identifier is refused. */
export function roleNameFor(grantId: string): string {
  const name = ROLE_PREFIX + grantId.toLowerCase().replace(/-/g, '_');
  if (!ROLE_NAME.test(name) || name === KEEPER_ROLE)
    throw new ProviderError(
      `grant id ${JSON.stringify(grantId)} cannot be turned into a safe PostgreSQL role name`,
    );
  return name;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password. Sending the verifier instead of
 * the password means the plaintext never reaches the server, its statement log or an error.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

interface AdminConnection {
  client: pg.Client;
  url: URL;
}

function adminUrl(
  target: Pick<PostgresTarget, 'admin_url' | 'database'>,
  ctx: ProviderContext,
): URL {
  const raw = resolveSecretRef(target.admin_url, ctx.env);
  if (raw === undefined)
    throw new ConfigurationError(
      `resource ${ctx.resource.name}: ${target.admin_url} is not set in the environment`,
    );
  ctx.mask(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(
      `resource ${ctx.resource.name}: ${target.admin_url} is not a postgres:// URL`,
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new ConfigurationError(
      `resource ${ctx.resource.name}: ${target.admin_url} is not a postgres:// URL`,
    );
  if (url.password) ctx.mask(decodeURIComponent(url.password));
  // DROP/REASSIGN OWNED act on the current database only, so start in the target database.
  url.pathname = `/${encodeURIComponent(target.database)}`;
  return url;
}

/**
 * pg errors can quote the statement or connection details; keep only the SQLSTATE and a
 * message we wrote, so nothing secret can travel in an error.
 */
function wrap(what: string, e: unknown): ProviderError {
  const code =
    typeof e === 'object' && e !== null && 'code' in e
      ? String((e as { code: unknown }).code)
      : undefined;
  return new ProviderError(`postgres: ${what} failed${code ? ` (SQLSTATE ${code})` : ''}`);
}

async function connect(
  target: Pick<PostgresTarget, 'admin_url' | 'database'>,
  ctx: ProviderContext,
): Promise<AdminConnection> {
  const url = adminUrl(target, ctx);
  return connectUrl(url, target.database);
}

async function connectUrl(url: URL, database: string): Promise<AdminConnection> {
  const client = new pg.Client({
    connectionString: url.toString(),
    connectionTimeoutMillis: 15000,
  });
  // An idle client's socket error would otherwise crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw wrap(`connecting to ${url.hostname}:${url.port || 5432}/${database}`, e);
  }
  return { client, url };
}

async function withAdmin<T>(
  target: Pick<PostgresTarget, 'admin_url' | 'database'> & { server?: string },
  ctx: ProviderContext,
  fn: (c: pg.Client, url: URL) => Promise<T>,
): Promise<T> {
  const { client, url } = await connect(target, ctx);
  try {
    if (target.server !== undefined && serverOf(url) !== target.server)
      throw new ProviderError(
        `postgres: ${target.admin_url} now points at ${serverOf(url)}, but the grant's role was created on ${target.server}; ` +
          'point it back (or revoke by hand there) — gatepass will not act on another server',
      );
    return await fn(client, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function roleExists(c: pg.Client, role: string): Promise<boolean> {
  const r = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  return (r.rowCount ?? 0) > 0;
}

/** Only roles gatepass made may be dropped: those carrying the comment it left on them. */
async function isGatepassRole(c: pg.Client, role: string): Promise<boolean> {
  const r = await c.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`,
    [role],
  );
  const row = r.rows[0];
  // The comment, set in the transaction that creates the role, is the mark: a name alone is
  // not (an adopter's admin may well be called gatepass_admin).
  if (!row || role === KEEPER_ROLE) return false;
  return (row.comment ?? '').startsWith(COMMENT_PREFIX);
}

/**
 * How the admin takes on the privileges of a role it must clean up after. DROP OWNED, REASSIGN
 * OWNED and ending another role's sessions need the privileges of that role. On PostgreSQL 16+
 * a CREATEROLE admin holds only ADMIN OPTION on the roles it created (no INHERIT), and grants
 * itself an inheriting membership, as their grantor; before 16, CREATEROLE may grant any
 * non-superuser role, and a plain membership is inherited (roles INHERIT by default).
 */
export function selfGrantSql(serverVersion: number, quotedRole: string): string {
  return serverVersion >= PG16
    ? `GRANT ${quotedRole} TO CURRENT_USER WITH INHERIT TRUE`
    : `GRANT ${quotedRole} TO CURRENT_USER`;
}

interface Admin {
  name: string;
  superuser: boolean;
  version: number;
}

async function whoAmI(c: pg.Client): Promise<Admin> {
  const r = await c.query<{ name: string; superuser: boolean; version: string }>(
    `SELECT current_user AS name, r.rolsuper AS superuser,
            current_setting('server_version_num') AS version
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const row = r.rows[0]!;
  return { name: row.name, superuser: row.superuser, version: Number(row.version) };
}

/**
 * Policy roles (or roles they belong to) that let a member create access outliving the grant:
 * role attributes, or the ADMIN OPTION on another role.
 */
async function lastingRoles(c: pg.Client, roles: readonly string[]): Promise<string[]> {
  const r = await c.query<{ rolname: string }>(
    `WITH RECURSIVE reach(oid) AS (
       SELECT oid FROM pg_roles WHERE rolname = ANY($1)
       UNION SELECT m.roleid FROM pg_auth_members m JOIN reach ON m.member = reach.oid
     )
     SELECT rolname FROM pg_roles p WHERE p.oid IN (SELECT oid FROM reach)
       AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls
            OR EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = p.oid AND m.admin_option))
     ORDER BY 1`,
    [roles],
  );
  return r.rows.map((row) => row.rolname);
}

/** Databases where the role owns something or holds a privilege (the shared catalog knows all). */
async function databasesOf(c: pg.Client, role: string): Promise<string[]> {
  const r = await c.query<{ datname: string }>(
    `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
      WHERE s.refclassid = 'pg_authid'::regclass
        AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)
      ORDER BY 1`,
    [role],
  );
  return r.rows.map((row) => row.datname);
}

/** Creates the keeper role, or checks that the existing one is still powerless. */
async function ensureKeeper(c: pg.Client, admin: Admin): Promise<void> {
  const id = c.escapeIdentifier(KEEPER_ROLE);
  const r = await c.query<{
    rolcanlogin: boolean;
    rolsuper: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
    rolreplication: boolean;
    rolbypassrls: boolean;
    memberships: string;
  }>(
    `SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,
            (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid) AS memberships
       FROM pg_roles r WHERE rolname = $1`,
    [KEEPER_ROLE],
  );
  const row = r.rows[0];
  if (!row) {
    await c.query(`CREATE ROLE ${id} NOLOGIN NOINHERIT`);
    await c.query(`COMMENT ON ROLE ${id} IS ${c.escapeLiteral(KEEPER_COMMENT)}`);
  } else if (
    row.rolcanlogin ||
    row.rolsuper ||
    row.rolcreaterole ||
    row.rolcreatedb ||
    row.rolreplication ||
    row.rolbypassrls ||
    Number(row.memberships) > 0
  ) {
    throw new ProviderError(
      `postgres: refusing to hand objects to ${KEEPER_ROLE}: it can log in, has a role attribute or is a member of a role; make it NOLOGIN and a member of nothing`,
    );
  }
  if (!admin.superuser) await c.query(selfGrantSql(admin.version, id));
}

/**
 * In one database: with `keep`, hands what the role owns to the keeper and makes every routine
 * it owned harmless (SECURITY INVOKER, no EXECUTE for PUBLIC); then drops what the role still
 * owns and every privilege granted to it.
 */
async function cleanDatabase(c: pg.Client, role: string, keep: boolean): Promise<void> {
  const id = c.escapeIdentifier(role);
  if (keep) {
    const routines = await c.query<{ sig: string; secdef: boolean }>(
      `SELECT p.oid::regprocedure::text AS sig, p.prosecdef AS secdef FROM pg_proc p
        WHERE p.proowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
      [role],
    );
    // Made harmless first, while the grant role (whose privileges the admin took on) still owns
    // them: should the reassignment fail, nothing is left that runs with anyone else's rights.
    for (const r of routines.rows) {
      if (r.secdef) await c.query(`ALTER ROUTINE ${r.sig} SECURITY INVOKER`);
      await c.query(`REVOKE ALL ON ROUTINE ${r.sig} FROM PUBLIC`);
    }
    try {
      await c.query(`REASSIGN OWNED BY ${id} TO ${c.escapeIdentifier(KEEPER_ROLE)}`);
    } catch (e) {
      if ((e as { code?: string }).code !== '42501') throw e;
      throw new ProviderError(
        `postgres: could not hand the objects of ${role} in database ${c.database ?? '?'} to ${KEEPER_ROLE} (SQLSTATE 42501): ` +
          `it needs CREATE on the schemas they are in (docs/providers.md, keep_objects); login is already disabled`,
      );
    }
  }
  await c.query(`DROP OWNED BY ${id}`);
}

/**
 * Ends a grant's role: no new logins, no open sessions, nothing it made left running with
 * anyone else's rights, then the role itself. Nothing is ever reassigned to the admin.
 */
async function dropRole(
  c: pg.Client,
  url: URL,
  role: string,
  ctx: ProviderContext,
  keep: boolean,
): Promise<void> {
  let step = 'checking the role';
  let where = url.pathname.slice(1);
  try {
    if (!(await roleExists(c, role))) {
      ctx.log(`postgres: role ${role} is already gone`);
      return;
    }
    if (!(await isGatepassRole(c, role)))
      throw new ProviderError(`postgres: refusing to drop ${role}: it was not created by gatepass`);
    const id = c.escapeIdentifier(role);
    const admin = await whoAmI(c);
    // Refuse new logins first, so nothing reconnects between terminating and dropping.
    step = 'disabling login';
    await c.query(`ALTER ROLE ${id} NOLOGIN`);
    if (!admin.superuser) {
      step = "taking on the role's privileges";
      await c.query(selfGrantSql(admin.version, id));
    }
    step = 'terminating sessions';
    const killed = await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [role],
    );
    if (keep) {
      step = `preparing ${KEEPER_ROLE}`;
      await ensureKeeper(c, admin);
    }
    const here = decodeURIComponent(url.pathname.slice(1));
    const databases = [...new Set([here, ...(await databasesOf(c, role))])];
    for (const db of databases) {
      where = db;
      step = keep ? 'keeping and dropping owned objects' : 'dropping owned objects';
      if (db === here) {
        await cleanDatabase(c, role, keep);
        continue;
      }
      const other = new URL(url.toString());
      other.pathname = `/${encodeURIComponent(db)}`;
      const { client } = await connectUrl(other, db);
      try {
        await cleanDatabase(client, role, keep);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    where = here;
    step = 'dropping the role';
    await c.query(`DROP ROLE IF EXISTS ${id}`);
    if (keep && !admin.superuser) {
      step = `leaving ${KEEPER_ROLE}`;
      await c.query(`REVOKE ${c.escapeIdentifier(KEEPER_ROLE)} FROM CURRENT_USER`);
    }
    ctx.log(
      `postgres: dropped role ${role}${keep ? ` (its objects now belong to ${KEEPER_ROLE})` : ' and everything it owned'} in ${databases.join(', ')} (${killed.rowCount ?? 0} session(s) terminated)`,
    );
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    // A concurrent revoke got there first: gone is what we wanted.
    if ((e as { code?: string }).code === '42704') return;
    throw wrap(`${step} for ${role} in database ${where}`, e);
  }
}

function deliveryBody(args: {
  resource: string;
  role: string;
  url: URL;
  database: string;
  expiresAt: string;
  ciphertext: string;
}): string {
  const host = args.url.hostname;
  const port = args.url.port || '5432';
  return [
    `PostgreSQL access to **${args.resource}** is ready until **${args.expiresAt}**.`,
    '',
    `- user: \`${args.role}\``,
    `- database: \`${args.database}\` on \`${host}:${port}\``,
    '',
    'The password is encrypted to your SSH keys on GitHub; only your private key can read it.',
    'Save the block below as `password.age`, then:',
    '',
    '```sh',
    `PGPASSWORD="$(age -d -i ~/.ssh/id_ed25519 < password.age)" psql "host=${host} port=${port} dbname=${args.database} user=${args.role}"`,
    '```',
    '',
    '(use `~/.ssh/id_rsa` if that is your key). The login stops working at the expiry above.',
    '',
    '```',
    args.ciphertext.trimEnd(),
    '```',
  ].join('\n');
}

export const postgresProvider: Provider = {
  kind: 'postgres',

  validateTarget: validatePostgresTarget,

  async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
    const target = readTarget(ctx);
    const role = roleNameFor(grant.id);
    const expires = grant.expires_at === undefined ? NaN : Date.parse(grant.expires_at);
    if (Number.isNaN(expires))
      throw new ProviderError(
        `postgres: grant ${grant.id} has no valid expires_at; nothing was created`,
      );
    const validUntil = new Date(expires).toISOString();

    const keys = await ctx.publicKeys(grant.requester);
    if (!hasAgeRecipient(keys)) {
      throw new ProviderError(
        `${grant.requester.login} has no SSH key on GitHub that the password can be encrypted to ` +
          '(an ssh-ed25519 key, or ssh-rsa of at least 2048 bits); nothing was created. ' +
          'Add one at https://github.com/settings/keys and retry.',
      );
    }
    const password = randomBytes(24).toString('base64url');
    ctx.mask(password);
    const encrypted = await encryptToSshKeys(password, keys);
    if (!encrypted.ok)
      throw new ProviderError(
        `postgres: ${encrypted.problems.map((p) => p.message).join('; ')}; nothing was created`,
      );

    const { client: c, url } = await connect(target, ctx);
    let existed: boolean;
    try {
      const id = c.escapeIdentifier(role);
      const login =
        `LOGIN PASSWORD ${c.escapeLiteral(scramVerifier(password))} ` +
        `VALID UNTIL ${c.escapeLiteral(validUntil)} CONNECTION LIMIT ${target.connection_limit}`;
      // Set at creation only: on PostgreSQL 16+ a CREATEROLE admin may not name SUPERUSER,
      // REPLICATION or BYPASSRLS (not even to say NO) in ALTER ROLE without holding them.
      const attrs = `NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT ${login}`;
      let step = 'checking the admin role';
      try {
        const admin = await whoAmI(c);
        if (admin.superuser)
          ctx.log(
            `postgres: WARNING: the admin role ${admin.name} is a superuser; use a CREATEROLE role instead (docs/providers.md)`,
          );
        step = 'checking what the policy roles allow';
        const lasting = await lastingRoles(c, target.roles);
        if (lasting.length > 0 && ctx.resource.allow_lasting_access !== true)
          throw new ProviderError(
            `postgres: ${lasting.join(', ')} can create access that outlives the grant (superuser, createrole, createdb, replication, bypassrls or admin option, directly or through a role it belongs to); nothing was created. Grant a narrower role, or set allow_lasting_access: true on the resource`,
          );
        step = 'starting the transaction';
        await c.query('BEGIN');
        step = 'checking the role';
        existed = await roleExists(c, role);
        if (existed) {
          if (!(await isGatepassRole(c, role)))
            throw new ProviderError(
              `postgres: role ${role} exists but was not created by gatepass`,
            );
          step = 'checking the role attributes';
          const a = await c.query<{ elevated: boolean }>(
            `SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls AS elevated
               FROM pg_roles WHERE rolname = $1`,
            [role],
          );
          if (a.rows[0]?.elevated)
            throw new ProviderError(
              `postgres: role ${role} has gained a role attribute (superuser, createdb, createrole, replication or bypassrls); refusing to renew it`,
            );
          step = 'updating the role';
          await c.query(`ALTER ROLE ${id} WITH ${login}`);
        } else {
          step = 'creating the role';
          await c.query(`CREATE ROLE ${id} WITH ${attrs}`);
        }
        step = 'granting the policy roles';
        await c.query(
          `GRANT ${target.roles.map((r) => c.escapeIdentifier(r)).join(', ')} TO ${id}`,
        );
        step = 'marking the role';
        await c.query(`COMMENT ON ROLE ${id} IS ${c.escapeLiteral(COMMENT_PREFIX + grant.id)}`);
        step = 'setting the statement timeout';
        if (target.statement_timeout === undefined)
          await c.query(`ALTER ROLE ${id} RESET statement_timeout`);
        else
          await c.query(
            `ALTER ROLE ${id} SET statement_timeout = ${target.statement_timeout * 1000}`,
          );
        step = 'committing';
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        if (e instanceof ProviderError) throw e;
        throw wrap(`${step} for ${role}`, e);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
    ctx.log(
      `postgres: ${existed ? 'renewed' : 'created'} role ${role} for ${formatPerson(grant.requester)} until ${validUntil}`,
    );
    return {
      facts: {
        role,
        admin_url: target.admin_url,
        server: serverOf(url),
        database: target.database,
        roles: [...target.roles],
        keep_objects: target.keep_objects,
        valid_until: validUntil,
        connection_limit: target.connection_limit,
      },
      delivery: {
        title: `PostgreSQL login for ${ctx.resource.name}`,
        body: deliveryBody({
          resource: ctx.resource.name,
          role,
          url,
          database: target.database,
          expiresAt: validUntil,
          ciphertext: encrypted.value,
        }),
      },
    };
  },

  async extend(grant: Grant, ctx: ProviderContext): Promise<Issued> {
    const target = recordedTarget(grant, ctx);
    const role = roleNameFor(grant.id);
    const expires = grant.expires_at === undefined ? NaN : Date.parse(grant.expires_at);
    if (Number.isNaN(expires))
      throw new ProviderError(`postgres: grant ${grant.id} has no valid expires_at to extend to`);
    const validUntil = new Date(expires).toISOString();
    await withAdmin(target, ctx, async (c) => {
      // Only our own role, and only its expiry: the password and sessions stay as they are.
      if (!(await roleExists(c, role)) || !(await isGatepassRole(c, role)))
        throw new ProviderError(`postgres: role ${role} of grant ${grant.id} does not exist`);
      try {
        await c.query(
          `ALTER ROLE ${c.escapeIdentifier(role)} VALID UNTIL ${c.escapeLiteral(validUntil)}`,
        );
      } catch (e) {
        throw wrap(`extending ${role}`, e);
      }
    });
    ctx.log(`postgres: role ${role} now valid until ${validUntil}`);
    return { facts: { valid_until: validUntil } };
  },

  async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
    const target = recordedTarget(grant, ctx);
    const role = roleNameFor(grant.id);
    await withAdmin(target, ctx, (c, url) => dropRole(c, url, role, ctx, target.keep_objects));
  },

  async checkTarget(ctx: ProviderContext): Promise<{ problems: string[]; warnings: string[] }> {
    const target = readTarget(ctx);
    const problems: string[] = [];
    const warnings: string[] = [];
    await withAdmin(target, ctx, async (c) => {
      try {
        const admin = await whoAmI(c);
        const attrs = await c.query<{ rolcreaterole: boolean }>(
          'SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user',
        );
        if (admin.superuser)
          warnings.push(
            `the admin role ${admin.name} is a superuser; use a CREATEROLE role (docs/providers.md, "The admin role")`,
          );
        else if (!attrs.rows[0]?.rolcreaterole)
          problems.push(`the admin role ${admin.name} lacks CREATEROLE`);
        const roles = await c.query<{ rolname: string; admin: boolean }>(
          `SELECT r.rolname, EXISTS (SELECT 1 FROM pg_auth_members m
                    WHERE m.roleid = r.oid AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                      AND m.admin_option) AS admin
             FROM pg_roles r WHERE r.rolname = ANY($1)`,
          [target.roles],
        );
        for (const role of target.roles) {
          const row = roles.rows.find((r) => r.rolname === role);
          if (!row) problems.push(`policy role ${role} does not exist`);
          else if (!admin.superuser && admin.version >= PG16 && !row.admin)
            problems.push(
              `the admin role ${admin.name} cannot grant ${role}: on PostgreSQL 16+ it needs ADMIN OPTION on it (GRANT ${role} TO ${admin.name} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE)`,
            );
        }
        const lasting = await lastingRoles(c, target.roles);
        if (lasting.length > 0 && ctx.resource.allow_lasting_access !== true)
          problems.push(
            `${lasting.join(', ')} can create access that outlives a grant; set allow_lasting_access: true to accept it`,
          );
      } catch (e) {
        throw wrap('checking the admin role', e);
      }
    });
    return { problems, warnings };
  },

  async list(ctx: ProviderContext): Promise<LiveAccess[]> {
    const target = readTarget(ctx);
    return withAdmin(target, ctx, async (c) => {
      let rows: { rolname: string; comment: string | null }[];
      try {
        const r = await c.query<{ rolname: string; comment: string | null }>(
          `SELECT rolname, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles
            WHERE shobj_description(oid, 'pg_authid') LIKE 'gatepass grant %'
              AND rolname <> $1 AND rolname <> current_user
            ORDER BY rolname`,
          [KEEPER_ROLE],
        );
        rows = r.rows;
      } catch (e) {
        throw wrap('listing roles', e);
      }
      return rows.map((row) => {
        const grantId = row.comment?.startsWith(COMMENT_PREFIX)
          ? row.comment.slice(COMMENT_PREFIX.length)
          : undefined;
        return {
          ...(grantId ? { grantId } : {}),
          description: `postgres role ${row.rolname}${grantId ? ` (grant ${grantId})` : ''}`,
          key: row.rolname,
        };
      });
    });
  },

  async removeDrift(access: LiveAccess, ctx: ProviderContext): Promise<void> {
    const target = readTarget(ctx);
    await withAdmin(target, ctx, (c, url) =>
      dropRole(c, url, access.key, ctx, target.keep_objects),
    );
  },
};

export default postgresProvider;
