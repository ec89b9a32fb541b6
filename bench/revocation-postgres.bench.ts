import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { postgresProvider } from '../src/providers/postgres.js';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { buildContext, buildGrant, buildResource } from '../test/helpers/provider-context.js';
import { generateKey, type KeyPair } from '../test/helpers/ssh-keys.js';
import { expiryRow, pollUntilRefused, summarise, type ExpiryTrial } from './support/expiry.js';
import { scale } from './support/scale.js';
import type { Bench, BenchRow } from './types.js';

/**
 * The real provider issues a per-grant role whose VALID UNTIL is the grant's expires_at, a couple
 * of seconds ahead; a real server is asked to log in every 50 ms until it refuses.
 */
const TRIALS = scale(3, 1);
const INTERVAL = 50;
const FIGURE = 'revocation latency, PostgreSQL (login refused after expires_at)';

async function admin(server: TestPostgres, sql: string[], database = 'app'): Promise<void> {
  const c = new pg.Client({ connectionString: server.adminUrl(database) });
  await c.connect();
  try {
    for (const s of sql) await c.query(s);
  } finally {
    await c.end();
  }
}

/** The password as the requester gets it: the delivery decrypted with `age` and their SSH key. */
function decrypt(body: string, key: KeyPair): string {
  const armored = /-----BEGIN AGE ENCRYPTED FILE-----[\s\S]+?-----END AGE ENCRYPTED FILE-----/.exec(
    body,
  );
  if (!armored) throw new Error('no age block in the delivery');
  return execFileSync('age', ['-d', '-i', key.privatePath], {
    input: `${armored[0]}\n`,
    encoding: 'utf8',
  });
}

async function canLogin(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function hasAge(): boolean {
  try {
    execFileSync('age', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const revocationPostgresBench: Bench = {
  name: 'revocation-postgres',
  async run(): Promise<BenchRow[]> {
    if (!hasAge())
      return [
        {
          figure: FIGURE,
          baseline: '',
          measured: 'skipped: the `age` CLI (to decrypt the delivered password) is not installed',
          target: '0 s',
          met: null,
        },
      ];
    const server = await startPostgres();
    try {
      const key = generateKey('ed25519');
      await admin(server, ['CREATE DATABASE app'], 'postgres');
      await admin(server, ['CREATE ROLE app_read NOLOGIN']);
      const ctx = buildContext({
        resource: buildResource('postgres', {
          admin_url: 'env:PG_ADMIN',
          database: 'app',
          roles: ['app_read'],
        }),
        env: { PG_ADMIN: server.adminUrl() },
        keys: [key.publicKey],
      });
      const trials: ExpiryTrial[] = [];
      for (let i = 0; i < TRIALS; i++) {
        const now = Date.now();
        const grant = buildGrant({
          id: `req-${900 + i}`,
          issued_at: new Date(now).toISOString(),
          // Off the second boundary on purpose: VALID UNTIL keeps milliseconds.
          expires_at: new Date(now + 2000 + 137 * i).toISOString(),
        });
        const issued = await postgresProvider.issue(grant, ctx);
        const url = server.urlFor(
          issued.facts.role as string,
          decrypt(issued.delivery!.body, key),
          'app',
        );
        trials.push(
          await pollUntilRefused(() => canLogin(url), Date.parse(grant.expires_at!), INTERVAL),
        );
        await postgresProvider.revoke(grant, ctx);
      }
      return [
        expiryRow(
          FIGURE,
          summarise(trials, INTERVAL),
          TRIALS,
          'native expiry (VALID UNTIL), no sweep involved; the sweep later drops the role and ends open sessions, which VALID UNTIL does not',
        ),
      ];
    } finally {
      await server.stop();
    }
  },
};
