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
}

export const ROLE_PREFIX = 'gatepass_';
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
  };
}

/** `req-42` → `gatepass_req_42`; anything that would not be a boring identifier is refused. */
export function roleNameFor(grantId: string): string {
  const name = ROLE_PREFIX + grantId.toLowerCase().replace(/-/g, '_');
  if (!ROLE_NAME.test(name))
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

function adminUrl(target: PostgresTarget, ctx: ProviderContext): URL {
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
  // REASSIGN/DROP OWNED act on the current database only, so work in the target database.
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

async function connect(target: PostgresTarget, ctx: ProviderContext): Promise<AdminConnection> {
  const url = adminUrl(target, ctx);
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
    throw wrap(`connecting to ${url.hostname}:${url.port || 5432}/${target.database}`, e);
  }
  return { client, url };
}

async function withAdmin<T>(
  target: PostgresTarget,
  ctx: ProviderContext,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const { client } = await connect(target, ctx);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function roleExists(c: pg.Client, role: string): Promise<boolean> {
  const r = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  return (r.rowCount ?? 0) > 0;
}

/** Only roles gatepass made may be dropped: by prefix, or by the comment it left on them. */
async function isGatepassRole(c: pg.Client, role: string): Promise<boolean> {
  const r = await c.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`,
    [role],
  );
  const row = r.rows[0];
  if (!row) return false;
  return ROLE_NAME.test(role) || (row.comment ?? '').startsWith(COMMENT_PREFIX);
}

async function dropRole(c: pg.Client, role: string, ctx: ProviderContext): Promise<void> {
  let step = 'checking the role';
  try {
    if (!(await roleExists(c, role))) {
      ctx.log(`postgres: role ${role} is already gone`);
      return;
    }
    if (!(await isGatepassRole(c, role)))
      throw new ProviderError(`postgres: refusing to drop ${role}: it was not created by gatepass`);
    const id = c.escapeIdentifier(role);
    // Refuse new logins first, so nothing reconnects between terminating and dropping.
    step = 'disabling login';
    await c.query(`ALTER ROLE ${id} NOLOGIN`);
    step = 'terminating sessions';
    const killed = await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      [role],
    );
    step = 'reassigning owned objects';
    const me = await c.query<{ u: string }>('SELECT current_user AS u');
    const admin = c.escapeIdentifier(me.rows[0]!.u);
    await c.query(`REASSIGN OWNED BY ${id} TO ${admin}`);
    step = 'dropping owned privileges';
    await c.query(`DROP OWNED BY ${id}`);
    step = 'dropping the role';
    await c.query(`DROP ROLE IF EXISTS ${id}`);
    ctx.log(`postgres: dropped role ${role} (${killed.rowCount ?? 0} session(s) terminated)`);
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    // A concurrent revoke got there first: gone is what we wanted.
    if ((e as { code?: string }).code === '42704') return;
    throw wrap(`${step} for ${role}`, e);
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
      const attrs =
        `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT ` +
        `PASSWORD ${c.escapeLiteral(scramVerifier(password))} ` +
        `VALID UNTIL ${c.escapeLiteral(validUntil)} CONNECTION LIMIT ${target.connection_limit}`;
      let step = 'starting the transaction';
      try {
        await c.query('BEGIN');
        step = 'checking the role';
        existed = await roleExists(c, role);
        if (existed) {
          if (!(await isGatepassRole(c, role)))
            throw new ProviderError(
              `postgres: role ${role} exists but was not created by gatepass`,
            );
          step = 'updating the role';
          await c.query(`ALTER ROLE ${id} WITH ${attrs}`);
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
        database: target.database,
        roles: [...target.roles],
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
    const target = readTarget(ctx);
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
    const target = readTarget(ctx);
    const role = roleNameFor(grant.id);
    await withAdmin(target, ctx, (c) => dropRole(c, role, ctx));
  },

  async list(ctx: ProviderContext): Promise<LiveAccess[]> {
    const target = readTarget(ctx);
    return withAdmin(target, ctx, async (c) => {
      let rows: { rolname: string; comment: string | null }[];
      try {
        const r = await c.query<{ rolname: string; comment: string | null }>(
          `SELECT rolname, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles
            WHERE rolname LIKE 'gatepass\\_%'
               OR shobj_description(oid, 'pg_authid') LIKE 'gatepass grant %'
            ORDER BY rolname`,
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
    await withAdmin(target, ctx, (c) => dropRole(c, access.key, ctx));
  },
};

export default postgresProvider;
