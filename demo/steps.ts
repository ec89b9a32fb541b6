/**
 * The whole lifecycle on one machine, as steps the demo narrates and the end-to-end tests
 * assert on: the GitHub stand-in (test/standin), the real Probot app behind a real HTTP server
 * on loopback, the real reconcile engine on a real clone, a real PostgreSQL and ssh-keygen.
 * Nothing here is shipped; it drives the shipped parts from the outside.
 */
import { renderActionWorkflow } from '../src/cli/init-files.js';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { Probot, ProbotOctokit, createNodeMiddleware } from 'probot';
import { reconcile, type ReconcileResult } from '../src/engine/reconcile/index.js';
import { gitGrantWriter } from '../src/git/grant-store.js';
import { loadConfig } from '../src/app/config.js';
import { createApp } from '../src/app/index.js';
import { DeadlineKeeper } from '../src/app/deadlines.js';
import type { Scheduler } from '../src/app/deadline-timer.js';
import { PolicyCache } from '../src/app/deps.js';
import type { Clock } from '../src/core/clock.js';
import { grantPath, parseGrant } from '../src/core/grant-file.js';
import { mergeCodeowners, renderCodeowners } from '../src/core/codeowners.js';
import { loadPolicyTree } from '../src/engine/policies.js';
import { fsTree } from '../src/fs/fs-tree.js';
import type { Grant } from '../src/core/grant.js';
import { renderRequestBody } from '../src/core/request-parse.js';
import type { AccessRequest } from '../src/core/request.js';
import { main as cli } from '../src/cli/main.js';
import { GitRepo } from '../src/git/git-repo.js';
import { GitHubClient } from '../src/github/github-client.js';
import { createOctokit } from '../src/github/octokit.js';
import { roleNameFor } from '../src/providers/postgres.js';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { generateKey, type KeyPair } from '../test/helpers/ssh-keys.js';
import {
  startGitHubStandIn,
  type GitHubStandIn,
  type RecordedRequest,
} from '../test/standin/github-standin.js';
import type { CheckRunRecord, CommentRecord } from '../test/standin/state.js';

const run = promisify(execFile);

export const OWNER = 'acme';
export const REPO = 'access';
export const APP = { id: 7, slug: 'gatepass', botId: 9007, webhookSecret: 'demo-webhook-secret' };
export const BOT = `${APP.slug}[bot]`;
export const PEOPLE = {
  alice: { login: 'alice', id: 101 },
  bob: { login: 'bob', id: 102 },
  carol: { login: 'carol', id: 103 },
} as const;
/** Next to this file, or (bundled into .tmp/ by scripts/demo.sh and the bench) under the repo root. */
export const POLICIES_DIR = [
  join(dirname(fileURLToPath(import.meta.url)), 'policies'),
  join(process.cwd(), 'demo', 'policies'),
].find((d) => existsSync(join(d, 'demo.yaml')))!;

/** Something that did not behave as the story says: the demo stops with this reason. */
export class StepFailed extends Error {}

export function expect(condition: unknown, why: string): asserts condition {
  if (!condition) throw new StepFailed(why);
}

/**
 * gatepass's clock in the demo: the wall clock plus an offset, so timestamps keep moving and
 * stay ordered, and expiry is reached by moving the offset forward instead of sleeping.
 */
export class DemoClock implements Clock {
  constructor(private offsetMs = 0) {}
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  /** Jumps forward (never back: the audit trail must stay in order). */
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
  get offsetSeconds(): number {
    return this.offsetMs / 1000;
  }
}

export interface WorldOptions {
  clock?: DemoClock;
  /** Start a PostgreSQL server as the `prod-db` target (default true). */
  postgres?: boolean;
  /** The access repo's policies (default: demo/policies). */
  policiesDir?: string;
  /** One line per API request and webhook delivery. */
  log?: (line: string) => void;
  /** Puts something (a measuring proxy) between the app and the stand-in: returns the app's API URL. */
  appApi?: (standinUrl: string) => Promise<string>;
  /**
   * The app keeps the deadlines (server mode) on this scheduler, dispatching the repo's
   * `.github/workflows/gatepass.yml` (a copy of the shipped one is committed to the stand-in).
   */
  deadlineTimer?: Scheduler;
  /** GitHub repository contents beyond the policies (path → text). */
  files?: Record<string, string>;
  /** More teams (`org/slug` → member logins). */
  teams?: Record<string, string[]>;
}

