import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditHistoryOptions, buildAuditReport } from '../src/engine/audit/build.js';
import { renderAuditJson } from '../src/engine/audit/render.js';
import { GitRepo } from '../src/git/git-repo.js';
import { historyLogArgs } from '../src/git/history-log.js';
import type { Grant } from '../src/core/grant.js';
import { archivePath, grantPath, serializeGrant } from '../src/core/grant-file.js';
import { commitMessage, type EventTrailers } from '../src/core/trailers.js';
import { scale } from './support/scale.js';
import type { Bench, BenchRow } from './types.js';

const POLICY = `resources:
  prod-db:
    description: Production database, read-only
    provider: postgres
    target: { admin_url: env:PROD_PG_ADMIN_URL, database: app, roles: [readonly] }
    max_duration: 4h
    default_duration: 1h
    requesters: [acme/engineers]
    approvers: [alice, bob, acme/dba]
    approvals_required: 1
`;

const APP = 'gatepass[bot] <123+gatepass[bot]@users.noreply.github.com>';
const ACTION = 'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>';

/**
 * An access repo with `grants` grants of `perGrant` commits each (approve, issue, then
 * revoke-request/extend noise, end, archive), written with one `git fast-import`. Commits are a
 * minute apart; with `spacing` (seconds), each grant starts that long after the previous one
 * (a year of 10,000 grants: ~53 min), so few are live at once and each month's archive holds
 * that month's grants, as in a real access repo. Without it the grants follow each other
 * back to back (10,000 grants in ~35 days: a 9,000-file archive folder).
 */
