import { recordedResidue } from './residue.js';
import type { Seconds } from './duration.js';
import type { Approval, Grant, GrantStatus } from './grant.js';
import { GRANTS_DIR, POLICIES_DIR, parseGrantPath, type GrantPath } from './repo-layout.js';
import { parseGrantFast } from './grant-file-fast.js';
import type { Person } from './identity.js';
import type { Problem } from './problem.js';
import { standalone } from './string-copy.js';
import { timestampMs } from './timestamp.js';
import {
  type EventTrailers,
  type GrantEvent,
  parseBreakGlassReview,
  parseTrailers,
} from './trailers.js';

export { POLICIES_DIR } from './repo-layout.js';

export interface AuditIdentity {
  name: string;
  email: string;
}

export interface AuditFileChange {
  /** A, M, D or T (a rename arrives as D + A). */
  status: string;
  path: string;
  oldPath?: string;
  /** Blob id after the change, when known: identical content is not parsed twice. */
  blob?: string;
}

/** One commit of the default branch, oldest first, as the fold consumes it. */
export interface AuditCommit {
  sha: string;
  parents?: string[];
  author: AuditIdentity;
  committer: AuditIdentity;
  /** Commit date, ISO 8601. */
  date: string;
  message: string;
  files: AuditFileChange[];
  /** Content of a changed grant file after this commit (null when unreadable). */
  readGrant?(path: string): string | null;
}

/** `archived`: moved to the archive without trailers; `changed`: any other change without trailers. */
export type TimelineEventKind = GrantEvent | 'archived' | 'changed';

export interface TimelineEvent {
  kind: TimelineEventKind;
  sha: string;
  /** When it took effect: `Gatepass-At` when present, else the commit date. */
  at: string;
  committedAt: string;
  subject: string;
  parents: number;
  author: AuditIdentity;
  committer: AuditIdentity;
  actor?: string;
  trailers?: EventTrailers;
}

/** Something in a grant's history that cannot have happened the way gatepass writes it. */
export interface TimelineAnomaly {
  sha: string;
  message: string;
}

export interface Widening {
  sha: string;
  field: string;
  from: string;
  to: string;
}

/** Everything the history says about one grant, in the order it happened. */
export interface GrantTimeline {
  id: string;
  resource: string;
  /** Where the file is at the end of the history; undefined once deleted. */
  path?: string;
  /** Status in the last readable version of the file. */
  status?: GrantStatus;
  requester?: Person;
  requestedAt?: string;
  justification?: string;
  ticket?: string;
  source?: { issue?: number; pull_request?: number };
  duration?: Seconds;
  startAt?: string;
  extends?: string;
  breakGlass?: { reason: string };
  policyCommit?: string;
  rule?: string;
  approvers: Approval[];
  approvedAt?: string;
  approvedSha?: string;
  pullRequest?: number;
  issuedAt?: string;
  issuedSha?: string;
  expiresAt?: string;
  revokeRequested?: { at: string; by?: string; sha: string };
  endedAt?: string;
  endedSha?: string;
  endEvent?: 'expired' | 'revoked' | 'denied' | 'cancelled' | 'refused';
  endedBy?: string;
  breakGlassReview?: { by: string; sha: string; at: string };
  /** Residue the end of the grant found (`allow_lasting_access`), with the commit recording it. */
  residue?: { items: string[]; sha: string };
  events: TimelineEvent[];
  anomalies: TimelineAnomaly[];
  widenings: Widening[];
  invalid: { sha: string; path: string; problems: Problem[] }[];
}

/** A commit the verifier must judge on its own: policy changes and stray files under grants/. */
export interface CommitNote {
  kind: 'policy-change' | 'other-grants-file';
  sha: string;
  subject: string;
  parents: number;
  author: AuditIdentity;
  committer: AuditIdentity;
  committedAt: string;
  paths: string[];
  hasTrailers: boolean;
}

