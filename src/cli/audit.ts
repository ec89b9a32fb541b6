import { resolve } from 'node:path';
import {
  AuditFold,
  POLICIES_DIR,
  type AuditCommit,
  type GrantTimeline,
} from '../core/audit-timeline.js';
import {
  DEFAULT_BOTS,
  DEFAULT_SWEEP_INTERVAL,
  APP_TIMER_LATE_BOUND,
  policyCommitsOf,
  verifyAudit,
  type Finding,
  type PolicySnapshot,
} from '../core/audit-verify.js';
import { parseDuration, type Seconds } from '../core/duration.js';
import { REVIEWS_DIR } from '../core/break-glass.js';
import { GRANTS_DIR, parseGrantPath } from '../core/grant-file.js';
import { sameLogin } from '../core/identity.js';
import { formatProblem } from '../core/problem.js';
import { loadPolicies } from '../core/policy-load.js';
import { parseTimestamp } from '../core/timestamp.js';
import { GitRepo, type HistoryCommit, type Identity } from '../git/git-repo.js';
import {
  renderAuditCsv,
  renderAuditJson,
  renderAuditMarkdown,
  renderAuditTable,
  type AuditReport,
} from './audit-render.js';
import { assertDirectory } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export { renderAuditMarkdown, type AuditReport };

export interface AuditBuildOptions {
  /** Branch or commit to audit (default HEAD: the checked-out default branch). */
  rev?: string;
  verify?: boolean;
  /**
   * The head an earlier verification saw (threat #20): if it is no longer in the audited
   * history, the history was rewritten (a force push) and whatever it held cannot be trusted.
   */
  verifiedHead?: string;
  bots?: readonly string[];
  sweepInterval?: Seconds;
  /** Still-live grants are judged against this time (default now). */
  now?: Date;
}

/** Commits are handed to the fold in batches so one `cat-file` round trip serves many files. */
const BATCH = 256;
const AHEAD = 3;
const NO_BLOB = /^0+$/;

/**
 * Replays the branch's first-parent history of grants/ and policies/ once, oldest first, and
 * verifies it when asked. Memory holds the timelines and one batch of commits.
 */
export async function buildAuditReport(
  dir: string,
  options: AuditBuildOptions = {},
): Promise<AuditReport> {
  const repo = await GitRepo.open(dir);
  const rev = options.rev ?? 'HEAD';
  const head = await repo.revParse(rev);
  if (!head) throw new Error(`${rev} names no commit`);
  const now = options.now ?? new Date();
  const fold = new AuditFold();
  const blobs = repo.blobReader();
  const interned = identityInterner();
  // Blobs for the next batches are asked for while the current one is folded, so neither git
  // process waits on the other; at most AHEAD batches are held.
  const queue: { commits: HistoryCommit[]; content: Promise<Map<string, string | null>> }[] = [];
  const foldOldest = async () => {
    const next = queue.shift()!;
    const content = await next.content;
    for (const c of next.commits) fold.add(toAuditCommit(c, content, interned));
  };
  const request = (commits: HistoryCommit[]) => {
    const wanted = new Set<string>();
    for (const c of commits)
      for (const ch of c.changes)
        if (ch.status !== 'D' && !NO_BLOB.test(ch.newBlob) && parseGrantPath(ch.path))
          wanted.add(ch.newBlob);
    const ids = [...wanted];
    const content = blobs
      .read(ids)
      .then((texts) => new Map(ids.map((id, i) => [id, texts[i] ?? null])));
    // Rejections surface when the batch is folded; do not let them go unhandled before that.
    content.catch(() => {});
    queue.push({ commits, content });
  };
  try {
    let batch: HistoryCommit[] = [];
    for await (const c of repo.logHistory({
      rev: head,
      // reviews/: after-the-fact reviews of break-glass grants (src/core/break-glass.ts).
      paths: [`${GRANTS_DIR}/`, `${POLICIES_DIR}/`, `${REVIEWS_DIR}/`],
      reverse: true,
      firstParent: true,
    })) {
      batch.push(c);
      if (batch.length < BATCH) continue;
      request(batch);
      batch = [];
      if (queue.length > AHEAD) await foldOldest();
    }
    if (batch.length) request(batch);
    while (queue.length) await foldOldest();
  } finally {
    await blobs.close();
  }
  const history = fold.result();
  const report: AuditReport = {
    head,
    commits: history.commits,
    generatedAt: now.toISOString(),
    grants: history.timelines,
  };
  if (options.verify) {
    const snapshots = new Map<string, PolicySnapshot | undefined>();
    for (const sha of policyCommitsOf(history))
      snapshots.set(sha, await policySnapshot(repo, sha, head));
    report.findings = verifyAudit(history, (sha) => snapshots.get(sha), {
      now,
      bots: options.bots ?? DEFAULT_BOTS,
      sweepInterval: options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL,
    });
    if (options.verifiedHead && !(await repo.isAncestor(options.verifiedHead, head)))
      report.findings.unshift({
        kind: 'history-rewritten',
        severity: 'error',
        commit: options.verifiedHead,
        message: `${options.verifiedHead.slice(0, 12)}, the head of an earlier verification, is no longer in the history of ${rev}: the history was rewritten (force push) since it was verified`,
      });
  }
  return report;
}

/**
 * Every event keeps its author and committer; a history has a handful of identities, so one
 * object each rather than two per commit.
 */
