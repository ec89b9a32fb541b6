/**
 * The demo's story: alice gets a PostgreSQL login and an SSH certificate through gatepass,
 * uses them, and loses them at expiry; then the audit checks the record. Every step checks
 * what it claims, so the demo is also a smoke test of the whole system.
 */
import pg from 'pg';
import { roleNameFor } from '../src/providers/postgres.js';
import { expectNoContractProblems } from '../test/standin/github-standin.js';
import {
  ageBlock,
  ageDecrypt,
  approvalCheck,
  audit,
  comments,
  DemoClock,
  expect,
  failedDeliveries,
  grantOnMain,
  hasAge,
  inspectCertificate,
  mainSha,
  openRequest,
  pgLogin,
  pull,
  review,
  roleExists,
  runAction,
  startWorld,
  StepFailed,
  verdictFor,
  type World,
} from './steps.js';

export interface DemoOptions {
  out(text: string): void;
  /** Also print every API request and webhook delivery. */
  verbose?: boolean;
}

/** How long the PostgreSQL grant is, and how far after its issue PostgreSQL's own expiry falls. */
const DB_GRANT = 15 * 60;
const NATIVE_WINDOW = 8;

const JUSTIFICATION = 'Checkout is slow since the 10:40 deploy; need to read the orders table';

interface Ctx {
  w: World;
  db: { issue: number; pr: number; grantId: string; password?: string; session?: pg.Client };
  ssh: { issue: number; pr: number; grantId: string };
}

interface Step {
  /** What is about to happen, in a sentence or two. */
  say: string;
  /** Does it, checks it, and returns the progress line's text. */
  run(c: Ctx): Promise<string>;
}

const indent = (text: string, by = '      '): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');

