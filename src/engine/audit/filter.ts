import type { GrantTimeline } from '../../core/audit-timeline.js';
import type { Finding } from '../../core/audit-verify.js';
import { sameLogin } from '../../core/identity.js';
import { parseTimestamp } from '../../core/timestamp.js';
import type { AuditReport } from './render.js';

/** A time option: ISO 8601 with a zone, or a bare date read as UTC midnight. */
export function parseWhen(text: string): Date | null {
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

/**
 * Findings about a grant follow the grant filter; findings about a commit alone (a policy
 * pushed directly) are kept unless the filter narrows to a person or a resource.
 */
export function filterFindings(
  findings: Finding[],
  grants: GrantTimeline[],
  f: AuditFilter,
): Finding[] {
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

/** The report narrowed to what a filter keeps: its grants, and the findings that go with them. */
export function filterReport(full: AuditReport, f: AuditFilter): AuditReport {
  const grants = full.grants.filter((tl) => matchesFilter(tl, f));
  const report: AuditReport = { ...full, grants };
  if (full.findings) report.findings = filterFindings(full.findings, grants, f);
  return report;
}
