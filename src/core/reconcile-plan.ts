import { HOUR, type Seconds } from './duration.js';
import { extensionWindow } from './extension.js';
import type { Grant } from './grant.js';
import { archivePath, grantPath, parseGrantPath } from './grant-file.js';
import { parseGrantFast } from './grant-file-fast.js';
import { isTerminal } from './grant-lifecycle.js';
import { formatPerson } from './identity.js';
import type { PolicySet } from './policy.js';
import type { Problem } from './problem.js';
import { offboardingReason, type Ineligible } from './offboarding.js';
import { parseTimestamp } from './timestamp.js';

/**
 * How long after its start an approved grant may still be issued. The schedule runs every
 * 5 minutes and GitHub delays scheduled runs by up to ~30 minutes under load, so an hour
 * survives several missed runs; past that, the approvers approved access "now" for a need that
 * has likely changed, and a fresh request is cheap. The window never reaches past the grant's
 * own end (start + duration).
 */
export const START_WINDOW: Seconds = HOUR;

/** The key the action writes into `grant.issued` when it starts issuing (two-phase issue). */
export const ISSUE_STARTED_AT = 'issue_started_at';

/** A grant read from the hot path, with the file it came from. */
export interface LiveGrantFile {
  path: string;
  grant: Grant;
}

export type Step =
  /** A pending grant reached the default branch: verify its approval through the API. */
  | { kind: 'verify'; path: string; grant: Grant }
  /**
   * Call the provider. `issuedAt`/`expiresAt` are the window the credential gets; `resume` when
   * an earlier attempt committed its `issuing` marker (the provider may already have acted).
   */
  | {
      kind: 'issue';
      path: string;
      grant: Grant;
      issuedAt: string;
      expiresAt: string;
      resume: boolean;
    }
  /**
   * Take access away and end the grant. `effect` is false when nothing can have been issued
   * (approved, never started issuing): then no provider call is needed.
   */
  | {
      kind: 'revoke';
      path: string;
      grant: Grant;
      to: 'expired' | 'revoked';
      effect: boolean;
      actor: string;
      reason: string;
    }
  /**
   * An approved extension: move the expiry of the grant it extends (same grant, same
   * credential) and close the extension, in one commit. `expiresAt` is null when it can no
   * longer apply (the grant ended, or the bound was reached meanwhile); `why` says so.
   */
  | {
      kind: 'extend';
      path: string;
      grant: Grant;
      target: LiveGrantFile | null;
      expiresAt: string | null;
      why?: string;
    }
  /** A terminal grant still in the hot path: move it to the archive. */
  | { kind: 'archive'; path: string; grant: Grant; to: string };

export interface Plan {
  /** At most one step per grant (its next one), ordered: revocations first, then the rest. */
  steps: Step[];
  problems: Problem[];
  /** Approved and active grants (the provider context's `liveGrants`). */
  live: Grant[];
}

/** Parses grant files from the hot path; a corrupt one is a problem and is left out. */
export function readGrantFiles(files: readonly { path: string; text: string }[]): {
  grants: LiveGrantFile[];
  problems: Problem[];
} {
  const grants: LiveGrantFile[] = [];
  const problems: Problem[] = [];
  for (const f of files) {
    const where = parseGrantPath(f.path);
    if (!where || where.archived) {
      problems.push({ file: f.path, message: 'not a grant file of the hot path; skipped' });
      continue;
    }
    // The strict fast reader for files in the form gatepass writes; the full parser otherwise.
    const parsed = parseGrantFast(f.text, f.path);
    if (parsed.ok) grants.push({ path: f.path, grant: parsed.value });
    else problems.push(...parsed.problems);
  }
  return { grants, problems };
}

// Extensions after revocations (a grant being revoked is not extended) and before issues.
const ORDER: Record<Step['kind'], number> = {
  revoke: 0,
  verify: 1,
  extend: 2,
  issue: 3,
  archive: 4,
};
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The next step of every grant, in the order the action should take them: access is taken
 * away before any is given, so a run cut short by a crash or a failure errs towards less
 * access. Pure: the same files, policies and time always give the same plan.
 */
