import type { GrantTimeline } from '../../core/audit-timeline.js';
import { grantKey } from '../../core/audit-timeline.js';
import type { Finding } from '../../core/audit-verify.js';
import { parseTimestamp } from '../../core/timestamp.js';

/** What `gatepass audit` found: the timelines it kept after filtering, and the findings. */
export interface AuditReport {
  /** The commit audited (the branch head). */
  head?: string;
  /** Commits read (touching grants/ or policies/). */
  commits: number;
  /** The time still-live grants were judged against. */
  generatedAt: string;
  grants: GrantTimeline[];
  /** Present when the history was verified. */
  findings?: Finding[];
}

/** One line per grant: the same columns in every format. */
export interface GrantRow {
  grant: string;
  resource: string;
  requester: string;
  status: string;
  requested_at: string;
  justification: string;
  ticket: string;
  issue: string;
  pull_request: string;
  approved_at: string;
  approved_by: string;
  rule: string;
  policy_commit: string;
  issued_at: string;
  expires_at: string;
  ended_at: string;
  ended_by: string;
}

export function grantStatus(tl: GrantTimeline): string {
  if (tl.endEvent) return tl.endEvent;
  if (tl.issuedSha) return 'active';
  if (tl.approvedSha) return 'approved';
  return tl.status ?? 'unknown';
}

export function grantRow(tl: GrantTimeline): GrantRow {
  return {
    grant: tl.id,
    resource: tl.resource,
    requester: tl.requester ? `${tl.requester.login} (${tl.requester.id})` : '',
    status: grantStatus(tl),
    requested_at: tl.requestedAt ?? '',
    justification: tl.justification ?? '',
    ticket: tl.ticket ?? '',
    issue: tl.source?.issue !== undefined ? String(tl.source.issue) : '',
    pull_request:
      tl.pullRequest !== undefined
        ? String(tl.pullRequest)
        : tl.source?.pull_request !== undefined
          ? String(tl.source.pull_request)
          : '',
    approved_at: tl.approvedAt ?? '',
    approved_by: tl.approvers.map((a) => a.login).join(' '),
    rule: tl.rule ?? '',
    policy_commit: tl.policyCommit ?? '',
    issued_at: tl.issuedAt ?? '',
    expires_at: tl.expiresAt ?? '',
    ended_at: tl.endedAt ?? '',
    ended_by: tl.endedBy ?? '',
  };
}

/** `2030-01-01 10:21Z`: short enough for a terminal, still unambiguous. */
const shortTime = (t: string): string => {
  const d = t ? parseTimestamp(t) : null;
  return d ? `${d.toISOString().slice(0, 16).replace('T', ' ')}Z` : t;
};

/** Control characters from a hostile commit must not reach the terminal. */
const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');

