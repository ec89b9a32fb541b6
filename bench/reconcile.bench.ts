import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reconcile } from '../src/engine/reconcile/index.js';
import type { Grant } from '../src/core/grant.js';
import { archivePath, grantPath, serializeGrant } from '../src/core/grant-file.js';
import { GitRepo } from '../src/git/git-repo.js';
import { scale } from './support/scale.js';
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

function grant(i: number, status: 'active' | 'expired'): Grant {
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

/** A repo with `live` active grants and `archived` expired ones, in one fast-import commit. */
function buildRepo(live: number, archived: number): { dir: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'gatepass-bench-'));
  const dir = join(root, 'repo');
  execFileSync('git', ['init', '--quiet', '-b', 'main', dir]);
  const files: [string, string][] = [['policies/example.yaml', POLICY]];
  for (let i = 1; i <= live; i++) {
    const g = grant(i, 'active');
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
async function timeDryRun(dir: string, runs = 7): Promise<number> {
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

export const reconcileBench: Bench = {
  name: 'reconcile',
  async run(): Promise<BenchRow[]> {
    const archived = scale(10_000, 200);
    const [fewer, more] = [scale(100, 10), scale(1000, 100)];
    const small = await measure(10, 0);
    const withArchive = await measure(10, archived);
    const hundred = await measure(fewer, 0);
    const thousand = await measure(more, 0);
    const archiveRatio = withArchive / small;
    const liveRatio = thousand / hundred;
    return [
      {
        figure: `dry-run reconcile, 10 live grants among ${archived.toLocaleString('en')} archived`,
        baseline: `10 live, no archive: ${ms(small)}`,
        measured: ms(withArchive),
        ratio: archiveRatio,
        target: '≤ 1.5× (work grows with live grants, not history)',
        met: archiveRatio <= 1.5,
      },
      {
        figure: `dry-run reconcile, ${more.toLocaleString('en')} live grants`,
        baseline: `${fewer} live: ${ms(hundred)}`,
        measured: ms(thousand),
        ratio: liveRatio,
        target: '≈ 10× (linear in live grants; ≤ 12×)',
        met: liveRatio <= 12,
        notes:
          'one git cat-file --batch for all grant files; fixed cost per run is a few git calls',
      },
    ];
  },
};
