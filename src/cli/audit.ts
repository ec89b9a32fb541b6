import { resolve } from 'node:path';
import {
  APP_TIMER_LATE_BOUND,
  DEFAULT_BOTS,
  DEFAULT_SWEEP_INTERVAL,
} from '../core/audit-verify.js';
import { parseDuration, type Seconds } from '../core/duration.js';
import { buildAuditReport } from '../engine/audit/build.js';
import { filterReport, parseWhen, type AuditFilter } from '../engine/audit/filter.js';
import {
  renderAuditCsv,
  renderAuditJson,
  renderAuditMarkdown,
  renderAuditTable,
} from '../engine/audit/render.js';
import { GitRepo } from '../git/git-repo.js';
import { assertDirectory } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export interface AuditCliOptions {
  rev?: string;
  since?: string;
  until?: string;
  user?: string;
  resource?: string;
  activeAt?: string;
  json?: boolean;
  csv?: boolean;
  markdown?: boolean;
  verify?: boolean;
  verifiedHead?: string;
  sinceCommit?: string;
  bot?: string[];
  sweep?: string;
  deadlineTimer?: string;
  now?: string;
}

export async function runAudit(io: CliIo, dir: string, opts: AuditCliOptions): Promise<number> {
  const root = resolve(io.cwd, dir);
  if (!(await assertDirectory(io, root))) return EXIT.usage;
  const formats = [opts.json, opts.csv, opts.markdown].filter(Boolean).length;
  if (formats > 1) {
    io.err('gatepass audit: choose one of --json, --csv, --markdown\n');
    return EXIT.usage;
  }
  if (opts.verifiedHead !== undefined) {
    if (!opts.verify) {
      io.err('gatepass audit: --verified-head goes with --verify\n');
      return EXIT.usage;
    }
    if (!/^[0-9a-f]{7,40}$/i.test(opts.verifiedHead)) {
      io.err('gatepass audit: --verified-head takes a commit id (hex)\n');
      return EXIT.usage;
    }
  }
  if (opts.sinceCommit !== undefined && !/^[0-9a-f]{7,64}$/i.test(opts.sinceCommit)) {
    io.err('gatepass audit: --since-commit takes a commit id (hex)\n');
    return EXIT.usage;
  }
  const times: Record<string, Date | undefined> = {};
  for (const [name, value] of [
    ['since', opts.since],
    ['until', opts.until],
    ['active-at', opts.activeAt],
    ['now', opts.now],
  ] as const) {
    if (value === undefined) continue;
    const d = parseWhen(value);
    if (!d) {
      io.err(
        `gatepass audit: --${name} "${value}" is not a date or an ISO 8601 time with a zone\n`,
      );
      return EXIT.usage;
    }
    times[name] = d;
  }
  if (opts.deadlineTimer !== undefined && !['app', 'action'].includes(opts.deadlineTimer)) {
    io.err('gatepass audit: --deadline-timer is app or action\n');
    return EXIT.usage;
  }
  let sweep: Seconds = opts.deadlineTimer === 'app' ? APP_TIMER_LATE_BOUND : DEFAULT_SWEEP_INTERVAL;
  if (opts.sweep !== undefined) {
    const parsed = parseDuration(opts.sweep);
    if (!parsed.ok) {
      io.err(`gatepass audit: --sweep: ${parsed.problems[0]?.message ?? 'not a duration'}\n`);
      return EXIT.usage;
    }
    sweep = parsed.value;
  }
  const now = times.now ?? new Date();
  const repo = await GitRepo.open(root).catch(() => null);
  if (!repo) {
    io.err(`gatepass audit: ${root} is not a git repository\n`);
    return EXIT.usage;
  }
  if (opts.rev !== undefined && !(await repo.revParse(opts.rev))) {
    io.err(`gatepass audit: --rev ${opts.rev} names no commit\n`);
    return EXIT.usage;
  }
  const full = await buildAuditReport(repo, {
    ...(opts.rev ? { rev: opts.rev } : {}),
    verify: opts.verify === true,
    ...(opts.verifiedHead ? { verifiedHead: opts.verifiedHead } : {}),
    ...(opts.sinceCommit ? { sinceCommit: opts.sinceCommit } : {}),
    bots: opts.bot && opts.bot.length ? opts.bot : DEFAULT_BOTS,
    sweepInterval: sweep,
    now,
  });
  const filter: AuditFilter = {
    now,
    ...(times.since ? { since: times.since } : {}),
    ...(times.until ? { until: times.until } : {}),
    ...(times['active-at'] ? { activeAt: times['active-at'] } : {}),
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.resource ? { resource: opts.resource } : {}),
  };
  const report = filterReport(full, filter);

  if (opts.json) io.out(renderAuditJson(report));
  else if (opts.csv) io.out(renderAuditCsv(report));
  else if (opts.markdown) io.out(renderAuditMarkdown(report));
  else io.out(renderAuditTable(report));
  if (!opts.verify) return EXIT.ok;
  return report.findings!.some((f) => f.severity === 'error') ? EXIT.problems : EXIT.ok;
}