export interface AuditHistory {
  timelines: GrantTimeline[];
  notes: CommitNote[];
  commits: number;
  /** Newest commit folded. */
  head?: string;
}

export const grantKey = (resource: string, id: string): string => `${resource}/${id}`;

interface Internal {
  tl: GrantTimeline;
  /** The content approval is judged against: the version the approval commit added. */
  baseline?: Grant;
  lastBlob?: string;
  /** Whether a version was read, and the last one's `ended_at`: not the whole grant, kept for every grant. */
  read?: boolean;
  lastEndedAt?: string;
}

const ms = (t: string | undefined): number | undefined =>
  t === undefined ? undefined : (timestampMs(t) ?? undefined);

/** A grant file read: the grant, or why it is not one. */
interface Reading {
  path: string;
  grant: Grant | null;
  problems: Problem[];
}

/**
 * How many recent grant-file readings the fold keeps, twice over (two generations): enough for
 * an extension commit's second look and a revert soon after. What it keeps outlives young-
 * generation collections and is copied by each, so not more.
 */
const PARSED_KEPT = 256;

const POLICIES_PREFIX = `${POLICIES_DIR}/`;

/** How many grant file paths the fold keeps read (a grant's few paths are asked about often). */
const PLACES_KEPT = 4096;

/**
 * Folds the default branch's history, oldest commit first, into one timeline per grant. One
 * pass; memory grows with the number of grants (and the few policy commits), not with commits.
 */
export class AuditFold {
  private readonly grants = new Map<string, Internal>();
  private readonly notes: CommitNote[] = [];
  private count = 0;
  private head: string | undefined;
  /** Recent readings of grant files by blob id and path. */
  private parsed = new Map<string, Reading>();
  /** The readings before `parsed` filled up: two generations, no eviction one by one. */
  private parsedBefore = new Map<string, Reading>();

  /** `parseGrantPath` of recent paths. */
  private readonly places = new Map<string, GrantPath | null>();

  private where(path: string): GrantPath | null {
    let place = this.places.get(path);
    if (place === undefined) {
      place = parseGrantPath(path);
      // Bounded, so memory still follows grants and not commits.
      if (this.places.size >= PLACES_KEPT) this.places.clear();
      this.places.set(path, place);
    }
    return place;
  }

  private isArchiveMove(change: { added?: AuditFileChange; removed?: AuditFileChange }): boolean {
    return (
      change.added !== undefined &&
      change.removed !== undefined &&
      this.where(change.added.path)?.archived === true &&
      this.where(change.removed.path)?.archived === false
    );
  }

