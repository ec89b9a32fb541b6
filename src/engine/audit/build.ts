import { AuditFold, type AuditCommit } from '../../core/audit-timeline.js';
import {
  DEFAULT_BOTS,
  DEFAULT_SWEEP_INTERVAL,
  policyCommitsOf,
  verifyAudit,
  type PolicySnapshot,
} from '../../core/audit-verify.js';
import type { Seconds } from '../../core/duration.js';
import type { AuditSource, HistoryCommit, HistoryOptions, Identity } from '../../core/ports.js';
import { formatProblem } from '../../core/problem.js';
import { GRANTS_DIR, POLICIES_DIR, REVIEWS_DIR, parseGrantPath } from '../../core/repo-layout.js';
import { loadPolicyTree } from '../policies.js';
import type { AuditReport } from './render.js';

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
  /**
   * The last commit before gatepass was adopted: it and the history before it are not judged.
   * Default: the commit id in `.gatepass/baseline` at the audited head, when that file exists.
   */
  sinceCommit?: string;
  sweepInterval?: Seconds;
  /** Still-live grants are judged against this time (default now). */
  now?: Date;
}

/**
 * What the audit asks git for: the first-parent history of `head`, oldest first, of the folders
 * gatepass writes. Exported so the bench's baseline (`bench/audit.bench.ts`) asks for exactly
 * the same.
 */
export const auditHistoryOptions = (head: string): HistoryOptions => ({
  rev: head,
  // reviews/: after-the-fact reviews of break-glass grants (src/core/break-glass.ts).
  paths: [`${GRANTS_DIR}/`, `${POLICIES_DIR}/`, `${REVIEWS_DIR}/`],
  reverse: true,
  firstParent: true,
});

/**
 * Commits are handed to the fold in batches so one `cat-file` round trip serves many files.
 * Small batches, few ahead: what waits in the queue outlives young-generation collections and is
 * copied by each, and the fold starts sooner (64 and 2 measured faster than 256 and 3 on a year
 * of 10,000 grants).
 */
const BATCH = 64;
const AHEAD = 2;
const NO_BLOB = /^0+$/;
const GRANTS_PREFIX = `${GRANTS_DIR}/`;

/**
 * Replays the branch's first-parent history of grants/ and policies/ once, oldest first, and
 * verifies it when asked. Memory holds the timelines and one batch of commits.
 */
export async function buildAuditReport(
  repo: AuditSource,
  options: AuditBuildOptions = {},
): Promise<AuditReport> {
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
        if (
          ch.status !== 'D' &&
          ch.path.startsWith(GRANTS_PREFIX) &&
          !(ch.newBlob.startsWith('0') && NO_BLOB.test(ch.newBlob)) &&
          parseGrantPath(ch.path)
        )
          wanted.add(ch.newBlob);
    const ids = [...wanted];
    const content = blobs
      .read(ids)
      .then((texts) => new Map(ids.map((id, i) => [id, texts[i] ?? null])));
    // Rejections surface when the batch is folded; do not let them go unhandled before that.
    content.catch(() => {});
    queue.push({ commits, content });
  };
  /** Every replayed commit, oldest first: what is before the baseline is a prefix of it. */
  const order: string[] = [];
  try {
    let batch: HistoryCommit[] = [];
    for await (const c of repo.logHistory(auditHistoryOptions(head))) {
      batch.push(c);
      order.push(c.sha);
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
    const baseline = await readBaseline(repo, head, options.sinceCommit);
    const preBaseline = new Set<string>();
    if (baseline.sha) {
      // First-parent history is a line: the baseline's ancestors are a prefix of it.
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (await repo.isAncestor(order[mid]!, baseline.sha)) lo = mid + 1;
        else hi = mid;
      }
      for (const sha of order.slice(0, lo)) preBaseline.add(sha);
    }
    report.findings = verifyAudit(history, (sha) => snapshots.get(sha), {
      now,
      bots: options.bots ?? DEFAULT_BOTS,
      sweepInterval: options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL,
      beforeBaseline: (sha) => preBaseline.has(sha),
    });
    if (baseline.problem)
      report.findings.unshift({
        kind: 'history-rewritten',
        severity: 'error',
        ...(baseline.sha ? { commit: baseline.sha } : {}),
        message: baseline.problem,
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
  // By name, then email: no key string made for each of the many commits.
  const known = new Map<string, Map<string, Identity>>();
  return (who) => {
    let byEmail = known.get(who.name);
    if (!byEmail) known.set(who.name, (byEmail = new Map()));
    const seen = byEmail.get(who.email);
    if (seen) return seen;
    byEmail.set(who.email, who);
    return who;
  };
}

function toAuditCommit(
  c: HistoryCommit,
  content: Map<string, string | null>,
  interned: (who: Identity) => Identity,
): AuditCommit {
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
    // A commit changes a path once (no renames), and most change one or two: a scan, no map.
    readGrant: (path) => {
      const ch = c.changes.find((x) => x.path === path);
      return ch ? (content.get(ch.newBlob) ?? null) : null;
    },
  };
}

async function policySnapshot(
  repo: AuditSource,
  sha: string,
  head: string,
): Promise<PolicySnapshot | undefined> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha) || !(await repo.revParse(sha))) return undefined;
  // A policy file with problems contributes nothing, as when the app judged against it.
  const { policies, problems } = await loadPolicyTree({
    listFiles: async (dir) => (await repo.listFiles(sha, dir)).sort(),
    readFiles: (paths) => repo.readFiles(sha, paths),
  });
  return {
    policies,
    onBranch: await repo.isAncestor(sha, head),
    problems: problems.map(formatProblem),
  };
}

/** Where an access repo records the last commit before it adopted gatepass (one commit id). */
export const BASELINE_FILE = '.gatepass/baseline';

/**
 * The recorded baseline: `--since-commit`, else `.gatepass/baseline` at the head. A baseline
 * that is not in the audited history is a finding, and judges everything (nothing is skipped).
 */
async function readBaseline(
  repo: AuditSource,
  head: string,
  since: string | undefined,
): Promise<{ sha?: string; problem?: string }> {
  let wanted = since;
  let from = '--since-commit';
  if (wanted === undefined) {
    const text = (await repo.readFiles(head, [BASELINE_FILE])).get(BASELINE_FILE);
    if (text === null || text === undefined) return {};
    wanted = text.replace(/#.*$/gm, '').trim();
    from = BASELINE_FILE;
  }
  const sha = /^[0-9a-f]{7,64}$/i.test(wanted) ? await repo.revParse(wanted) : null;
  if (!sha)
    return {
      problem: `the baseline ${JSON.stringify(wanted.slice(0, 80))} (${from}) names no commit`,
    };
  if (!(await repo.isAncestor(sha, head)))
    return {
      problem: `the baseline ${sha.slice(0, 12)} (${from}) is not in the audited history: the history was rewritten, or the baseline is wrong`,
    };
  return { sha };
}
