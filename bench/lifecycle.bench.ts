/**
 * GitHub API calls of one whole lifecycle (request → PR → approval → merge → issue → revoke),
 * counted at the HTTP layer of the GitHub stand-in, against a hand-counted minimum; and the
 * sequential round trips the app makes on the critical path of a review event (from bob's
 * approval to the merge and its notices), timed at a proxy between the app and the stand-in.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
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
 * The fewest calls each step could make with GitHub's REST API, doing everything gatepass
 * promises (level-triggered decisions, policy at a fixed commit, re-verification by the action,
 * labels, comments, check run). Caches that survive between deliveries (installation token,
 * policies by commit) are assumed, as a long-running app has them.
 */
export const MINIMUM: Record<string, string[]> = {
  'request (issue opened → grant PR, check run)': [
    'POST /app/installations/{id}/access_tokens — the installation token (once; cached after)',
    'GET /repos/{o}/{r}/pulls?head= — is there a PR for this request already (idempotence)',
    'GET /repos/{o}/{r}/git/ref/heads/main — the policy commit',
    'GET /repos/{o}/{r}/contents/policies?ref= — the policy files',
    'GET /repos/{o}/{r}/contents/policies/demo.yaml?ref= — one policy file',
    'GET /orgs/{org}/teams/{team}/members — requester eligible (team requesters)',
    'POST /repos/{o}/{r}/git/refs — the request branch',
    'PUT /repos/{o}/{r}/contents/grants/… — the grant file, one commit',
    'POST /repos/{o}/{r}/pulls — the grant PR',
    'POST /repos/{o}/{r}/pulls/{n}/requested_reviewers — the approvers',
    'POST /repos/{o}/{r}/issues/{pr}/labels — pending on the PR',
    'POST /repos/{o}/{r}/issues/{issue}/labels — pending on the issue',
    'POST /repos/{o}/{r}/issues/{issue}/comments — "opened #N"',
    // pull_request.opened: the decision (nothing cached can tell the PR's state)
    'GET /repos/{o}/{r}/pulls/{n} — head, state',
    'GET /repos/{o}/{r}/compare/{base}...{head} — files and commits of the decided head',
    'GET /repos/{o}/{r}/contents/grants/…?ref=head — the grant at the head',
    'GET /repos/{o}/{r}/git/ref/heads/main — policy commit now (policies cached by it)',
    'GET /orgs/{org}/teams/{team}/members — requester still eligible (no reviews: approvers not needed)',
    'GET /repos/{o}/{r}/pulls/{n}/reviews — none yet, but they must be read',
    'GET /repos/{o}/{r}/issues/{issue} — its author must be the grant’s requester (branch edits)',
    'POST /repos/{o}/{r}/check-runs — gatepass/approval in progress',
  ],
  'approval (review → decision → merge → notices)': [
    'GET /repos/{o}/{r}/pulls/{n}',
    'GET /repos/{o}/{r}/compare/{base}...{head}',
    'GET /repos/{o}/{r}/contents/grants/…?ref=head',
    'GET /repos/{o}/{r}/git/ref/heads/main — policy commit (policies cached by it)',
    'GET /repos/{o}/{r}/pulls/{n}/reviews',
    'GET /repos/{o}/{r}/issues/{issue} — its author must be the grant’s requester (branch edits)',
    'GET /orgs/{org}/teams/{team}/members — requester still eligible, now',
    'GET /orgs/{org}/teams/{team}/members — approver memberships, now',
    'POST /repos/{o}/{r}/check-runs — success',
    'PUT /repos/{o}/{r}/pulls/{n}/merge — at the decided head',
    'DELETE …/issues/{pr}/labels/pending, POST …/issues/{pr}/labels — PR labels',
    'DELETE …/issues/{issue}/labels/pending, POST …/issues/{issue}/labels — issue labels',
    'POST /repos/{o}/{r}/issues/{issue}/comments — "approved and merged"',
  ],
  'issue (action: verify, issue, deliver)': [
    'GET /repos/{o}/{r}/pulls/{n} — merged, merge commit, head',
    'GET /repos/{o}/{r}/compare/{parent}...{head} — exactly this grant file, by whom',
    'GET /repos/{o}/{r}/issues/{issue} — its author must be the grant’s requester (hand merges)',
    'GET /orgs/{org}/teams/{team}/members — requester still eligible, now',
    'GET /orgs/{org}/teams/{team}/members — approver memberships, now',
    'GET /repos/{o}/{r}/pulls/{n}/reviews — approvals on the final head',
    'GET /user/{id} — the requester’s current login (ids are stable, logins are not)',
    'GET /users/{login}/keys — keys to encrypt the password to',
    'POST /repos/{o}/{r}/issues/{issue}/comments — the encrypted password',
  ],
  'revoke (action: expiry sweep)': [],
};