  add(commit: AuditCommit): void {
    this.count += 1;
    this.head = commit.sha;
    const nl = commit.message.indexOf('\n');
    // Its own string: every event keeps its subject, and a slice would keep the whole message.
    const subject = standalone(nl < 0 ? commit.message : commit.message.slice(0, nl));
    const parents = commit.parents?.length ?? 0;
    const trailers = parseTrailers(commit.message);
    const base = {
      sha: commit.sha,
      subject,
      parents,
      author: commit.author,
      committer: commit.committer,
      committedAt: commit.date,
    };

    let policyPaths: string[] | undefined;
    for (const f of commit.files)
      if (f.path.startsWith(POLICIES_PREFIX)) (policyPaths ??= []).push(f.path);
    if (policyPaths)
      this.notes.push({
        kind: 'policy-change',
        ...base,
        paths: policyPaths,
        hasTrailers: trailers !== null,
      });

    // Changed grant files by grant; anything else under grants/ is noted for the verifier.
    const byKey = new Map<string, { added?: AuditFileChange; removed?: AuditFileChange }>();
    const stray: string[] = [];
    for (const f of commit.files) {
      if (!f.path.startsWith(`${GRANTS_DIR}/`)) continue;
      const where = this.where(f.path);
      if (!where) {
        stray.push(f.path);
        continue;
      }
      const key = grantKey(where.resource, where.id);
      const entry = byKey.get(key) ?? {};
      if (f.status === 'D') entry.removed = f;
      else entry.added = f;
      byKey.set(key, entry);
    }
    if (stray.length)
      this.notes.push({
        kind: 'other-grants-file',
        ...base,
        paths: stray,
        hasTrailers: trailers !== null,
      });

    const named = trailers ? grantKey(trailers.resource, trailers.grant) : undefined;
    if (trailers && named) {
      const known = this.grants.has(named);
      const g = this.grant(trailers.resource, trailers.grant);
      const change = byKey.get(named);
      const at = trailers.at && timestampMs(trailers.at) !== null ? trailers.at : commit.date;
      const event: TimelineEvent = {
        kind: trailers.event,
        ...base,
        at,
        trailers,
        ...(trailers.actor ? { actor: trailers.actor } : {}),
      };
      g.tl.events.push(event);
      if (!known && !['requested', 'approved', 'refused'].includes(trailers.event))
        g.tl.anomalies.push({
          sha: commit.sha,
          message: `"${trailers.event}" for a grant the history has not seen before`,
        });
      if (!change)
        g.tl.anomalies.push({
          sha: commit.sha,
          message: `trailers name ${named} but the commit does not change its file`,
        });
      else this.applyContent(g, commit, change, trailers.event);
      this.applyEvent(g, event, trailers, change !== undefined && this.isArchiveMove(change));
      byKey.delete(named);
    }

    const review = parseBreakGlassReview(commit.message);
    if (review) {
      const g = this.grants.get(grantKey(review.resource, review.grant));
      const by = `${review.reviewer.login} (${review.reviewer.id})${review.review !== undefined ? ` review=${review.review}` : ''}`;
      if (g) g.tl.breakGlassReview = { by, sha: commit.sha, at: commit.date };
    }

    // Changes the trailers do not account for.
    for (const [key, change] of byKey) {
      const [resource, id] = key.split('/') as [string, string];
      const g = this.grant(resource, id);
      // An extension commit may rewrite the extension grant it applies.
      if (trailers?.event === 'extended' && named) {
        const content = change.added ? this.read(commit, change.added) : null;
        if (content?.grant?.extends === trailers.grant) {
          this.applyContent(g, commit, change, 'extended');
          continue;
        }
      }
      const archived =
        this.isArchiveMove(change) &&
        (change.added!.blob === undefined || change.added!.blob === g.lastBlob);
      g.tl.events.push({ kind: archived ? 'archived' : 'changed', ...base, at: commit.date });
      this.applyContent(g, commit, change, archived ? 'archived' : 'changed');
    }
  }

  result(): AuditHistory {
    return {
      timelines: [...this.grants.values()].map((g) => g.tl),
      notes: this.notes,
      commits: this.count,
      ...(this.head ? { head: this.head } : {}),
    };
  }

  private grant(resource: string, id: string): Internal {
    const key = grantKey(resource, id);
    let g = this.grants.get(key);
    if (!g) {
      g = {
        tl: { id, resource, approvers: [], events: [], anomalies: [], widenings: [], invalid: [] },
      };
      this.grants.set(key, g);
    }
    return g;
  }

  private read(commit: AuditCommit, f: AuditFileChange): Reading | null {
    // A blob id names its content, and the path is all else the reading depends on: the same
    // pair read again (an extension commit's second look, a revert) is not parsed again.
    // Kept by blob id, with the path it was read at (no key string made for every reading).
    const key = f.blob;
    const seen =
      key !== undefined ? (this.parsed.get(key) ?? this.parsedBefore.get(key)) : undefined;
    if (seen && seen.path === f.path) return seen;
    const text = commit.readGrant?.(f.path);
    if (text === undefined || text === null) return null;
    const parsed = parseGrantFast(text, f.path);
    const result: Reading = parsed.ok
      ? { path: f.path, grant: parsed.value, problems: [] }
      : { path: f.path, grant: null, problems: parsed.problems };
    if (key !== undefined) {
      // Bounded, so memory still follows grants and not commits.
      if (this.parsed.size >= PARSED_KEPT) {
        this.parsedBefore = this.parsed;
        this.parsed = new Map();
      }
      this.parsed.set(key, result);
    }
    return result;
  }

