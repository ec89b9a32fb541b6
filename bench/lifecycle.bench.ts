/**
 * GitHub API calls of one whole lifecycle (request → PR → approval → merge → issue → revoke),
 * counted at the HTTP layer of the GitHub stand-in, against a hand-counted minimum; and the
 * sequential round trips the app makes on the critical path of a review event (from bob's
 * approval to the merge and its notices), timed at a proxy between the app and the stand-in.
 */
import { generatedActionWorkflow, WORKFLOW } from './support/workflow.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  BOT,
  callsSince,
  DemoClock,
  openRequest,
  review,
  runAction,
  startWorld,
  type World,
} from '../demo/steps.js';
import type { Bench, BenchRow } from './types.js';

/**
 * What `actions/create-github-app-token` (the workflow's first step) asks GitHub on every run:
 * lib/main.js looks up the installation, then creates a token; post.js revokes it at the end
 * of the job (unless `skip-token-revoke`).
 */
export const TOKEN_STEP = [
  'GET /repos/{o}/{r}/installation',
  'POST /app/installations/{n}/access_tokens',
  'DELETE /installation/token',
];

/**
 * The fewest calls each step of a github-team lifecycle could make with GitHub's REST API, doing
 * everything gatepass promises (level-triggered decisions, policy at a fixed commit, the
 * action's independent re-verification of the approval, labels, comments, check run), counted
 * by hand; docs/performance.md gives the reasons line by line. Caches that survive between
 * deliveries (installation token, policies by commit, logins by id) are assumed. Keyed by the
 * first word of the measured step's name.
 */
export const MINIMUM: Record<string, string[]> = {
  request: [
    'POST /app/installations/{id}/access_tokens — the app’s token (at most one per lifecycle: it lives an hour)',
    'GET /repos/{o}/{r}/git/ref/heads/main — the policy commit (policies cached by it)',
    'GET /orgs/{org}/teams/{team}/memberships/{requester} — eligible: one membership, not the team',
    'POST /repos/{o}/{r}/git/refs — the request branch (422 if it exists: the idempotence check)',
    'PUT /repos/{o}/{r}/contents/grants/… — the grant file, one commit',
    'POST /repos/{o}/{r}/pulls — the grant PR (CODEOWNERS requests the approvers)',
    'POST /repos/{o}/{r}/issues/{pr}/labels — pending on the PR',
    'POST /repos/{o}/{r}/issues/{issue}/labels — pending on the issue',
    'POST /repos/{o}/{r}/issues/{issue}/comments — "opened #N"',
    'POST /repos/{o}/{r}/check-runs — gatepass/approval in progress (the app’s own opened PR needs no re-read)',
  ],
  approval: [
    'GET /repos/{o}/{r}/compare/main...{head} — the decided head’s files and commits, and main’s head now (base_commit: the policy commit; the review payload carries the PR)',
    'GET /repos/{o}/{r}/pulls/{n}/reviews — every review on the head (level-triggered)',
    'GET /repos/{o}/{r}/issues/{issue} — its author must be the grant’s requester',
    'GET /repos/{o}/{r}/contents/grants/…?ref={head} — the grant at the head',
    'GET /orgs/{org}/teams/{team}/memberships/{requester} — still eligible, now',
    'GET /orgs/{org}/teams/{team}/memberships/{approver} — the approver, now',
    'POST /repos/{o}/{r}/check-runs — success',
    'PUT /repos/{o}/{r}/pulls/{n}/merge — at the decided head',
    'PUT /repos/{o}/{r}/issues/{pr}/labels — approved replaces pending, one call',
    'PUT /repos/{o}/{r}/issues/{issue}/labels — the same on the issue',
    'POST /repos/{o}/{r}/issues/{issue}/comments — "approved and merged"',
  ],
  issue: [
    ...TOKEN_STEP.map((r) => `${r} — the workflow’s app token step`),
    'GET /repos/{o}/{r}/pulls/{n} — merged, merge commit, head (re-verification)',
    'GET /repos/{o}/{r}/compare/{parent}...{head} — exactly this grant file, by whom',
    'GET /repos/{o}/{r}/issues/{issue} — its author must be the grant’s requester (hand merges)',
    'GET /repos/{o}/{r}/pulls/{n}/reviews — approvals on the final head',
    'GET /user/{id} — the requester’s current login (ids are stable, logins are not)',
    'GET /orgs/{org}/teams/{team}/memberships/{requester} — still eligible, now',
    'GET /orgs/{org}/teams/{team}/memberships/{approver} — the approver, now',
    'GET /orgs/{org}/teams/{target}/memberships/{login} — the pre-state (never take away access the person had)',
    'PUT /orgs/{org}/teams/{target}/memberships/{login} — the access',
  ],
  revoke: [
    ...TOKEN_STEP.map((r) => `${r} — the workflow’s app token step`),
    'GET /user/{id} — the login now: DELETE takes a login, and a renamed account (or another account that took the old name) must not keep (or lose) the access',
    'DELETE /orgs/{org}/teams/{target}/memberships/{login} — the revocation',
  ],
};
const MINIMUM_LINES = Object.values(MINIMUM).flat();