const minimumCount = (step: string): number =>
  (MINIMUM[step] ?? []).reduce((n, line) => n + (line.startsWith('DELETE') ? 2 : 1), 0);

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
  '1. GET the pull request (open? its head)',
  '2. in parallel: the head’s files and commits (compare), reviews, main ref (policies cached by commit), the issue named by the branch',
  '3. in parallel: the grant at the head and team memberships (the resource is in the file path)',
  '4. check run',
  '5. merge at the decided head',
  '6. in parallel: labels and comment',
];

export async function measureLifecycle(): Promise<{
  steps: { name: string; calls: number; byRoute: Record<string, number> }[];
  reviewTrips: number;
}> {
  let proxy: Awaited<ReturnType<typeof timingProxy>> | undefined;
  const clock = new DemoClock();
  let w: World | undefined;
  try {
    w = await startWorld({
      clock,
      appApi: async (url) => {
        proxy = await timingProxy(url);
        return proxy.url;
      },
    });
    const world = w;
    const steps: { name: string; calls: number; byRoute: Record<string, number> }[] = [];
    const measure = async (name: string, fn: () => Promise<unknown>) => {
      const from = world.gh.requests.length;
      await fn();
      const c = callsSince(world, from, BOT);
      steps.push({ name, calls: c.total, byRoute: c.byRoute });
    };
    let pr = 0;
    await measure('request (issue opened → grant PR, check run)', async () => {
      const o = await openRequest(world, 'alice', {
        resource: 'prod-db',
        duration: 1800,
        justification: 'Checkout is slow since the deploy; reading the orders table',
        ticket: 'INC-7',
      });
      if (!o.pr) throw new Error('no grant PR');
      pr = o.pr;
    });
    const timedFrom = proxy!.log.length;
    await measure('approval (review → decision → merge → notices)', () =>
      review(world, 'bob', pr, 'APPROVE'),
    );
    const reviewTrips = roundTrips(proxy!.log.slice(timedFrom));
    await measure('issue (action: verify, issue, deliver)', () => runAction(world));
    clock.advance(1800 + 60);
    await measure('revoke (action: expiry sweep)', () => runAction(world));
    if (world.gh.problems.length) throw new Error(world.gh.problems.join('; '));
    return { steps, reviewTrips };
  } finally {
    proxy?.close();
    await w?.stop();
  }
}

export const lifecycleBench: Bench = {
  name: 'lifecycle',
  async run(): Promise<BenchRow[]> {
    const { steps, reviewTrips } = await measureLifecycle();
    for (const s of steps) {
      process.stderr.write(
        `lifecycle: ${s.name}: ${s.calls} calls (minimum ${minimumCount(s.name)})\n`,
      );
      for (const [route, n] of Object.entries(s.byRoute).sort())
        process.stderr.write(`  ${String(n).padStart(3)} ${route}\n`);
    }
    const total = steps.reduce((n, s) => n + s.calls, 0);
    const minimum = steps.reduce((n, s) => n + minimumCount(s.name), 0);
    const rows: BenchRow[] = [
      {
        figure: 'GitHub API calls per full lifecycle (app + action)',
        baseline: `hand-counted minimum ${minimum} (bench/lifecycle.bench.ts MINIMUM)`,
        measured: `${total} calls (${steps.map((s) => `${s.name.split(' ')[0]} ${s.calls}`).join(', ')})`,
        ratio: total / minimum,
        target: '≤ 1.2×',
        met: total / minimum <= 1.2,
      },
      {
        figure: 'sequential API round trips on the critical path of a review event',
        baseline: `minimum ${MINIMUM_REVIEW_TRIPS.length} (pull; files+reviews+ref; grant+teams; check; merge; notices)`,
        measured: `${reviewTrips} round trips`,
        ratio: reviewTrips / MINIMUM_REVIEW_TRIPS.length,
        target: '≤ 1.2×',
        met: reviewTrips / MINIMUM_REVIEW_TRIPS.length <= 1.2,
      },
    ];
    for (const s of steps) {
      const min = minimumCount(s.name);
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