function steps(out: (s: string) => void): Step[] {
  const detail = (s: string) => out(`${indent(s)}\n`);
  return [
    {
      say: 'alice opens an access request from the issue form: prod-db for 15m, with a ticket.',
      async run(c) {
        const o = await openRequest(c.w, 'alice', {
          resource: 'prod-db',
          duration: DB_GRANT,
          justification: JUSTIFICATION,
          ticket: 'INC-4211',
        });
        expect(o.pr, `the app opened no grant pull request for issue #${o.issue}`);
        c.db = { issue: o.issue, pr: o.pr, grantId: o.grantId };
        const files = [
          ...(await c.w.gh.git.diff(pull(c.w, o.pr).pull.base_sha, pull(c.w, o.pr).pull.head_sha)),
        ];
        expect(
          files.length === 1 && files[0]!.filename === `grants/prod-db/${o.grantId}.yaml`,
          `the grant PR should add exactly grants/prod-db/${o.grantId}.yaml`,
        );
        const check = approvalCheck(c.w, o.pr);
        detail(`grant file: grants/prod-db/${o.grantId}.yaml (status: pending)`);
        detail(`check gatepass/approval: ${check.output.title}`);
        return `the app validated issue #${o.issue} and opened grant PR #${o.pr}`;
      },
    },
    {
      say: "alice approves her own grant PR (the PR is the bot's, so GitHub lets her).",
      async run(c) {
        await review(c.w, 'alice', c.db.pr, 'APPROVE', 'LGTM');
        const check = approvalCheck(c.w, c.db.pr);
        const row = verdictFor(check, 'alice');
        expect(!pull(c.w, c.db.pr).pull.merged, 'the PR was merged on a self-approval');
        expect(check.status === 'in_progress', `the check is ${check.status}, not waiting`);
        expect(row && row.includes('| no |'), 'the check run does not say alice did not count');
        detail(`check: ${check.output.title}`);
        detail(row);
        return 'self-approval ignored; the check run says why';
      },
    },
    {
      say: "bob, a member of acme/sre (the resource's approvers), approves.",
      async run(c) {
        await review(c.w, 'bob', c.db.pr, 'APPROVE');
        const p = pull(c.w, c.db.pr).pull;
        expect(p.merged && p.merge_commit_sha, `PR #${c.db.pr} was not merged`);
        const commit = await c.w.gh.git.commit(p.merge_commit_sha);
        expect(commit && commit.parents.length === 1, 'the merge is not a squash (one parent)');
        expect(/Gatepass-Event: approved/.test(commit.message), 'the merge carries no trailers');
        detail(commit.message.trim());
        return `the app merged PR #${c.db.pr} (squash, with trailers)`;
      },
    },
    {
      say: 'The gatepass action runs on the push to main (a real clone, the real reconcile engine).',
      async run(c) {
        const r = await runAction(c.w, (l) => detail(`action: ${l}`));
        expect(
          r.failures.length === 0,
          `the action failed: ${r.failures.map((f) => f.message).join('; ')}`,
        );
        const events = r.events.filter((e) => e.grant === c.db.grantId).map((e) => e.event);
        expect(
          events.includes('approved') && events.includes('issued'),
          `events: ${events.join(', ')}`,
        );
        expect(await roleExists(c.w, c.db.grantId), 'no PostgreSQL role was created');
        const delivery = comments(c.w, c.db.issue).find((x) => ageBlock(x.body));
        expect(delivery, `no encrypted password was posted on #${c.db.issue}`);
        return `the action re-verified bob's approval and created role ${roleNameFor(c.db.grantId)}; the password is on #${c.db.issue}, age-encrypted`;
      },
    },
    {
      say: 'alice decrypts the password with age and her SSH key, and logs in.',
      async run(c) {
        const block = ageBlock(comments(c.w, c.db.issue).find((x) => ageBlock(x.body))!.body)!;
        const password = (await ageDecrypt(c.w, block)).trim();
        expect(password.length >= 20, 'age returned no password');
        c.db.password = password;
        const login = await pgLogin(c.w, c.db.grantId, password);
        expect(login.ok, `login failed: ${login.ok ? '' : login.error}`);
        // A session alice keeps open: VALID UNTIL does not end it, revocation must.
        const session = new pg.Client({
          connectionString: c.w.pg!.urlFor(roleNameFor(c.db.grantId), password, 'app'),
        });
        // Revocation ends it: that is an expected error, not a crash.
        session.on('error', () => {});
        await session.connect();
        c.db.session = session;
        detail(`$ age -d -i ~/.ssh/id_ed25519 < password.age   → ${password.length} characters`);
        detail(
          `$ psql … -c 'SELECT * FROM orders'   → ${login.ok ? login.rows : 0} rows as ${login.ok ? login.user : ''}`,
        );
        return `age -d worked; alice is logged in as ${roleNameFor(c.db.grantId)} (and keeps a session open)`;
      },
    },
    {
      say: 'A second request: an SSH certificate for prod-ssh, approved by bob.',
      async run(c) {
        const o = await openRequest(c.w, 'alice', {
          resource: 'prod-ssh',
          duration: DB_GRANT,
          justification: 'Need a shell on the checkout hosts to read the local logs',
          ticket: 'INC-4211',
        });
        expect(o.pr, `the app opened no grant pull request for issue #${o.issue}`);
        c.ssh = { issue: o.issue, pr: o.pr, grantId: o.grantId };
        await review(c.w, 'bob', o.pr, 'APPROVE');
        expect(pull(c.w, o.pr).pull.merged, `PR #${o.pr} was not merged`);
        return `issue #${o.issue} → PR #${o.pr} → approved by bob → merged`;
      },
    },
    {
      say: "The action runs again and signs alice's SSH key (from her GitHub profile) with the CA.",
      async run(c) {
        const r = await runAction(c.w, (l) => detail(`action: ${l}`));
        expect(
          r.failures.length === 0,
          `the action failed: ${r.failures.map((f) => f.message).join('; ')}`,
        );
        const delivery = comments(c.w, c.ssh.issue).find((x) =>
          x.body.includes('-cert-v01@openssh.com'),
        );
        expect(delivery, `no certificate was posted on #${c.ssh.issue}`);
        const cert = await inspectCertificate(c.w, delivery.body);
        expect(cert.signedByCa, 'the certificate is not signed by the CA');
        expect(
          /Principals:\s*\n\s*deploy/.test(cert.text),
          'the certificate is not for principal deploy',
        );
        expect(cert.text.includes(`Key ID: "${c.ssh.grantId}"`), 'the key id is not the grant id');
        detail(
          cert.text
            .split('\n')
            .filter((l) => /Key ID|Signing CA|Valid|Principals|deploy|permit-pty/.test(l))
            .map((l) => l.trim())
            .join('\n'),
        );
        return `ssh-keygen -L: certificate ${c.ssh.grantId} for deploy, signed by the CA, valid for the grant's window`;
      },
    },
    {
      say: `PostgreSQL enforces the expiry itself (VALID UNTIL, on its own wall clock). gatepass's clock here runs ${formatOffset(-DB_GRANT + NATIVE_WINDOW)} behind the wall clock, so the 15-minute grant's VALID UNTIL falls ${NATIVE_WINDOW} s after it was issued: we wait for it, for real.`,
      async run(c) {
        const grant = await grantOnMain(c.w, c.db.grantId, 'prod-db');
        expect(grant?.expires_at, 'the grant on main has no expires_at');
        // expires_at is an absolute time: PostgreSQL compares it with the wall clock.
        const wait = Date.parse(grant.expires_at) - Date.now() + 500;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const login = await pgLogin(c.w, c.db.grantId, c.db.password!);
        expect(!login.ok, 'PostgreSQL still accepts a login after VALID UNTIL');
        const still = await c.db.session!.query('SELECT count(*) FROM orders');
        expect(still.rowCount === 1, 'the open session should survive VALID UNTIL');
        detail(`new login: ${login.ok ? 'accepted' : login.error}`);
        detail('the session alice kept open still answers: VALID UNTIL does not end sessions');
        return `waited ${(Math.max(wait, 0) / 1000).toFixed(1)} s: new logins refused by PostgreSQL; the open session lives on`;
      },
    },
    {
      say: "Time is fast-forwarded past both grants' expiry (gatepass's clock, not a sleep); the scheduled sweep runs.",
      async run(c) {
        c.w.clock.advance(DB_GRANT + 60);
        const r = await runAction(c.w, (l) => detail(`action: ${l}`));
        expect(
          r.failures.length === 0,
          `the action failed: ${r.failures.map((f) => f.message).join('; ')}`,
        );
        const ended = r.events.filter((e) => e.event === 'expired').map((e) => e.grant);
        expect(
          ended.includes(c.db.grantId) && ended.includes(c.ssh.grantId),
          `expired: ${ended.join(', ') || 'none'}`,
        );
        expect(!(await roleExists(c.w, c.db.grantId)), 'the role still exists');
        const session = await c.db.session!.query('SELECT 1').then(
          () => 'still open',
          (e: Error) => e.message,
        );
        expect(session !== 'still open', 'the open session survived revocation');
        const login = await pgLogin(c.w, c.db.grantId, c.db.password!);
        expect(!login.ok, 'login still works after revocation');
        detail(`open session: ${session}`);
        detail(`new login: ${login.ok ? 'accepted' : login.error}`);
        return `the action expired ${ended.join(' and ')}: role dropped, session terminated, login fails`;
      },
    },
    {
      say: '`gatepass audit --verify` rebuilds every grant from git history and checks it against policy.',
      async run(c) {
        const a = await audit(c.w);
        out(`${indent(a.out)}\n`);
        expect(a.code === 0, `audit --verify exited ${a.code}: ${a.err}`);
        expect(/verify: no findings/.test(a.out), 'the audit reported findings');
        expect(
          a.out.includes(c.db.grantId) && a.out.includes(c.ssh.grantId),
          'a grant is missing from the timeline',
        );
        return 'the timeline is complete; verify: no findings';
      },
    },
    {
      say: "Last, the GitHub stand-in's own checks: every call and webhook as GitHub would have them.",
      async run(c) {
        expectNoContractProblems(c.w.gh);
        const failed = failedDeliveries(c.w);
        expect(failed.length === 0, `the app failed deliveries:\n${failed.join('\n')}`);
        return `${c.w.gh.requests.length} API calls and ${c.w.gh.events.length} webhooks, none GitHub would refuse; main is at ${(await mainSha(c.w)).slice(0, 7)}`;
      },
    },
  ];
}