interface Timed {
  start: number;
  end: number;
}

/** A pass-through HTTP proxy that records when each request started and ended. */
async function timingProxy(target: string): Promise<{ url: string; log: Timed[]; close(): void }> {
  const log: Timed[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    const start = performance.now();
    const upstream = httpRequest(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: to.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('end', () => log.push({ start, end: performance.now() }));
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

/** Requests that overlap in time are one round trip; a request that starts after all earlier ones ended is the next. */
export function roundTrips(calls: readonly Timed[]): number {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  let trips = 0;
  let lastEnd = -Infinity;
  for (const c of sorted) {
    if (c.start >= lastEnd) trips += 1;
    lastEnd = Math.max(lastEnd, c.end);
  }
  return trips;
}

/** Minimum sequential round trips for the approval step (see MINIMUM): what must wait for what. */
const MINIMUM_REVIEW_TRIPS = [
  '1. in parallel: the head’s files and commits (compare), reviews, main ref (policies cached by commit), the issue named by the branch',
  '2. in parallel: the grant at the head and the memberships (the resource is in the file path)',
  '3. check run',
  '4. merge at the decided head',
  '5. in parallel: labels and comment',
];

/**
 * Whether the workflow `gatepass init` writes starts its job for a push whose head commit has `message`: the
 * job's `if:` (the action's own commits, all "gatepass: …", start none). Anything but the
 * condition the workflow is known to have is an error, so the model cannot silently drift.
 */
export function workflowRunsOnPush(message: string): boolean {
  const wf = parse(generatedActionWorkflow()) as { jobs: Record<string, { if?: string }> };
  const cond = wf.jobs.reconcile?.if;
  if (cond === undefined) return true;
  const m =
    /^\$\{\{ github\.event_name != 'push' \|\| !startsWith\(github\.event\.head_commit\.message, '([^']+)'\) \}\}$/.exec(
      cond,
    );
  if (!m) throw new Error(`${WORKFLOW}: unknown job condition ${cond}`);
  return !message.startsWith(m[1]!);
}

/**
 * Another grant's state change lands on main (a commit under grants/ by the action, as any
 * busy access repo sees between a request and its review), pushed, with its push event.
 */
async function moveMain(world: World, n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gatepass-bench-move-'));
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('git', ['clone', '--quiet', world.gh.gitDir, dir], { stdio: 'ignore' });
    mkdirSync(join(dir, 'grants', 'other'), { recursive: true });
    writeFileSync(join(dir, 'grants', 'other', `unrelated-${n}.txt`), `unrelated ${n}\n`);
    git('add', '-A');
    git(
      '-c',
      'user.name=gatepass',
      '-c',
      'user.email=gatepass@example.com',
      'commit',
      '--quiet',
      '-m',
      `gatepass: unrelated state change ${n}`,
    );
    git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    await world.gh.syncPushes();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Calls = Record<string, number>;
const add = (into: Calls, route: string, n = 1) => {
  into[route] = (into[route] ?? 0) + n;
};
const count = (c: Calls) => Object.values(c).reduce((a, b) => a + b, 0);
/** Calls that create or change content (GitHub's secondary limit): not reads, not tokens. */
const creating = (c: Calls) =>
  Object.entries(c)
    .filter(([r]) => !r.startsWith('GET ') && !/access_tokens|\/installation\/token$/.test(r))
    .reduce((n, [, k]) => n + k, 0);

export interface LifecycleStep {
  name: string;
  calls: number;
  byRoute: Calls;
}

export async function measureLifecycle(): Promise<{
  /** The steady-state lifecycle (the second in the app's process). */
  steps: LifecycleStep[];
  /** The first lifecycle of a fresh app process. */
  coldSteps: LifecycleStep[];
  reviewTrips: number;
  coldReviewTrips: number;
  idleRun: Calls;
  selfTriggered: number;
}> {
  let proxy: Awaited<ReturnType<typeof timingProxy>> | undefined;
  const clock = new DemoClock();
  let w: World | undefined;
  try {
    w = await startWorld({
      clock,
      postgres: false,
      policiesDir: join(process.cwd(), 'bench/fixtures/lifecycle-policies'),
      teams: { 'acme/oncall': ['carol'] },
      appApi: async (url) => {
        proxy = await timingProxy(url);
        return proxy.url;
      },
    });
    const world = w;
    const steps: LifecycleStep[] = [];
    const measure = async (name: string, fn: () => Promise<unknown>, workflowRun = false) => {
      const from = world.gh.requests.length;
      await fn();
      const c = callsSince(world, from, BOT);
      const byRoute = { ...c.byRoute };
      if (workflowRun) for (const r of TOKEN_STEP) add(byRoute, `${r} (workflow: app token step)`);
      steps.push({ name, calls: count(byRoute), byRoute });
    };
    const main = () =>
      execFileSync('git', ['rev-parse', 'refs/heads/main'], { cwd: world.gh.gitDir })
        .toString()
        .trim();
    /** Runs the action as a workflow run; returns how many of its pushes would start a run. */
    let selfTriggered = 0;
    const actionRun = async () => {
      const before = main();
      // The workflow lists drift only on its daily and manual runs (its `check-drift` input).
      await runAction(world, undefined, { checkDrift: false });
      // Each step pushes on its own: one push event per commit, its head that commit.
      const messages = execFileSync(
        'git',
        ['log', '--format=%B%x00', `${before}..refs/heads/main`],
        { cwd: world.gh.gitDir },
      )
        .toString()
        .split('\0\n')
        .filter((m) => m.trim() !== '');
      // The concurrency group keeps one pending run: any triggering push means one more run.
      if (messages.some(workflowRunsOnPush)) selfTriggered += 1;
    };
    let unrelated = 0;
    const membership = () => world.gh.state.team('acme', 'oncall')?.members.has('alice') ?? false;
    /** One whole lifecycle; its steps are named with `tag`. */
    const lifecycle = async (tag: string) => {
      const named = (s: string) => (tag ? `${s} [${tag}]` : s);
      selfTriggered = 0;
      const first = steps.length;
      let pr = 0;
      await measure(named('request (issue opened → grant PR, check run)'), async () => {
        const o = await openRequest(world, 'alice', {
          resource: 'oncall-team',
          duration: 1800,
          justification: 'Paged for the checkout outage; need the on-call runbooks',
          ticket: 'INC-7',
        });
        if (!o.pr) throw new Error('no grant PR');
        pr = o.pr;
      });
      let timedFrom = 0;
      await measure(named('approval (review → decision → merge → notices)'), async () => {
        // A busy repo: main moves between the request and its review (another grant's state
        // change), and GitHub delivers that push to the app. Whatever the app calls for it
        // counts here; the review's round trips are timed from the review on.
        await moveMain(world, ++unrelated);
        timedFrom = proxy!.log.length;
        await review(world, 'bob', pr, 'APPROVE');
      });
      const trips = roundTrips(proxy!.log.slice(timedFrom));
      // The merge's push starts this run.
      await measure(named('issue (action run on the merge: verify, add to team)'), actionRun, true);
      if (!membership()) throw new Error('the action did not add alice to acme/oncall');
      clock.advance(1800 + 60);
      await measure(named('revoke (scheduled action run: remove from team)'), actionRun, true);
      if (membership()) throw new Error('the action did not remove alice from acme/oncall');
      return { steps: steps.slice(first), trips, selfTriggered };
    };
    // The first lifecycle of a fresh app process pays for its installation token and its first
    // read of the policies; the second, in the same process, is the steady state the minimum
    // describes (token and policies cached, main moved in between by the action's pushes).
    const cold = await lifecycle('cold');
    const warm = await lifecycle('');
    // A scheduled run with nothing to do (most of the 288 a day): its cost and the cost of each
    // run the action's own pushes would start.
    const from = world.gh.requests.length;
    await runAction(world, undefined, { checkDrift: false });
    const idleRun = { ...callsSince(world, from, BOT).byRoute };
    for (const r of TOKEN_STEP) add(idleRun, `${r} (workflow: app token step)`);
    for (const l of [cold, warm])
      if (l.selfTriggered > 0) {
        const byRoute: Calls = {};
        for (const [r, n] of Object.entries(idleRun)) add(byRoute, r, n * l.selfTriggered);
        l.steps.push({
          name: `runs started by the action's own pushes (${l.selfTriggered})`,
          calls: count(byRoute),
          byRoute,
        });
      }
    if (world.gh.problems.length) throw new Error(world.gh.problems.join('; '));
    return {
      steps: warm.steps,
      coldSteps: cold.steps,
      reviewTrips: warm.trips,
      coldReviewTrips: cold.trips,
      idleRun,
      selfTriggered: warm.selfTriggered,
    };
  } finally {
    proxy?.close();
    await w?.stop();
  }
}

/**
 * GitHub's documented secondary limit on content-creating requests: no more than 80 a minute
 * and 500 an hour (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
 * "About secondary rate limits").
 */
const CONTENT_PER_HOUR = 500;

export const lifecycleBench: Bench = {
  name: 'lifecycle',
  async run(): Promise<BenchRow[]> {
    const { steps, coldSteps, reviewTrips, coldReviewTrips, idleRun, selfTriggered } =
      await measureLifecycle();
    for (const s of [...coldSteps, ...steps]) {
      process.stderr.write(`lifecycle: ${s.name}: ${s.calls} calls\n`);
      for (const [route, n] of Object.entries(s.byRoute).sort())
        process.stderr.write(`  ${String(n).padStart(3)} ${route}\n`);
    }
    const sum = (l: LifecycleStep[]) => l.reduce((n, s) => n + s.calls, 0);
    const byStep = (l: LifecycleStep[]) =>
      l.map((s) => `${s.name.split(' ')[0]} ${s.calls}`).join(', ');
    const total = sum(steps);
    const coldTotal = sum(coldSteps);
    const minimum = MINIMUM_LINES.length;
    const created = steps.reduce((n, s) => n + creating(s.byRoute), 0);
    const rows: BenchRow[] = [
      {
        figure:
          'GitHub API calls per full lifecycle of a github-team grant (app + action + workflow), steady state: the second lifecycle in the app process',
        baseline: `independent minimum ${minimum} (docs/performance.md; bench/lifecycle.bench.ts MINIMUM)`,
        measured: `${total} calls (${byStep(steps)})`,
        ratio: total / minimum,
        target: '≤ 38',
        met: total <= 38,
        notes: `every call is listed on stderr by route; self-triggered runs counted: ${selfTriggered}; main moves between request and review`,
      },
      {
        figure:
          '  the same, first lifecycle of a fresh app process (cold: installation token, first policy read)',
        baseline: `independent minimum ${minimum}`,
        measured: `${coldTotal} calls (${byStep(coldSteps)})`,
        ratio: coldTotal / minimum,
        target: 'reported',
        met: null,
      },
      {
        figure: 'content-creating calls per lifecycle, and lifecycles per hour they allow',
        baseline: `GitHub's secondary limit: ${CONTENT_PER_HOUR} content-creating requests per hour`,
        measured: `${created} per lifecycle → ${Math.floor(CONTENT_PER_HOUR / created)} lifecycles per hour per installation`,
        target: 'reported',
        met: null,
        notes:
          'content-creating: every POST, PUT, PATCH, DELETE except installation token requests',
      },
      {
        figure: 'sequential API round trips on the critical path of a review event',
        baseline: `minimum ${MINIMUM_REVIEW_TRIPS.length} (compare+reviews+issue; grant+memberships; check; merge; notices)`,
        measured: `${reviewTrips} round trips (first lifecycle: ${coldReviewTrips})`,
        ratio: reviewTrips / MINIMUM_REVIEW_TRIPS.length,
        target: '≤ 5',
        met: reviewTrips <= 5 && coldReviewTrips <= 5,
      },
      {
        figure: 'scheduled run with nothing to do (288 a day)',
        baseline: `app token step ${TOKEN_STEP.length}`,
        measured: `${count(idleRun)} calls (${Object.keys(idleRun).join(', ')})`,
        target: 'reported',
        met: null,
      },
    ];
    for (const s of [...steps, ...coldSteps]) {
      const min = MINIMUM[s.name.split(' ')[0]!]?.length ?? 0;
      rows.push({
        figure: `  calls: ${s.name}`,
        baseline: `minimum ${min}`,
        measured: `${s.calls}`,
        ...(min > 0 ? { ratio: s.calls / min } : {}),
        target: 'n/a',
        met: null,
      });
    }
    return rows;
  },
};