export async function buildHistory(
  dir: string,
  grants: number,
  perGrant: number,
  spacing = 0,
): Promise<number> {
  execFileSync('git', ['init', '--quiet', '-b', 'main', dir]);
  const initial = `Initial access repo\n`;
  execFileSync('git', ['fast-import', '--quiet'], {
    cwd: dir,
    input:
      `commit refs/heads/main\nauthor Admin <admin@example.com> 1893456000 +0000\n` +
      `committer Admin <admin@example.com> 1893456000 +0000\ndata ${initial.length}\n${initial}\n` +
      `M 100644 inline policies/access.yaml\ndata ${Buffer.byteLength(POLICY)}\n${POLICY}\n`,
  });
  const policy = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir }).toString().trim();
  const child = spawn('git', ['fast-import', '--quiet'], {
    cwd: dir,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const done = new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
  let t = Date.parse('2030-01-01T00:00:00Z') / 1000;
  let commits = 1;
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  let chunk = '';
  const write = async (s: string) => {
    chunk += s;
    if (chunk.length > 1 << 20) {
      const ok = child.stdin.write(chunk);
      chunk = '';
      if (!ok) await new Promise((r) => child.stdin.once('drain', r));
    }
  };
  const commit = async (who: string, message: string, files: string) => {
    t += 60;
    commits += 1;
    await write(
      `commit refs/heads/main\nauthor ${who} ${t} +0000\ncommitter ${who} ${t} +0000\n${data(message)}` +
        (commits === 2 ? `from ${policy}\n` : '') +
        files,
    );
  };
  const iso = () => new Date(t * 1000 + 60_000).toISOString();
  const start = t;
  for (let i = 1; i <= grants; i++) {
    if (spacing > 0) t = Math.max(t, start + (i - 1) * spacing);
    const id = `req-${i}`;
    const g: Grant = {
      id,
      resource: 'prod-db',
      status: 'pending',
      requester: { login: `user${i % 97}`, id: 1000 + (i % 97) },
      duration: 3600,
      justification: `Investigating incident INC-${i} in the checkout service`,
      ticket: `INC-${i}`,
      source: { issue: i, pull_request: i + 1 },
      policy_commit: policy,
      requested_at: iso(),
    };
    const tr = (event: EventTrailers['event'], extra: Partial<EventTrailers> = {}) =>
      ({ grant: id, event, resource: 'prod-db', at: iso(), ...extra }) as EventTrailers;
    const file = (path: string) => `M 100644 inline ${path}\n${data(serializeGrant(g))}`;
    const approvers = [{ login: 'alice', id: 101, review_id: i, via: 'alice' }];
    await commit(
      APP,
      commitMessage(
        `Grant prod-db to ${g.requester.login} (#${i + 1})`,
        tr('approved', {
          requestedBy: g.requester,
          approvedBy: approvers,
          policy: g.policy_commit,
          rule: 'reviews',
          pullRequest: i + 1,
        }),
      ),
      file(grantPath('prod-db', id)),
    );
    g.status = 'active';
    g.approval = { approved_at: iso(), rule: 'reviews', approvers };
    g.issued_at = iso();
    g.expires_at = new Date(Date.parse(g.issued_at) + 3600_000).toISOString();
    await commit(
      ACTION,
      commitMessage(`Issue ${id}`, tr('issued', { expires: g.expires_at })),
      file(grantPath('prod-db', id)),
    );
    for (let k = 0; k < perGrant - 4; k++) {
      g.revoke_requested = { by: { login: 'alice', id: 101 }, at: iso() };
      await commit(
        APP,
        commitMessage(
          `Revoke requested for ${id}`,
          tr('revoke-requested', { actor: 'alice (101)' }),
        ),
        file(grantPath('prod-db', id)),
      );
    }
    g.status = 'revoked';
    g.ended_at = iso();
    await commit(
      ACTION,
      commitMessage(`Revoke ${id}`, tr('revoked', { actor: 'alice (101)' })),
      file(grantPath('prod-db', id)),
    );
    // As the action files it away (src/engine/reconcile/steps.ts): trailers, same content.
    await commit(
      ACTION,
      commitMessage(`gatepass: archive prod-db/${id} (${g.status})`, tr('archived')),
      `D ${grantPath('prod-db', id)}\n${file(archivePath(g))}`,
    );
  }
  child.stdin.end(chunk);
  if ((await done) !== 0) throw new Error('git fast-import failed');
  return commits;
}

/**
 * The bare command an audit cannot beat: the very `git log` the audit runs (the same arguments,
 * from `historyLogArgs` and `auditHistoryOptions`: first parent, oldest first, the same fields,
 * the same paths, `--raw` blob ids), read to the end and nothing parsed. `raw = false` drops
 * `--raw` and the options that go with it (for comparison with earlier figures only).
 */
async function bareLog(dir: string, raw = true): Promise<number> {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir }).toString().trim();
  const args = historyLogArgs(auditHistoryOptions(head), `gatepass-${'0'.repeat(24)}`);
  const child = spawn(
    'git',
    raw ? args : args.filter((a) => !['--raw', '--no-abbrev', '--no-renames'].includes(a)),
    { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise((r) => child.on('close', r));
  let bytes = 0;
  for await (const c of child.stdout as AsyncIterable<Buffer>) bytes += c.length;
  await exited;
  return bytes;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** CPU (user + system, ms) of this process's terminated children (Linux: /proc/self/stat). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // cutime and cstime are fields 16 and 17 of the whole line, in clock ticks (100 Hz).
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Wall and CPU (this process and its git children) of `f`, in ms. */
async function timedCpu<T>(f: () => Promise<T>): Promise<[T, number, number]> {
  const cpu0 = process.cpuUsage();
  const kids0 = childrenCpuMs();
  const t = performance.now();
  const v = await f();
  const wall = performance.now() - t;
  const own = process.cpuUsage(cpu0);
  // A child's CPU is counted once it has been reaped, which may trail the end of its output.
  await new Promise((r) => setTimeout(r, 200));
  return [v, wall, (own.user + own.system) / 1000 + childrenCpuMs() - kids0];
}

interface Contest {
  bareMs: number;
  bareCpu: number;
  auditMs: number;
  auditCpu: number;
  grants: number;
  errors: number;
}

/** Best of three for each of bare log and audit, interleaved, wall and CPU separately. */
async function contest(dir: string): Promise<Contest> {
  await bareLog(dir); // warm the page cache for both contenders
  const c: Contest = {
    bareMs: Infinity,
    bareCpu: Infinity,
    auditMs: Infinity,
    auditCpu: Infinity,
    grants: 0,
    errors: 0,
  };
  for (let i = 0; i < 3; i++) {
    const [, bw, bc] = await timedCpu(() => bareLog(dir));
    c.bareMs = Math.min(c.bareMs, bw);
    c.bareCpu = Math.min(c.bareCpu, bc);
    const [report, aw, ac] = await timedCpu(async () => {
      const built = await buildAuditReport(await GitRepo.open(dir), { verify: true, now: NOW });
      renderAuditJson(built);
      return built;
    });
    c.auditMs = Math.min(c.auditMs, aw);
    c.auditCpu = Math.min(c.auditCpu, ac);
    c.grants = report.grants.length;
    c.errors = report.findings?.filter((f) => f.severity === 'error').length ?? 0;
  }
  return c;
}
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await f();
  return [v, performance.now() - t];
}

const NOW = new Date('2031-01-01T00:00:00Z');
const MEMORY_DIR = 'GATEPASS_AUDIT_BENCH_MEMORY_DIR';

interface MemoryFigures {
  grants: number;
  commits: number;
  /** Heap after a full GC with the report still referenced, minus the heap before the run. */
  retained: number;
  /** Largest heap seen (after GC) while the audit ran, minus the heap before the run. */
  peakHeap: number;
  peakRss: number;
}

/**
 * The memory half runs in a child process started with --expose-gc: heap figures without a
 * real GC measure garbage, and peak RSS must not include building the histories.
 */
async function measureMemoryHere(dir: string): Promise<MemoryFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  const before = process.memoryUsage().heapUsed;
  let peak = 0;
  // A full GC every 200 ms shows what the fold holds on to mid-run, not what it discarded.
  const sample = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed - before);
  }, 200);
  const report = await buildAuditReport(await GitRepo.open(dir), { verify: true, now: NOW });
  clearInterval(sample);
  gc();
  const retained = process.memoryUsage().heapUsed - before;
  return {
    grants: report.grants.length,
    commits: report.commits,
    retained,
    peakHeap: Math.max(peak, retained),
    peakRss: process.resourceUsage().maxRSS * 1024,
  };
}