export function planReconcile(
  grants: readonly LiveGrantFile[],
  policies: PolicySet,
  now: Date,
  /** Requesters who may no longer hold their grants (offboarding), as the engine found them. */
  ineligible?: Ineligible,
): Plan {
  const problems: Problem[] = [];
  const steps: Step[] = [];
  const t = now.getTime();
  for (const { path, grant } of grants) {
    if (path !== grantPath(grant.resource, grant.id)) {
      problems.push({ file: path, message: `grant ${grant.id} is not at its own path; skipped` });
      continue;
    }
    if (isTerminal(grant.status)) {
      steps.push({ kind: 'archive', path, grant, to: archivePath(grant) });
      continue;
    }
    if (grant.status === 'pending') {
      steps.push({ kind: 'verify', path, grant });
      continue;
    }
    const started = issueStartedAt(grant, now);
    const requested = grant.revoke_requested;
    if (requested) {
      steps.push({
        kind: 'revoke',
        path,
        grant,
        to: 'revoked',
        effect: grant.status === 'active' || started !== null,
        actor: formatPerson(requested.by),
        reason: `revoked by @${requested.by.login}${requested.reason ? `: ${requested.reason}` : ''}`,
      });
      continue;
    }
    const offboarded = offboardingReason(ineligible, grant);
    if (offboarded !== undefined) {
      steps.push({
        kind: 'revoke',
        path,
        grant,
        to: 'revoked',
        effect: grant.status === 'active' || started !== null,
        actor: 'offboarding',
        reason: `offboarding: ${offboarded}`,
      });
      continue;
    }
    if (grant.status === 'active') {
      const expires = parseTimestamp(grant.expires_at ?? '')!.getTime();
      if (t >= expires)
        steps.push({
          kind: 'revoke',
          path,
          grant,
          to: 'expired',
          effect: true,
          actor: 'schedule',
          reason: 'the grant reached its expiry',
        });
      continue;
    }
    // approved
    const resource = policies.resources.get(grant.resource);
    if (grant.extends) {
      // Never issued on its own: it lengthens the grant it extends, so one access has one grant.
      const target = grants.find(
        (g) => g.grant.id === grant.extends && g.grant.resource === grant.resource,
      );
      // Extensions apply one at a time, in id order, each against the expiry the last one left.
      const first = grants
        .filter((g) => g.grant.status === 'approved' && g.grant.extends === grant.extends)
        .map((g) => g.grant.id)
        .sort()[0];
      if (first !== grant.id) continue;
      if (!resource) {
        problems.push({
          file: path,
          message: `no policy defines resource "${grant.resource}"; ${grant.id} is not applied`,
        });
        continue;
      }
      const window = extensionWindow(grant, target?.grant ?? null, resource);
      steps.push({
        kind: 'extend',
        path,
        grant,
        target: target ?? null,
        expiresAt: window.ok ? window.value.expiresAt : null,
        ...(window.ok ? {} : { why: window.problems.map((p) => p.message).join('; ') }),
      });
      continue;
    }
    const startAt = parseTimestamp(grant.start_at ?? grant.approval!.approved_at)!.getTime();
    const duration = Math.min(grant.duration, resource?.max_duration ?? grant.duration);
    if (started !== null) {
      // An attempt began (and may have given access): finish it, or take it back if the
      // window it would have had is already over. Anchored at the attempt, not at this run.
      const end = started + duration * 1000;
      if (t >= end)
        steps.push({
          kind: 'revoke',
          path,
          grant,
          to: 'expired',
          effect: true,
          actor: 'schedule',
          reason: 'the grant reached its expiry while being issued',
        });
      else if (!resource)
        problems.push({
          file: path,
          message: `no policy defines resource "${grant.resource}"; cannot finish issuing ${grant.id}`,
        });
      else
        steps.push({
          kind: 'issue',
          path,
          grant,
          issuedAt: iso(started),
          expiresAt: iso(end),
          resume: true,
        });
      continue;
    }
    if (t < startAt) continue; // scheduled for later
    const windowEnd = Math.min(startAt + START_WINDOW * 1000, startAt + grant.duration * 1000);
    if (t > windowEnd) {
      steps.push({
        kind: 'revoke',
        path,
        grant,
        to: 'expired',
        effect: false,
        actor: 'schedule',
        reason: `not issued within its start window (${iso(startAt)} to ${iso(windowEnd)})`,
      });
      continue;
    }
    if (!resource) {
      problems.push({
        file: path,
        message: `no policy defines resource "${grant.resource}"; ${grant.id} is not issued`,
      });
      continue;
    }
    steps.push({
      kind: 'issue',
      path,
      grant,
      issuedAt: iso(t),
      expiresAt: iso(t + duration * 1000),
      resume: false,
    });
  }
  steps.sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || a.path.localeCompare(b.path));
  const live = grants
    .map((g) => g.grant)
    .filter((g) => g.status === 'approved' || g.status === 'active');
  return { steps, problems, live };
}

/** When an issue attempt was committed as started, or null. */
export function issueStartedAt(grant: Grant, now?: Date): number | null {
  const v = grant.issued?.[ISSUE_STARTED_AT];
  if (grant.status !== 'approved' || typeof v !== 'string') return null;
  const t = parseTimestamp(v)?.getTime();
  if (t === undefined) return null;
  // The action writes the marker between the approval and now; anything else was not written
  // by it, and must not anchor a window (a marker in 2031 would give years of access).
  const approved = parseTimestamp(grant.approval?.approved_at ?? '')?.getTime();
  if (approved === undefined || t < approved || (now && t > now.getTime())) return null;
  return t;
}

/** One line per step, for logs, the dry run and the CLI. */
export function describeStep(step: Step): string {
  const g = `${step.grant.resource}/${step.grant.id}`;
  switch (step.kind) {
    case 'verify':
      return `verify ${g}: check its pull request and approvals, then approve (or refuse)`;
    case 'issue':
      return `issue ${g} to @${step.grant.requester.login} until ${step.expiresAt}${step.resume ? ' (resuming an interrupted issue)' : ''}`;
    case 'revoke':
      return `${step.effect ? 'revoke' : 'end'} ${g} → ${step.to}: ${step.reason}`;
    case 'extend':
      return step.expiresAt
        ? `extend ${step.grant.resource}/${step.grant.extends} until ${step.expiresAt} (${step.grant.id})`
        : `close ${g}: ${step.why ?? 'cannot apply'}`;
    case 'archive':
      return `archive ${g} (${step.grant.status}) → ${step.to}`;
  }
}
