import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reconcile } from '../src/engine/reconcile/index.js';
import type { Grant } from '../src/core/grant.js';
import { archivePath, grantPath, serializeGrant } from '../src/core/grant-file.js';
import { GitRepo } from '../src/git/git-repo.js';
import { gitGrantWriter } from '../src/git/grant-store.js';
import type { GitHubPort } from '../src/core/ports.js';
import { FakeProvider } from '../test/helpers/reconcile.js';
import { QUICK, scale } from './support/scale.js';
import type { Bench, BenchRow } from './types.js';

const POLICY = `resources:
  prod-db:
    description: Production database, read-only
    provider: postgres
    target: { admin_url: 'env:PROD_PG_ADMIN_URL', database: app, roles: [readonly] }
    max_duration: 4h
    default_duration: 1h
    requesters: [alice]
    approvers: [bob]
    approvals_required: 1
`;
const NOW = new Date('2030-06-01T12:00:00Z');

function grant(i: number, status: 'active' | 'expired' | 'due'): Grant {
  const g: Grant = {
    id: `req-${i}`,
    resource: 'prod-db',
    requester: { login: 'alice', id: 1001 },
    duration: 3600,
    justification: 'Investigating slow checkout queries (INC-7)',
    source: { issue: i, pull_request: i + 100000 },
    policy_commit: 'c'.repeat(40),
    status: 'active',
    requested_at: '2030-01-01T10:00:00.000Z',
    approval: {
      approved_at: '2030-01-01T10:05:00.000Z',
      rule: 'reviews',
      approvers: [{ login: 'bob', id: 1002, review_id: i }],
    },
    issued_at: '2030-06-01T11:30:00.000Z',
    expires_at: '2030-06-01T13:30:00.000Z',
  };
  // Active, but its window ended before NOW: the next real run revokes it.
  if (status === 'due') g.expires_at = '2030-06-01T11:59:00.000Z';
  if (status === 'expired') {
    // Spread over 24 months, like a real archive.
    const month = String((i % 12) + 1).padStart(2, '0');
    const year = 2028 + (i % 2);
    Object.assign(g, {
      status: 'expired',
      issued_at: `${year}-${month}-01T10:00:00.000Z`,
      expires_at: `${year}-${month}-01T11:00:00.000Z`,
      ended_at: `${year}-${month}-01T11:00:00.000Z`,
    });
  }
  return g;
}

/**
 * A repo with `live` active grants (the first `due` of them past their expiry) and `archived`
 * expired ones, in one fast-import commit.
 */
function buildRepo(live: number, archived: number, due = 0): { dir: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'gatepass-bench-'));
  const dir = join(root, 'repo');
  execFileSync('git', ['init', '--quiet', '-b', 'main', dir]);
  const files: [string, string][] = [['policies/example.yaml', POLICY]];
  for (let i = 1; i <= live; i++) {
    const g = grant(i, i <= due ? 'due' : 'active');
    files.push([grantPath(g.resource, g.id), serializeGrant(g)]);
  }
  for (let i = live + 1; i <= live + archived; i++) {
    const g = grant(i, 'expired');
    files.push([archivePath(g), serializeGrant(g)]);
  }
  const msg = 'Bench fixture\n';
  let stream =
    'commit refs/heads/main\ncommitter bench <bench@example.com> 1900000000 +0000\n' +
    `data ${Buffer.byteLength(msg)}\n${msg}`;
  for (const [path, text] of files)
    stream += `M 100644 inline ${path}\ndata ${Buffer.byteLength(text)}\n${text}\n`;
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: stream });
  execFileSync('git', ['reset', '--quiet', '--hard'], { cwd: dir });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Median wall time of a dry-run reconcile (read files from git, parse, load policies, plan). */