const memoryChild = process.env[MEMORY_DIR];
if (memoryChild !== undefined) {
  process.stdout.write(JSON.stringify(await measureMemoryHere(memoryChild)) + '\n');
  process.exit(0);
}

function measureMemory(dir: string): MemoryFigures {
  const out = execFileSync(process.execPath, ['--expose-gc', process.argv[1]!], {
    env: { ...process.env, [MEMORY_DIR]: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.toString()) as MemoryFigures;
}

export const auditBench: Bench = {
  name: 'audit',
  async run(): Promise<BenchRow[]> {
    const root = mkdtempSync(join(tmpdir(), 'gatepass-audit-bench-'));
    try {
      const grants = Number(process.env.AUDIT_BENCH_GRANTS ?? scale(10_000, 100));
      // A year of grants (the realistic shape), and the dense history of earlier figures.
      const yearDir = join(root, 'year');
      const spacing = Math.round((365 * 24 * 3600) / grants);
      const [yearCommits, yearBuildMs] = await timed(() =>
        buildHistory(yearDir, grants, 5, spacing),
      );
      const big = join(root, 'big');
      const [commits, buildMs] = await timed(() => buildHistory(big, grants, 5));
      // Same number of commits, a fifth of the grants: memory should follow grants, not commits.
      const few = join(root, 'few');
      await buildHistory(few, Math.round(grants / 5), 25);

      const year = await contest(yearDir);
      const dense = await contest(big);
      // For comparison with earlier figures: the same log without the changed paths.
      const [, messagesOnlyMs] = await timed(() => bareLog(big, false));
      const row = (name: string, c: Contest, n: number, built: number, extra: string): BenchRow => {
        const wall = c.auditMs / c.bareMs;
        const cpu = c.auditCpu / c.bareCpu;
        return {
          figure: `audit --json --verify, ${c.grants} grants / ${n} commits, ${name}`,
          baseline: `bare git log --raw of the same commits: ${seconds(c.bareMs)} wall, ${seconds(c.bareCpu)} CPU`,
          measured: `${seconds(c.auditMs)} wall (${wall.toFixed(2)}×), ${seconds(c.auditCpu)} CPU (${cpu.toFixed(2)}×)`,
          ratio: Math.max(wall, cpu),
          target: '≤ 2× the bare git log, wall and CPU',
          met: wall <= 2 && cpu <= 2,
          notes:
            `best of 3 each, interleaved; CPU = the process + its git children; ` +
            `history built in ${seconds(built)} with git fast-import${extra}; ` +
            `${c.errors} finding(s) (expected 0)`,
        };
      };
      const memBig = measureMemory(big);
      const memFew = measureMemory(few);
      const mem = (m: MemoryFigures) =>
        `${m.grants} grants / ${m.commits} commits: ${mib(m.retained)} retained, ` +
        `${mib(m.peakHeap)} peak heap, ${mib(m.peakRss)} peak RSS`;
      return [
        row(
          `spread over a year (a grant every ${Math.round(spacing / 60)} min)`,
          year,
          yearCommits,
          yearBuildMs,
          '',
        ),
        row(
          'dense (back to back, ~35 days)',
          dense,
          commits,
          buildMs,
          `; git log without --raw: ${seconds(messagesOnlyMs)}`,
        ),
        {
          figure: 'audit memory (heap after GC, child process with --expose-gc)',
          baseline: mem(memFew),
          measured: mem(memBig),
          ratio: memBig.retained / memFew.retained,
          target: 'grows with grants, not commits',
          met: null,
          notes:
            'retained: heap held by the report (timelines and findings) after the run; ' +
            'peak heap: largest heap after GC while it ran',
        },
      ];
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