export interface World {
  gh: GitHubStandIn;
  clock: DemoClock;
  pg: TestPostgres | undefined;
  /** alice's SSH key pair (its public half is on her stand-in GitHub profile). */
  aliceKey: KeyPair;
  ca: KeyPair;
  /** The action's environment: the secrets the policies reference. */
  env: Record<string, string>;
  /** Where the app receives webhooks. */
  webhookUrl: string;
  root: string;
  /** Replaces the running app with a fresh instance (nothing kept in memory survives). */
  restartApp(): Promise<void>;
  /** The running app's deadline keeper (with `deadlineTimer`). */
  keeper(): DeadlineKeeper | undefined;
  /** Stops everything started here and removes every temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Made per run: no private key, not even a demo one, lives in the repository. */
const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();

function buildProbot(apiUrl: string): Probot {
  const probot = new Probot({
    appId: APP.id,
    // Any key: the stand-in checks the JWT's issuer, not its signature.
    privateKey: PRIVATE_KEY,
    secret: APP.webhookSecret,
    baseUrl: apiUrl,
    logLevel: 'fatal',
    Octokit: ProbotOctokit.defaults((options: object) => ({
      ...options,
      retry: { enabled: false },
      throttle: { enabled: false },
    })),
  });
  return probot;
}

/** The CODEOWNERS `gatepass codeowners --policy-owners acme/sre` writes for these policies. */
async function codeownersFor(policiesDir: string, scratch: string): Promise<string> {
  const root = join(scratch, 'codeowners');
  cpSync(policiesDir, join(root, 'policies'), { recursive: true });
  const { policies } = await loadPolicyTree(fsTree(root));
  const { head, block } = renderCodeowners(policies, ['acme/sre']);
  return mergeCodeowners('', { head, block });
}

/** Starts the stand-in, the app (HTTP on loopback), PostgreSQL, and makes the keys. */
export async function startWorld(o: WorldOptions = {}): Promise<World> {
  const clock = o.clock ?? new DemoClock();
  const root = mkdtempSync(join(tmpdir(), 'gatepass-demo-'));
  const cleanups: (() => Promise<void> | void)[] = [
    () => rmSync(root, { recursive: true, force: true }),
  ];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const errors: unknown[] = [];
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e) => errors.push(e));
    if (errors.length) throw errors[0];
  };
  try {
    // The app's server comes first: the stand-in needs its URL, the app the stand-in's.
    let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    const server: Server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;

    const aliceKey = generateKey('ed25519', undefined, mkdtempSync(join(root, 'alice-')));
    const ca = generateKey('ed25519', undefined, mkdtempSync(join(root, 'ca-')));
    const gh = await startGitHubStandIn({
      owner: OWNER,
      repo: REPO,
      users: [{ ...PEOPLE.alice, keys: [aliceKey.publicKey] }, PEOPLE.bob, PEOPLE.carol],
      teams: { 'acme/engineering': ['alice', 'carol'], 'acme/sre': ['bob'], ...o.teams },
      collaborators: { alice: 'push', bob: 'push', carol: 'push' },
      app: { ...APP, webhookUrl },
      policiesDir: o.policiesDir ?? POLICIES_DIR,
      files: {
        'grants/.gitkeep': '',
        // As setup requires (`gatepass codeowners`): GitHub asks each resource's approvers for
        // their review of its grant PRs from this file; the app does not request reviewers.
        '.github/CODEOWNERS': await codeownersFor(o.policiesDir ?? POLICIES_DIR, root),
        ...(o.deadlineTimer
          ? {
              // The workflow `gatepass init --mode server` writes (what the timer dispatches).
              '.github/workflows/gatepass.yml': renderActionWorkflow({
                org: 'acme',
                repo: 'access',
                branch: 'main',
                targetRepos: [],
                teams: true,
                secrets: [],
                deadlineTimer: 'app',
              }),
            }
          : {}),
        ...o.files,
      },
      now: () => clock.now(),
      dir: join(root, 'github'),
      ...(o.log ? { log: o.log } : {}),
    });
    cleanups.push(() => gh.stop());

    const appApiUrl = o.appApi ? await o.appApi(gh.apiUrl) : gh.apiUrl;
    let keeper: DeadlineKeeper | undefined;
    const startApp = async () => {
      const probot = buildProbot(appApiUrl);
      keeper?.stop();
      keeper = o.deadlineTimer
        ? new DeadlineKeeper({
            workflow: 'gatepass.yml',
            clock,
            scheduler: o.deadlineTimer,
            policies: new PolicyCache(),
            log: { info: () => {}, warn: (m) => o.log?.(`app: ${m}`) },
          })
        : undefined;
      const middleware = await createNodeMiddleware(
        createApp({
          config: loadConfig({ GATEPASS_ACCESS_REPO: `${OWNER}/${REPO}` }),
          clock,
          ...(keeper ? { deadlines: keeper } : {}),
        }),
        { probot, webhooksPath: '/api/github/webhooks' },
      );
      await keeper?.ready();
      handler = (req, res) =>
        void middleware(req, res, () => {
          res.writeHead(404);
          res.end();
        });
    };
    await startApp();

    const env: Record<string, string> = { SSH_CA_KEY: ca.privateKey };
    let db: TestPostgres | undefined;
    if (o.postgres ?? true) {
      db = await startPostgres();
      cleanups.push(() => db!.stop());
      const admin = new pg.Client({ connectionString: db.adminUrl() });
      await admin.connect();
      await admin.query('CREATE DATABASE app');
      await admin.query('CREATE ROLE readonly NOLOGIN');
      await admin.end();
      const app = new pg.Client({ connectionString: db.adminUrl('app') });
      await app.connect();
      await app.query(
        `CREATE TABLE orders (id int PRIMARY KEY, total numeric);
         INSERT INTO orders VALUES (1, 42.00), (2, 17.50);
         GRANT SELECT ON orders TO readonly;`,
      );
      await app.end();
      // gatepass runs as the documented least-privilege admin (CREATEROLE, not a superuser),
      // allowed to grant the policy's role: docs/providers.md, "The admin role".
      await db.allowGranting('readonly');
      env.PROD_PG_ADMIN_URL = db.gatepassUrl('app');
    }

    return {
      gh,
      clock,
      pg: db,
      aliceKey,
      ca,
      env,
      webhookUrl,
      root,
      restartApp: startApp,
      keeper: () => keeper,
      stop,
    };
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// What people do on GitHub

export interface Opened {
  issue: number;
  /** The grant pull request the app opened, if it did. */
  pr: number | undefined;
  grantId: string;
}

/** A person fills in the issue form: the body is exactly what GitHub writes for our form. */
export async function openRequest(w: World, login: string, req: AccessRequest): Promise<Opened> {
  const issue = await w.gh.as(login).openIssue({
    title: `Access request: ${req.resource}`,
    body: renderRequestBody(req),
    labels: ['access-request'],
  });
  const grantId = `req-${issue}`;
  return { issue, pr: pullForBranch(w, `gatepass/${grantId}`), grantId };
}

export function pullForBranch(w: World, branch: string): number | undefined {
  for (const i of w.gh.state.issues.values()) if (i.pull?.head === branch) return i.number;
  return undefined;
}

export async function review(
  w: World,
  login: string,
  pr: number,
  event: 'APPROVE' | 'REQUEST_CHANGES' | 'COMMENT',
  body?: string,
): Promise<number> {
  return w.gh.as(login).review(pr, event, body === undefined ? {} : { body });
}

export async function comment(w: World, login: string, issue: number, body: string): Promise<void> {
  await w.gh.as(login).comment(issue, body);
}

// ---------------------------------------------------------------------------------------------
// What GitHub shows

export function pull(w: World, pr: number) {
  const p = w.gh.state.pullByNumber(pr);
  expect(p, `there is no pull request #${pr}`);
  return p;
}

/** The latest `gatepass/approval` check run on the pull request's current head. */
export function approvalCheck(w: World, pr: number): CheckRunRecord {
  const head = pull(w, pr).pull.head_sha;
  const runs = [...w.gh.state.checkRuns.values()].filter(
    (r) => r.name === 'gatepass/approval' && r.head_sha === head,
  );
  const last = runs[runs.length - 1];
  expect(last, `no gatepass/approval check run on #${pr}'s head ${head.slice(0, 7)}`);
  return last;
}

/** The check run's row for one reviewer: `| @alice | APPROVED | no | why |`. */
export function verdictFor(check: CheckRunRecord, login: string): string | undefined {
  return (check.output.summary ?? '').split('\n').find((l) => l.startsWith(`| @${login} |`));
}

export function comments(w: World, issue: number): CommentRecord[] {
  return [...w.gh.state.comments.values()].filter((c) => c.issue === issue);
}

export async function mainSha(w: World): Promise<string> {
  const sha = await w.gh.git.resolveCommit('refs/heads/main');
  expect(sha, 'main has no commits');
  return sha;
}

/** The grant file on main (hot path or archive), parsed. */
export async function grantOnMain(
  w: World,
  grant: Grant['id'],
  resource: string,
): Promise<Grant | null> {
  const dir = join(w.root, `look-${Math.random().toString(36).slice(2)}`);
  const repo = await GitRepo.clone(w.gh.gitDir, dir);
  try {
    const files = await repo.listFiles('HEAD', 'grants');
    const path =
      files.find((f) => f === grantPath(resource, grant)) ??
      files.find((f) => f.endsWith(`/${grant}.yaml`));
    if (!path) return null;
    const parsed = parseGrant((await repo.showFile('HEAD', path)) ?? '', path);
    expect(parsed.ok, `the grant file ${path} on main does not parse`);
    return parsed.value;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every webhook the app answered with something other than 200. */
export function failedDeliveries(w: World): string[] {
  return w.gh.events
    .filter((e) => e.status !== 200)
    .map((e) => `${e.name}.${e.action ?? ''} ${e.id}: ${e.status} ${e.response.slice(0, 300)}`);
}

// ---------------------------------------------------------------------------------------------
// The action

let runs = 0;
/** One workflow run of the gatepass action: a fresh clone, the real reconcile engine. */
export async function runAction(
  w: World,
  log: (line: string) => void = () => {},
  o: { offboarding?: boolean; checkDrift?: boolean } = {},
): Promise<ReconcileResult> {
  const dir = join(w.root, `action-run-${++runs}`);
  const repo = await GitRepo.clone(w.gh.gitDir, dir);
  try {
    const github = new GitHubClient(
      createOctokit({ token: w.gh.appToken, baseUrl: w.gh.apiUrl, retry: false, throttle: false }),
      { owner: OWNER, repo: REPO },
    );
    const result = await reconcile({
      history: repo,
      writer: gitGrantWriter(repo, 'origin', 'main'),
      branch: 'main',
      github,
      clock: w.clock,
      env: w.env,
      mask: () => {},
      log,
      appBotId: APP.botId,
      ...(o.offboarding ? { offboarding: true } : {}),
      ...(o.checkDrift !== undefined ? { checkDrift: o.checkDrift } : {}),
    });
    // The action's pushes reach "GitHub", which sends their push events.
    await w.gh.syncPushes();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The requester's side: the delivered credential

/** The age-armored block in the action's delivery comment. */
export function ageBlock(body: string): string | undefined {
  const m = /-----BEGIN AGE ENCRYPTED FILE-----[\s\S]*?-----END AGE ENCRYPTED FILE-----/.exec(body);
  return m?.[0];
}

/** `age -d -i <key>`: the real age tool, with alice's private key. */
export async function ageDecrypt(w: World, armored: string): Promise<string> {
  const file = join(w.root, 'password.age');
  writeFileSync(file, `${armored}\n`);
  const { stdout } = await run('age', ['-d', '-i', w.aliceKey.privatePath, file]);
  return stdout;
}

export async function hasAge(): Promise<boolean> {
  return run('age', ['--version']).then(
    () => true,
    () => false,
  );
}

export type Login = { ok: true; user: string; rows: number } | { ok: false; error: string };

/** Logs in to the `app` database as the grant's role and reads a table. */
export async function pgLogin(w: World, grantId: string, password: string): Promise<Login> {
  expect(w.pg, 'no PostgreSQL in this world');
  const client = new pg.Client({
    connectionString: w.pg.urlFor(roleNameFor(grantId), password, 'app'),
  });
  try {
    await client.connect();
    const who = await client.query<{ u: string }>('SELECT current_user AS u');
    const rows = await client.query('SELECT * FROM orders');
    return { ok: true, user: who.rows[0]!.u, rows: rows.rowCount ?? 0 };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether the grant's role exists at all (the admin's view). */
export async function roleExists(w: World, grantId: string): Promise<boolean> {
  expect(w.pg, 'no PostgreSQL in this world');
  const admin = new pg.Client({ connectionString: w.pg.adminUrl() });
  await admin.connect();
  try {
    const r = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [
      roleNameFor(grantId),
    ]);
    return r.rowCount === 1;
  } finally {
    await admin.end();
  }
}

/** The SSH certificate in a delivery comment, as `ssh-keygen -L` describes it. */
export async function inspectCertificate(
  w: World,
  body: string,
): Promise<{ text: string; signedByCa: boolean }> {
  const m = /ssh-ed25519-cert-v01@openssh\.com \S+/.exec(body);
  expect(m, 'the delivery holds no ssh-ed25519 certificate');
  const file = join(w.root, 'id_ed25519-cert.pub');
  writeFileSync(file, `${m[0]}\n`);
  const { stdout: text } = await run('ssh-keygen', ['-L', '-f', file]);
  const { stdout: caFp } = await run('ssh-keygen', ['-l', '-f', w.ca.publicPath]);
  const fp = caFp.split(' ')[1] ?? '?';
  return {
    text,
    signedByCa: new RegExp(`Signing CA: .*${fp.replace(/[+/]/g, '\\$&')}`).test(text),
  };
}

// ---------------------------------------------------------------------------------------------
// The audit

export interface AuditRun {
  code: number;
  out: string;
  err: string;
}

/** `gatepass audit --verify` on a fresh clone, judged as of gatepass's clock. */
export async function audit(w: World, extra: string[] = []): Promise<AuditRun> {
  const dir = join(w.root, `audit-${Math.random().toString(36).slice(2)}`);
  await GitRepo.clone(w.gh.gitDir, dir);
  try {
    let out = '';
    let err = '';
    const code = await cli(
      [
        'audit',
        dir,
        '--verify',
        '--bot',
        BOT,
        '--bot',
        'gatepass*',
        '--now',
        w.clock.now().toISOString(),
        ...extra,
      ],
      { out: (t) => (out += t), err: (t) => (err += t), cwd: w.root },
    );
    return { code, out, err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// GitHub API calls, counted at the stand-in's HTTP layer

/** `METHOD /path` with numbers and shas replaced by placeholders, so routes group. */
export function routeOf(r: RecordedRequest): string {
  const path = r.path
    .split('?')[0]!
    .replace(/\/[0-9a-f]{40}(?=\/|$)/g, '/{sha}')
    .replace(/\/\d+(?=\/|$)/g, '/{n}');
  return `${r.method} ${path}`;
}

/** Requests made by `actor` (the app's bot, or anyone when omitted) since index `from`. */
export function callsSince(
  w: World,
  from: number,
  actor?: string,
): { total: number; byRoute: Record<string, number> } {
  const byRoute: Record<string, number> = {};
  let total = 0;
  for (const r of w.gh.requests.slice(from)) {
    if (actor !== undefined && r.actor !== actor && !(actor === BOT && r.actor === null)) continue;
    total += 1;
    const k = routeOf(r);
    byRoute[k] = (byRoute[k] ?? 0) + 1;
  }
  return { total, byRoute };
}