async function timeDryRun(dir: string, runs = scale(7, 3)): Promise<number> {
  const repo = await GitRepo.open(dir);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await reconcile({
      history: repo,
      branch: 'main',
      clock: { now: () => NOW },
      env: {},
      mask: () => {},
      log: () => {},
      dryRun: true,
    });
    times.push(performance.now() - t0);
    if (r.problems.length) throw new Error(`bench fixture has problems: ${r.problems[0]!.message}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function measure(live: number, archived: number): Promise<number> {
  const repo = buildRepo(live, archived);
  try {
    return await timeDryRun(repo.dir);
  } finally {
    repo.cleanup();
  }
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

/** Nothing in a revocation by the fake provider asks GitHub; any call is a bench bug. */
const NO_GITHUB = new Proxy({} as GitHubPort, {
  get: (_, name) => () => Promise.reject(new Error(`unexpected GitHub call ${String(name)}`)),
});

/**
 * Wall time of one real run that revokes the `due` first of `live` active grants: a clone of a
 * local bare remote, the provider a no-op (what is measured is gatepass: plan, commit, push),
 * one commit per revocation, pushed to the bare remote.
 */
async function timeRealRun(live: number, due: number): Promise<{ wall: number; perStep: number }> {
  const fixture = buildRepo(live, 0, due);
  const root = mkdtempSync(join(tmpdir(), 'gatepass-bench-run-'));
  try {
    const bare = join(root, 'remote.git');
    const work = join(root, 'work');
    execFileSync('git', ['clone', '--quiet', '--bare', fixture.dir, bare]);
    execFileSync('git', ['clone', '--quiet', bare, work]);
    const repo = await GitRepo.open(work);
    const provider = new FakeProvider();
    const t0 = performance.now();
    // When the first step began: from there to the end is the steps' work (and the plan after
    // each), without the clone, the read and the first plan that every run pays once.
    let firstStep: number | undefined;
    const r = await reconcile({
      history: repo,
      writer: gitGrantWriter(repo, 'origin', 'main'),
      github: NO_GITHUB,
      branch: 'main',
      clock: { now: () => NOW },
      env: {},
      mask: () => {},
      log: () => {},
      provider: () => provider,
      hook: async (point) => {
        if (point === 'before-step') firstStep ??= performance.now();
      },
    });
    const end = performance.now();
    if (r.failures.length) throw new Error(`real run failed: ${r.failures[0]!.message}`);
    const expired = r.events.filter((e) => e.event === 'expired').length;
    if (expired !== due) throw new Error(`expected ${due} expiries, got ${expired}`);
    const pushed = execFileSync('git', ['rev-list', '--count', 'main'], { cwd: bare }).toString();
    if (Number(pushed) !== 1 + due) throw new Error(`expected ${1 + due} commits, got ${pushed}`);
    return { wall: end - t0, perStep: due ? (end - firstStep!) / due : 0 };
  } finally {
    rmSync(root, { recursive: true, force: true });
    fixture.cleanup();
  }
}

export const reconcileBench: Bench = {
  name: 'reconcile',
  async run(): Promise<BenchRow[]> {
    const archived = scale(10_000, 200);
    const sizes = [10, 100, scale(1000, 200), scale(10_000, 300)] as const;
    const small = await measure(10, 0);
    const withArchive = await measure(10, archived);
    const dry: number[] = [];
    for (const n of sizes) dry.push(n === 10 ? small : await measure(n, 0));
    const [, , thousand, tenThousand] = dry as [number, number, number, number];
    const archiveRatio = withArchive / small;
    const liveRatio = tenThousand / thousand;
    const rows: BenchRow[] = [
      {
        figure: `dry-run reconcile, 10 live grants among ${archived.toLocaleString('en')} archived`,
        baseline: `10 live, no archive: ${ms(small)}`,
        measured: ms(withArchive),
        ratio: archiveRatio,
        target: '≤ 1.5× (work grows with live grants, not history)',
        met: archiveRatio <= 1.5,
      },
      {
        figure: `dry-run reconcile, ${sizes[3].toLocaleString('en')} live grants`,
        baseline: `${sizes[2].toLocaleString('en')} live: ${ms(thousand)} (10: ${ms(dry[0]!)}, 100: ${ms(dry[1]!)})`,
        measured: ms(tenThousand),
        ratio: liveRatio,
        target: '≈ 10× (linear in live grants; ≤ 12×)',
        met: liveRatio <= 12,
        notes:
          'grant blobs read by object id in one git cat-file --batch, the strict fast reader; median of 7, warm',
      },
    ];

    // Real runs: per-step cost at each size, timed from the first step's start to the run's end
    // (median of 3 runs), then the many-expiries case at the largest size.
    const STEPS = scale(10, 3); // at most the smallest size
    const perStep: string[] = [];
    let smallest = 0;
    let largest = 0;
    // The quick mode only checks that the code runs: the ends of the range.
    for (const n of QUICK ? [sizes[0], sizes[3]] : sizes) {
      const runs: number[] = [];
      for (let i = 0; i < scale(3, 1); i++) runs.push((await timeRealRun(n, STEPS)).perStep);
      runs.sort((a, b) => a - b);
      const step = runs[Math.floor(runs.length / 2)]!;
      if (n === sizes[0]) smallest = step;
      largest = step;
      perStep.push(`${n.toLocaleString('en')}: ${ms(step)}`);
    }
    const stepRatio = largest / smallest;
    rows.push({
      figure: `real run, cost per revocation step by live grants (${STEPS} steps)`,
      baseline: `10 live: ${ms(smallest)}`,
      measured: perStep.join(', '),
      ratio: stepRatio,
      target: `independent of live grants (${sizes[3].toLocaleString('en')} live ≤ 2× of 10 live)`,
      met: stepRatio <= 2,
      notes:
        'step = plan + revoke (no-op provider) + commit + push to a local bare remote; first step to end of run / steps, median of 3 runs',
    });
    const many = scale(100, 10);
    const manyWall = (await timeRealRun(sizes[3], many)).wall;
    rows.push({
      figure: `real run, ${many} revocations among ${sizes[3].toLocaleString('en')} live grants`,
      baseline: 'the budget: 120 s (the workflow times out at 15 min)',
      measured: `${(manyWall / 1000).toFixed(1)} s`,
      ratio: manyWall / 120_000,
      target: '≤ 120 s wall',
      met: manyWall <= 120_000,
      notes:
        'one commit per revocation (the audit record); clone, read, plan, revoke, commit, push to a local bare remote',
    });
    return rows;
  },
};