function identityInterner(): (who: Identity) => Identity {
  const known = new Map<string, Identity>();
  return (who) => {
    const key = `${who.name}\0${who.email}`;
    const seen = known.get(key);
    if (seen) return seen;
    known.set(key, who);
    return who;
  };
}

function toAuditCommit(
  c: HistoryCommit,
  content: Map<string, string | null>,
  interned: (who: Identity) => Identity,
): AuditCommit {
  const blobOf = new Map(c.changes.map((ch) => [ch.path, ch.newBlob]));
  return {
    sha: c.sha,
    parents: c.parents,
    author: interned(c.author),
    committer: interned(c.committer),
    date: c.committedAt,
    message: c.message,
    files: c.changes.map((ch) => ({
      status: ch.status,
      path: ch.path,
      ...(ch.status !== 'D' ? { blob: ch.newBlob } : {}),
    })),
    readGrant: (path) => content.get(blobOf.get(path) ?? '') ?? null,
  };
}

async function policySnapshot(
  repo: GitRepo,
  sha: string,
  head: string,
): Promise<PolicySnapshot | undefined> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha) || !(await repo.revParse(sha))) return undefined;
  const files = [];
  for (const path of await repo.listFiles(sha, POLICIES_DIR))
    if (/\.ya?ml$/.test(path)) files.push({ path, text: (await repo.showFile(sha, path)) ?? '' });
  // A policy file with problems contributes nothing, as when the app judged against it.
  const { policies, problems } = loadPolicies(files);
  return {
    policies,
    onBranch: await repo.isAncestor(sha, head),
    problems: problems.map(formatProblem),
  };
}

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
  bot?: string[];
  sweep?: string;
  deadlineTimer?: string;
  now?: string;
}

/** A time option: ISO 8601 with a zone, or a bare date read as UTC midnight. */
function parseWhen(text: string): Date | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return parseTimestamp(`${text}T00:00:00Z`);
  return parseTimestamp(text);
}

const ms = (t: string | undefined): number | undefined =>
  t === undefined ? undefined : parseTimestamp(t)?.getTime();

export interface AuditFilter {
  since?: Date;
  until?: Date;
  user?: string;
  resource?: string;
  activeAt?: Date;
  now: Date;
}

/** The grants a filter keeps: by resource, by person (requester or approver), by time. */
export function matchesFilter(tl: GrantTimeline, f: AuditFilter): boolean {
  if (f.resource && tl.resource !== f.resource) return false;
  if (
    f.user &&
    !(tl.requester && sameLogin(tl.requester.login, f.user)) &&
    !tl.approvers.some((a) => sameLogin(a.login, f.user!))
  )
    return false;
  const start = ms(tl.requestedAt) ?? ms(tl.events[0]?.at) ?? 0;
  const end =
    ms(tl.endedAt) ??
    (tl.issuedSha ? Number.POSITIVE_INFINITY : ms(tl.expiresAt)) ??
    f.now.getTime();
  if (f.since && end < f.since.getTime()) return false;
  if (f.until && start > f.until.getTime()) return false;
  if (f.activeAt) {
    // Conservative for incident questions: access counts from issue until a recorded end.
    const issued = ms(tl.issuedAt);
    const t = f.activeAt.getTime();
    if (issued === undefined || issued > t) return false;
    const ended = ms(tl.endedAt);
    if (ended !== undefined && ended <= t) return false;
  }
  return true;
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
  const repoOk = await GitRepo.open(root).then(
    () => true,
    () => false,
  );
  if (!repoOk) {
    io.err(`gatepass audit: ${root} is not a git repository\n`);
    return EXIT.usage;
  }
  if (opts.rev !== undefined && !(await (await GitRepo.open(root)).revParse(opts.rev))) {
    io.err(`gatepass audit: --rev ${opts.rev} names no commit\n`);
    return EXIT.usage;
  }
  const full = await buildAuditReport(root, {
    ...(opts.rev ? { rev: opts.rev } : {}),
    verify: opts.verify === true,
    ...(opts.verifiedHead ? { verifiedHead: opts.verifiedHead } : {}),
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
  const grants = full.grants.filter((tl) => matchesFilter(tl, filter));
  const report: AuditReport = { ...full, grants };
  if (full.findings) report.findings = filterFindings(full.findings, grants, filter);

  if (opts.json) io.out(renderAuditJson(report));
  else if (opts.csv) io.out(renderAuditCsv(report));
  else if (opts.markdown) io.out(renderAuditMarkdown(report));
  else io.out(renderAuditTable(report));
  if (!opts.verify) return EXIT.ok;
  return report.findings!.some((f) => f.severity === 'error') ? EXIT.problems : EXIT.ok;
}

/**
 * Findings about a grant follow the grant filter; findings about a commit alone (a policy
 * pushed directly) are kept unless the filter narrows to a person or a resource.
 */
function filterFindings(findings: Finding[], grants: GrantTimeline[], f: AuditFilter): Finding[] {
  const kept = new Set(grants.map((g) => `${g.resource}/${g.id}`));
  const narrowed = f.user !== undefined || f.resource !== undefined || f.activeAt !== undefined;
  return findings.filter((x) => {
    if (x.grant) return kept.has(x.grant);
    if (narrowed) return false;
    const at = ms(x.at);
    if (at === undefined) return true;
    return !(f.since && at < f.since.getTime()) && !(f.until && at > f.until.getTime());
  });
}