  private applyContent(
    g: Internal,
    commit: AuditCommit,
    change: { added?: AuditFileChange; removed?: AuditFileChange },
    event: TimelineEventKind,
  ): void {
    const { tl } = g;
    if (!change.added) {
      tl.path = undefined;
      return;
    }
    tl.path = change.added.path;
    if (change.added.blob !== undefined && change.added.blob === g.lastBlob) return;
    g.lastBlob = change.added.blob;
    const content = this.read(commit, change.added);
    if (!content) return;
    if (!content.grant) {
      tl.invalid.push({ sha: commit.sha, path: change.added.path, problems: content.problems });
      return;
    }
    const grant = content.grant;
    if (grant.id !== tl.id || grant.resource !== tl.resource)
      tl.anomalies.push({
        sha: commit.sha,
        message: `file of ${grantKey(tl.resource, tl.id)} holds grant ${grantKey(grant.resource, grant.id)}`,
      });
    if (!g.read) {
      tl.requester = grant.requester;
      tl.requestedAt = grant.requested_at;
      tl.justification = grant.justification;
      if (grant.ticket !== undefined) tl.ticket = grant.ticket;
      tl.source = grant.source;
      tl.duration = grant.duration;
      if (grant.start_at !== undefined) tl.startAt = grant.start_at;
      if (grant.extends !== undefined) tl.extends = grant.extends;
      if (grant.break_glass) tl.breakGlass = grant.break_glass;
      tl.policyCommit = grant.policy_commit;
    }
    if (!g.baseline || event === 'approved') g.baseline = grant;
    else this.compare(g, g.baseline, grant, commit.sha, event);
    tl.status = grant.status;
    const residue = recordedResidue(grant.issued);
    if (residue.length > 0 && tl.residue === undefined)
      tl.residue = { items: residue, sha: commit.sha };
    if (grant.approval && tl.approvers.length === 0) {
      tl.approvers = grant.approval.approvers;
      tl.rule ??= grant.approval.rule;
    }
    if (event === 'issued' || event === 'extended') {
      tl.expiresAt = grant.expires_at ?? tl.expiresAt;
      if (event === 'issued' && grant.issued_at) tl.issuedAt = grant.issued_at;
    }
    g.read = true;
    g.lastEndedAt = grant.ended_at;
  }

  /** Changes after approval that give more access than was approved. */
  private compare(g: Internal, was: Grant, now: Grant, sha: string, event: TimelineEventKind) {
    const widen = (field: string, from: unknown, to: unknown) =>
      g.tl.widenings.push({ sha, field, from: String(from), to: String(to) });
    if (now.resource !== was.resource) widen('resource', was.resource, now.resource);
    if (now.requester.id !== was.requester.id)
      widen(
        'requester',
        `${was.requester.login} (${was.requester.id})`,
        `${now.requester.login} (${now.requester.id})`,
      );
    if (now.duration > was.duration) widen('duration', was.duration, now.duration);
    if (now.requested_at !== was.requested_at)
      widen('requested_at', was.requested_at, now.requested_at);
    if (now.policy_commit !== was.policy_commit)
      widen('policy_commit', was.policy_commit, now.policy_commit);
    if (now.break_glass && !was.break_glass) widen('break_glass', 'none', now.break_glass.reason);
    const start = ms(now.start_at);
    const wasStart = ms(was.start_at);
    if (start !== undefined && wasStart !== undefined && start < wasStart)
      widen('start_at', was.start_at, now.start_at);
    const issued = ms(now.issued_at);
    const expires = ms(now.expires_at);
    // An extension legitimately moves the expiry; anything else may not outlast the approved duration.
    if (
      issued !== undefined &&
      expires !== undefined &&
      event !== 'extended' &&
      !g.tl.events.some((e) => e.kind === 'extended') &&
      expires > issued + was.duration * 1000 + 1000
    )
      widen('expires_at', `issued_at + ${was.duration}s`, now.expires_at);
  }