export function renderAuditTable(report: AuditReport): string {
  const header = [
    'GRANT',
    'RESOURCE',
    'REQUESTER',
    'STATUS',
    'APPROVED BY',
    'ISSUED',
    'ENDS',
    'BY',
  ];
  const rows = report.grants.map((tl) => {
    const r = grantRow(tl);
    return [
      r.grant,
      r.resource,
      tl.requester?.login ?? '?',
      r.status,
      r.approved_by || (r.rule && r.rule !== 'reviews' ? r.rule : '-'),
      shortTime(r.issued_at) || '-',
      shortTime(r.ended_at || r.expires_at) || '-',
      r.ended_by || '-',
    ].map(printable);
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  out.push('', `${report.grants.length} grant(s) from ${report.commits} commit(s)`);
  if (report.findings) {
    out.push('');
    if (report.findings.length === 0) out.push('verify: no findings');
    for (const f of report.findings) out.push(printable(formatFinding(f)));
  }
  return out.join('\n') + '\n';
}

export function formatFinding(f: Finding): string {
  const where = f.commit ? ` ${f.commit.slice(0, 12)}` : '';
  return `${f.severity === 'error' ? 'ERROR' : 'info'} ${f.kind}${where}: ${f.message}`;
}

export function renderAuditJson(report: AuditReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

/**
 * RFC 4180 quoting, and a leading `'` on cells a spreadsheet would run as a formula: the
 * justification is whatever the requester typed.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function renderAuditCsv(report: AuditReport): string {
  const rows = report.grants.map(grantRow);
  const keys = Object.keys(
    grantRow({
      id: '',
      resource: '',
      approvers: [],
      events: [],
      anomalies: [],
      widenings: [],
      invalid: [],
    }),
  ) as (keyof GrantRow)[];
  return [keys.join(','), ...rows.map((r) => keys.map((k) => csvCell(r[k])).join(','))]
    .map((l) => l + '\r\n')
    .join('');
}

/**
 * Mermaid reads `:` as the end of a task name and `#`, `;`, `%` as syntax; its own entity form
 * (`#58;`) draws the character instead. Line breaks would start a new statement.
 */
export function mermaidText(s: string): string {
  return s
    .replace(/[\r\n\u0000-\u001f]+/g, ' ')
    .replace(/[#:;%`"<>{}]/g, (c) => `#${c.charCodeAt(0)};`)
    .trim();
}

/** Markdown table cells: a pipe would end the cell, HTML would render. */
export function markdownCell(s: string): string {
  return printable(s)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([`*_[\]])/g, '\\$1');
}

const ganttTime = (t: string): string | null => {
  const d = parseTimestamp(t);
  return d ? d.toISOString().slice(0, 19).replace('T', ' ') : null;
};

/** A Gantt chart: one section per resource, one bar per issued grant, from issue to end. */
export function renderAuditGantt(report: AuditReport): string {
  const lines = [
    'gantt',
    '  title Access grants (UTC)',
    '  dateFormat YYYY-MM-DD HH:mm:ss',
    '  axisFormat %m-%d %H:%M',
  ];
  const flagged = new Set(
    (report.findings ?? []).filter((f) => f.severity === 'error').map((f) => f.grant),
  );
  const byResource = new Map<string, GrantTimeline[]>();
  for (const tl of report.grants) {
    if (!tl.issuedAt) continue;
    byResource.set(tl.resource, [...(byResource.get(tl.resource) ?? []), tl]);
  }
  let n = 0;
  for (const [resource, grants] of [...byResource].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    lines.push(`  section ${mermaidText(resource)}`);
    for (const tl of grants) {
      const start = ganttTime(tl.issuedAt!);
      const end = ganttTime(tl.endedAt ?? tl.expiresAt ?? report.generatedAt);
      if (!start || !end) continue;
      n += 1;
      const tags = [
        ...(flagged.has(grantKey(tl.resource, tl.id)) ? ['crit'] : []),
        tl.endEvent ? 'done' : 'active',
      ];
      const name = mermaidText(`${tl.id} ${tl.requester?.login ?? '?'}`);
      lines.push(`    ${name} :${tags.join(', ')}, g${n}, ${start}, ${end < start ? start : end}`);
    }
  }
  return lines.join('\n');
}

/** The report for a GitHub issue or an Actions job summary. */
export function renderAuditMarkdown(report: AuditReport): string {
  const out: string[] = ['## gatepass audit', ''];
  const head = report.head ? ` at \`${report.head.slice(0, 12)}\`` : '';
  out.push(`${report.grants.length} grant(s) from ${report.commits} commit(s)${head}.`, '');
  if (report.findings) {
    const errors = report.findings.filter((f) => f.severity === 'error');
    out.push(
      `### Verification: ${errors.length === 0 ? 'no findings' : `${errors.length} finding(s)`}`,
      '',
    );
    for (const f of report.findings)
      out.push(
        `- ${f.severity === 'error' ? '**error**' : 'info'} \`${f.kind}\`${f.commit ? ` ${f.commit.slice(0, 12)}` : ''}: ${markdownCell(f.message)}`,
      );
    out.push('');
  }
  out.push('### Grants over time', '', '```mermaid', renderAuditGantt(report), '```', '');
  out.push('### Grants', '');
  out.push(
    '| grant | resource | requester | status | approved by | issued | ended / expires | by |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const tl of report.grants) {
    const r = grantRow(tl);
    const cells = [
      r.grant,
      r.resource,
      tl.requester?.login ?? '?',
      r.status,
      r.approved_by || r.rule,
      shortTime(r.issued_at),
      shortTime(r.ended_at || r.expires_at),
      r.ended_by,
    ];
    out.push(`| ${cells.map(markdownCell).join(' | ')} |`);
  }
  return out.join('\n') + '\n';
}