function formatOffset(seconds: number): string {
  const s = Math.abs(seconds);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const { out } = o;
  const started = Date.now();
  out('gatepass demo: Just-In-Time access, approved by pull request review, recorded in git.\n');
  out(
    'Everything runs here: a GitHub stand-in, the gatepass app, the action, PostgreSQL, ssh-keygen, age.\n\n',
  );
  if (!(await hasAge())) {
    out(
      '✗ the `age` tool is missing (apt install age / brew install age): the demo decrypts the\n',
    );
    out(
      '  password the way a requester does, with age and an SSH key, and will not fake that step.\n',
    );
    return 1;
  }
  const clock = new DemoClock((-DB_GRANT + NATIVE_WINDOW) * 1000);
  let w: World | undefined;
  const stop = async () => {
    const world = w;
    w = undefined;
    await world?.stop();
  };
  const onSignal = () => {
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const list = steps(out);
  const total = list.length + 1;
  try {
    out(`      Starting: GitHub stand-in (real bare git repo), the app on loopback, PostgreSQL.\n`);
    w = await startWorld({
      clock,
      ...(o.verbose ? { log: (l: string) => out(`      · ${l}\n`) } : {}),
    });
    out(
      `[1/${total}] stand-in at ${w.gh.url}, app webhooks at ${w.webhookUrl}, PostgreSQL on port ${w.pg!.port} ✓\n\n`,
    );
    const ctx = { w } as Ctx;
    for (const [i, step] of list.entries()) {
      out(`      ${step.say}\n`);
      let line: string;
      try {
        line = await step.run(ctx);
      } catch (e) {
        const why = e instanceof StepFailed ? e.message : ((e as Error).stack ?? String(e));
        out(`[${i + 2}/${total}] ✗ ${why}\n`);
        return 1;
      }
      out(`[${i + 2}/${total}] ${line} ✓\n\n`);
    }
    await ctx.db.session?.end().catch(() => {});
    out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
    return 0;
  } catch (e) {
    out(`✗ ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stop();
  }
}
