import type { AuditHistory, AuditIdentity, CommitNote, GrantTimeline } from './audit-timeline.js';
import { grantKey } from './audit-timeline.js';
import { formatDuration, MINUTE, type Seconds } from './duration.js';
import { isTeam, sameLogin } from './identity.js';
import type { PolicySet, Resource } from './policy.js';
import { DEFAULT_REVIEW_WITHIN } from './policy-load.js';
import { timestampMs } from './timestamp.js';

export const FINDING_KINDS = [
  'insufficient-approvals',
  'policy-violation',
  'unknown-policy',
  'late-end',
  'direct-push',
  'widened',
  'impossible-timeline',
  'forged-trailer',
  'invalid-grant-file',
  'refused',
  'break-glass',
  'break-glass-review',
  'history-rewritten',
  'residue',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** `info` is reported but does not fail `--verify`. */
export type Severity = 'error' | 'info';

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** The commit the finding is about. */
  commit?: string;
  /** `resource/id` of the grant, when it is about one. */
  grant?: string;
  /** When it happened (ISO 8601), for filtering and sorting. */
  at?: string;
  message: string;
}

/** Policies as they were at one commit, and whether that commit is on the audited branch. */
export interface PolicySnapshot {
  policies: PolicySet;
  onBranch: boolean;
  /** Problems of the policy files then (a file with any problem defined nothing). */
  problems?: string[];
}

export type PolicyLookup = (sha: string) => PolicySnapshot | undefined;

/**
 * Who may write gatepass trailers. Git author identities are self-declared, so this catches
 * hand-made commits, not a determined forger (that needs signed commits checked on GitHub).
 * `gatepass@users.noreply.github.com` is the identity GitRepo commits as by default.
 */
export const DEFAULT_BOTS: readonly string[] = [
  'github-actions[bot]',
  '*[bot]',
  'gatepass@users.noreply.github.com',
];

/** Without the app: one interval of the shipped workflow's schedule (its backstop bound). */
export const DEFAULT_SWEEP_INTERVAL: Seconds = 5 * MINUTE;
/** With the app keeping the deadlines (it dispatches the run at each one): two minutes. */
export const APP_TIMER_LATE_BOUND: Seconds = 2 * MINUTE;
/** The committer GitHub records on the merges it makes (squash and merge commits). */
const GITHUB_WEB_FLOW = 'noreply@github.com';
const sameEmail = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export interface VerifyOptions {
  /** How long past its expiry a grant may stay live (the schedule's period plus slack). */
  sweepInterval?: Seconds;
  /** Names or emails (`*` wildcards) of the identities gatepass commits as. */
  bots?: readonly string[];
  /** The end of the history: still-live grants are judged against it. */
  now: Date;
  /**
   * Commits at or before the recorded baseline (`--since-commit`, `.gatepass/baseline`): the
   * history before gatepass was adopted, which cannot have come through it. Not judged.
   */
  beforeBaseline?: (sha: string) => boolean;
}