  private applyEvent(g: Internal, e: TimelineEvent, t: EventTrailers, archiving: boolean): void {
    const { tl } = g;
    const explicitAt = t.at !== undefined && timestampMs(t.at) !== null;
    const bad = (message: string) => tl.anomalies.push({ sha: e.sha, message });
    const ended = tl.endEvent !== undefined;
    switch (t.event) {
      case 'requested':
        tl.requestedAt ??= e.at;
        if (t.requestedBy) tl.requester ??= t.requestedBy;
        break;
      case 'approved':
        // The app's squash merge is the approval; the action then confirms it (its own
        // `approved` commit, same pull request) before issuing. Only a second, different
        // approval, or one after issue, is impossible.
        if (
          tl.approvedSha &&
          !tl.issuedSha &&
          !ended &&
          t.pullRequest !== undefined &&
          t.pullRequest === tl.pullRequest
        ) {
          if (t.approvedBy) tl.approvers = t.approvedBy;
          break;
        }
        if (tl.approvedSha) bad('approved twice');
        if (ended) bad(`approved after it ended (${tl.endEvent})`);
        tl.approvedSha = e.sha;
        tl.approvedAt = e.at;
        if (t.policy) tl.policyCommit = t.policy;
        if (t.rule) tl.rule = t.rule;
        if (t.approvedBy) tl.approvers = t.approvedBy;
        if (t.pullRequest !== undefined) tl.pullRequest = t.pullRequest;
        if (t.requestedBy) tl.requester ??= t.requestedBy;
        break;
      case 'issued': {
        if (tl.issuedSha) bad('issued twice');
        if (!tl.approvedSha) bad('issued without an approval commit before it');
        if (ended) bad(`issued after it ended (${tl.endEvent})`);
        tl.issuedSha = e.sha;
        tl.issuedAt ??= e.at;
        if (t.expires) tl.expiresAt = t.expires;
        const issued = ms(tl.issuedAt);
        const approved = ms(tl.approvedAt);
        if (issued !== undefined && approved !== undefined && issued < approved)
          bad(`issued at ${tl.issuedAt}, before its approval at ${tl.approvedAt}`);
        break;
      }
      case 'extended':
        if (!tl.issuedSha || ended) bad('extended while not active');
        if (t.expires) tl.expiresAt = t.expires;
        break;
      case 'revoke-requested':
        if (ended) bad(`revoke requested after it ended (${tl.endEvent})`);
        tl.revokeRequested = { at: e.at, sha: e.sha, ...(t.actor ? { by: t.actor } : {}) };
        break;
      case 'revoked':
      case 'expired':
      case 'denied':
      case 'cancelled':
      case 'refused':
        // The archive move may repeat the terminal event it files away.
        if (ended && !(archiving && t.event === tl.endEvent))
          bad(`${t.event} after it had already ended (${tl.endEvent})`);
        if ((t.event === 'denied' || t.event === 'cancelled') && tl.issuedSha)
          bad(`${t.event} after it was issued`);
        if (!ended) {
          tl.endEvent = t.event;
          tl.endedSha = e.sha;
          tl.endedAt = explicitAt ? e.at : (g.lastEndedAt ?? e.at);
          if (t.actor) tl.endedBy = t.actor;
        }
        break;
    }
  }
}

/** Folds a whole history at once (tests, small repositories). */
export function buildTimelines(commits: Iterable<AuditCommit>): AuditHistory {
  const fold = new AuditFold();
  for (const c of commits) fold.add(c);
  return fold.result();
}