/** Patterns compiled once each: the verifier asks about every commit's author and committer. */
const globs = new Map<string, RegExp>();
function globToRegExp(glob: string): RegExp {
  let re = globs.get(glob);
  if (re === undefined) {
    re = new RegExp(
      `^${glob
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      'i',
    );
    if (globs.size < 256) globs.set(glob, re);
  }
  return re;
}

/** Whether an author name or email matches one of the bot patterns. */
export function isBotIdentity(who: AuditIdentity, bots: readonly string[] = DEFAULT_BOTS): boolean {
  return bots.some((b) => {
    const re = globToRegExp(b);
    return re.test(who.name) || re.test(who.email);
  });
}

const ms = (t: string | undefined): number | undefined =>
  t === undefined ? undefined : (timestampMs(t) ?? undefined);
const short = (sha: string): string => sha.slice(0, 12);
const who = (i: AuditIdentity): string => `${i.name} <${i.email}>`;
const late = (milliseconds: number): string =>
  formatDuration(Math.max(1, Math.round(milliseconds / 1000)));

/** `(#123)` at the end of a squash commit, or GitHub's merge commit subject. */
export function pullRequestOf(subject: string, parents: number): number | undefined {
  const squash = /\(#(\d+)\)\s*$/.exec(subject);
  if (squash) return Number(squash[1]);
  const merge = /^Merge pull request #(\d+) from \S+/.exec(subject);
  return merge && parents >= 2 ? Number(merge[1]) : undefined;
}

/** The distinct policy commits the verifier will ask about (load them before calling it). */
export function policyCommitsOf(history: AuditHistory): string[] {
  return [...new Set(history.timelines.map((t) => t.policyCommit).filter((s): s is string => !!s))];
}

/**
 * Checks a folded history against policy and against how gatepass writes history. Pure: the
 * caller supplies the policies at each recorded policy commit. Every finding names its commit.
 */
export function verifyAudit(
  history: AuditHistory,
  policiesAt: PolicyLookup,
  options: VerifyOptions,
): Finding[] {
  const findings: Finding[] = [];
  const bots = options.bots ?? DEFAULT_BOTS;
  const sweep = (options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL) * 1000;
  const now = options.now.getTime();

  const before = options.beforeBaseline ?? (() => false);
  for (const note of history.notes) if (!before(note.sha)) checkNote(note, findings);

  for (const tl of history.timelines) {
    const grant = grantKey(tl.resource, tl.id);
    const add = (f: Omit<Finding, 'grant'>) => findings.push({ grant, ...f });

    for (const e of tl.events) {
      if (before(e.sha)) continue;
      // Without trailers, nothing but the author name would say gatepass made it, and anyone
      // who pushes sets that name freely: a move to the archive is no exception.
      if (e.kind === 'changed' || (e.kind === 'archived' && !e.trailers)) {
        add({
          kind: 'direct-push',
          severity: 'error',
          commit: e.sha,
          at: e.committedAt,
          message: `${grant} changed without gatepass trailers (a direct push; the author claims to be ${who(e.author)})`,
        });
        continue;
      }
      // The app's squash merge of a pull request is authored in the PR author's name (a person,
      // for a hand-opened request) and committed by GitHub: its trailers are the app's when the
      // commit is GitHub's merge of the pull request they name. Names are claims either way;
      // docs/audit.md says what proves authorship (GitHub-verified signatures, --verified-head).
      const prMerge =
        e.kind === 'approved' &&
        sameEmail(e.committer.email, GITHUB_WEB_FLOW) &&
        e.trailers?.pullRequest !== undefined &&
        pullRequestOf(e.subject, e.parents) === e.trailers.pullRequest;
      if (!prMerge && !isBotIdentity(e.author, bots))
        add({
          kind: 'forged-trailer',
          severity: 'error',
          commit: e.sha,
          at: e.committedAt,
          message: `"${e.kind}" trailers on ${grant} in a commit whose author claims to be ${who(e.author)}, not a gatepass bot identity`,
        });
      if (e.kind === 'approved') {
        const pr = pullRequestOf(e.subject, e.parents);
        const claimed = e.trailers?.pullRequest;
        if (claimed === undefined || pr !== claimed)
          add({
            kind: 'direct-push',
            severity: 'error',
            commit: e.sha,
            at: e.committedAt,
            message:
              claimed === undefined
                ? `approval of ${grant} names no pull request (Gatepass-Pull-Request)`
                : `approval of ${grant} claims pull request #${claimed}, but the commit is not its merge (subject "${e.subject}")`,
          });
      }
    }

    for (const a of tl.anomalies)
      add({
        kind: 'impossible-timeline',
        severity: 'error',
        commit: a.sha,
        message: `${grant}: ${a.message}`,
      });
    for (const w of tl.widenings)
      add({
        kind: 'widened',
        severity: 'error',
        commit: w.sha,
        message: `${grant} widened after approval: ${w.field} ${w.from} → ${w.to}`,
      });
    for (const bad of tl.invalid)
      add({
        kind: 'invalid-grant-file',
        severity: 'error',
        commit: bad.sha,
        message: `${bad.path} is not a valid grant file: ${bad.problems.map((p) => p.message).join('; ')}`,
      });
    if (tl.endEvent === 'refused')
      add({
        kind: 'refused',
        severity: 'info',
        commit: tl.endedSha!,
        at: tl.endedAt!,
        message: `${grant} was refused by the action (no approved pull request behind it)`,
      });

    if (tl.residue)
      add({
        kind: 'residue',
        severity: 'error',
        commit: tl.residue.sha,
        ...(tl.endedAt ? { at: tl.endedAt } : {}),
        message: `${grant} may have left lasting access made during its window: ${tl.residue.items.join('; ')}`,
      });

    const snapshot = tl.policyCommit ? policiesAt(tl.policyCommit) : undefined;
    const resource = snapshot?.policies.resources.get(tl.resource);
    checkApproval(tl, snapshot, resource, add);
    checkExpiry(tl, sweep, now, add);
    checkBreakGlass(tl, resource, now, add);
  }
  return findings;
}

function checkNote(note: CommitNote, findings: Finding[]): void {
  // The repository's first commit creates policies/ and grants/: nothing to merge it into.
  if (note.parents === 0) return;
  if (pullRequestOf(note.subject, note.parents) !== undefined) return;
  findings.push({
    kind: 'direct-push',
    severity: 'error',
    commit: note.sha,
    at: note.committedAt,
    message:
      note.kind === 'policy-change'
        ? `policy change (${note.paths.join(', ')}) by ${who(note.author)} did not come from a merged pull request`
        : `${note.paths.join(', ')} changed by ${who(note.author)} outside a pull request`,
  });
}

type Add = (f: Omit<Finding, 'grant'>) => void;

function checkApproval(
  tl: GrantTimeline,
  snapshot: PolicySnapshot | undefined,
  resource: Resource | undefined,
  add: Add,
): void {
  // Only grants that were issued gave access; a refused or never-issued grant is judged elsewhere.
  if (!tl.issuedSha) return;
  const commit = tl.issuedSha;
  const base = { commit, at: tl.issuedAt ?? '' };
  const grant = grantKey(tl.resource, tl.id);
  if (!tl.policyCommit) {
    add({
      ...base,
      kind: 'unknown-policy',
      severity: 'error',
      message: `${grant} was issued without a recorded policy commit`,
    });
    return;
  }
  if (!snapshot) {
    add({
      ...base,
      kind: 'unknown-policy',
      severity: 'error',
      message: `${grant} was judged against policy commit ${short(tl.policyCommit)}, which is not in the repository`,
    });
    return;
  }
  if (!snapshot.onBranch)
    add({
      ...base,
      kind: 'unknown-policy',
      severity: 'error',
      message: `${grant} was judged against policy commit ${short(tl.policyCommit)}, which is not on the audited branch`,
    });
  if (!resource) {
    add({
      ...base,
      kind: 'insufficient-approvals',
      severity: 'error',
      message: `${grant}: resource "${tl.resource}" is not defined at policy commit ${short(tl.policyCommit)}${snapshot.problems?.length ? ` (its policy files had problems: ${snapshot.problems.slice(0, 3).join('; ')})` : ''}`,
    });
    return;
  }
  const at = `at policy commit ${short(tl.policyCommit)}`;
  const requester = tl.requester;
  if (tl.duration !== undefined && tl.duration > resource.max_duration)
    add({
      ...base,
      kind: 'policy-violation',
      severity: 'error',
      message: `${grant} lasts ${formatDuration(tl.duration)}, more than the ${formatDuration(resource.max_duration)} allowed ${at}`,
    });
  // Team membership is not in git: only a list made of logins alone can prove a requester out.
  if (
    requester &&
    !resource.requesters.some(isTeam) &&
    !resource.requesters.some((p) => sameLogin(p, requester.login))
  )
    add({
      ...base,
      kind: 'policy-violation',
      severity: 'error',
      message: `${grant}: ${requester.login} is not among the requesters ${at}`,
    });

  const rule = tl.rule ?? 'reviews';
  if (rule === 'reviews') {
    const counted = new Set<number>();
    const rejected: string[] = [];
    for (const a of tl.approvers) {
      const reason =
        requester && a.id === requester.id
          ? 'is the requester'
          : a.login.toLowerCase().endsWith('[bot]')
            ? 'is a bot'
            : !a.via
              ? 'has no recorded approvers entry (via)'
              : !resource.approvers.some((p) => p.toLowerCase() === a.via!.toLowerCase())
                ? `approved via "${a.via}", which is not among the approvers ${at}`
                : !isTeam(a.via) && !sameLogin(a.via, a.login)
                  ? `approved via "${a.via}", which is another person's login`
                  : null;
      if (reason) rejected.push(`${a.login} ${reason}`);
      else counted.add(a.id);
    }
    if (counted.size < resource.approvals_required)
      add({
        ...base,
        kind: 'insufficient-approvals',
        severity: 'error',
        message: `${grant} was issued with ${counted.size} of ${resource.approvals_required} required eligible approvals ${at}${rejected.length ? ` (${rejected.join('; ')})` : ''}`,
      });
    return;
  }
  if (rule === 'break_glass') {
    const bg = resource.break_glass;
    if (!bg || !tl.breakGlass)
      add({
        ...base,
        kind: 'insufficient-approvals',
        severity: 'error',
        message: `${grant} was issued as break-glass, which ${bg ? 'the grant does not declare' : `"${tl.resource}" does not allow ${at}`}`,
      });
    else if (tl.duration !== undefined && tl.duration > bg.max_duration)
      add({
        ...base,
        kind: 'policy-violation',
        severity: 'error',
        message: `${grant}: break-glass for ${formatDuration(tl.duration)}, more than ${formatDuration(bg.max_duration)} ${at}`,
      });
    else if (
      requester &&
      !bg.allowed.some(isTeam) &&
      !bg.allowed.some((p) => sameLogin(p, requester.login))
    )
      add({
        ...base,
        kind: 'insufficient-approvals',
        severity: 'error',
        message: `${grant}: ${requester.login} may not use break-glass ${at}`,
      });
    return;
  }
  const auto = /^auto_approve:(.+)$/.exec(rule);
  const found = auto ? resource.auto_approve.find((r) => r.name === auto[1]) : undefined;
  if (!found)
    add({
      ...base,
      kind: 'insufficient-approvals',
      severity: 'error',
      message: `${grant} was approved by rule "${rule}", which does not exist ${at}`,
    });
  else if (tl.duration !== undefined && tl.duration > found.max_duration)
    add({
      ...base,
      kind: 'insufficient-approvals',
      severity: 'error',
      message: `${grant} lasts ${formatDuration(tl.duration)}, more than rule "${found.name}" auto-approves (${formatDuration(found.max_duration)})`,
    });
  else if (
    requester &&
    !found.requester_in.some(isTeam) &&
    !found.requester_in.some((p) => sameLogin(p, requester.login))
  )
    add({
      ...base,
      kind: 'insufficient-approvals',
      severity: 'error',
      message: `${grant}: ${requester.login} is not covered by rule "${found.name}" ${at}`,
    });
}

function checkExpiry(tl: GrantTimeline, sweep: number, now: number, add: Add): void {
  const grant = grantKey(tl.resource, tl.id);
  if (!tl.issuedSha) return;
  const expires = ms(tl.expiresAt);
  const ended = ms(tl.endedAt);
  const live = tl.endEvent === 'expired' || tl.endEvent === 'revoked' || tl.endEvent === undefined;
  if (!live) return;
  if (expires !== undefined) {
    const until = ended ?? now;
    if (until > expires + sweep)
      add({
        kind: 'late-end',
        severity: 'error',
        commit: tl.endedSha ?? tl.issuedSha,
        at: tl.endedAt ?? tl.expiresAt!,
        message:
          ended !== undefined
            ? `${grant} stayed live ${late(until - expires)} past its expiry (${tl.expiresAt}), more than the ${late(sweep)} bound (lateness ${Math.round((until - expires) / 1000)} s)`
            : `${grant} expired at ${tl.expiresAt} but no end is recorded ${late(until - expires)} later`,
      });
  }
  const asked = ms(tl.revokeRequested?.at);
  if (asked !== undefined && (expires === undefined || asked < expires)) {
    const until = ended ?? now;
    if (until > asked + sweep)
      add({
        kind: 'late-end',
        severity: 'error',
        commit: tl.endedSha ?? tl.revokeRequested!.sha,
        at: tl.endedAt ?? tl.revokeRequested!.at,
        message: `${grant}: revocation was asked at ${tl.revokeRequested!.at} and took ${late(until - asked)}`,
      });
  }
}

function checkBreakGlass(
  tl: GrantTimeline,
  resource: Resource | undefined,
  now: number,
  add: Add,
): void {
  if (!tl.breakGlass && tl.rule !== 'break_glass') return;
  const grant = grantKey(tl.resource, tl.id);
  const commit = tl.issuedSha ?? tl.approvedSha ?? tl.events[0]?.sha;
  add({
    kind: 'break-glass',
    severity: 'info',
    ...(commit ? { commit } : {}),
    ...(tl.issuedAt ? { at: tl.issuedAt } : {}),
    message: `${grant}: break-glass access by ${tl.requester?.login ?? 'unknown'}: ${tl.breakGlass?.reason ?? '(no reason recorded)'}`,
  });
  if (tl.breakGlassReview) return;
  const within = (resource?.break_glass?.review_within ?? DEFAULT_REVIEW_WITHIN) * 1000;
  const from = ms(tl.endedAt) ?? ms(tl.issuedAt) ?? ms(tl.approvedAt);
  const overdue = from !== undefined && now > from + within;
  add({
    kind: 'break-glass-review',
    severity: overdue ? 'error' : 'info',
    ...(commit ? { commit } : {}),
    ...(tl.endedAt || tl.issuedAt ? { at: (tl.endedAt ?? tl.issuedAt)! } : {}),
    message: `${grant}: no after-the-fact review recorded${overdue ? ` (overdue: due within ${late(within)})` : ''}`,
  });
}
