import { formatDuration } from '../core/duration.js';
import type { Grant } from '../core/grant.js';
import { type Problem, formatProblem } from '../core/problem.js';
import type { Decision } from '../core/review.js';

/**
 * Hidden markers let the app find its own comments again, so a later event updates the one
 * comment instead of adding another.
 */
export const MARKER = {
  problems: '<!-- gatepass:problems -->',
  frozen: '<!-- gatepass:frozen -->',
  opened: '<!-- gatepass:opened -->',
} as const;

/** Text from people goes into Markdown tables and headings: keep it on one line, no pipes. */
const cell = (s: string): string => s.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
const at = (login: string): string => `@${login}`;

/**
 * Text a requester typed, shown under the bot's name: as an inline code span, where GitHub
 * renders no `@mention` (no notification spam), no raw HTML and no link, on one line, with pipes
 * escaped for tables. The fence is one backtick longer than any run inside the text.
 */
export function inert(s: string): string {
  const text = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (text === '') return '';
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\|/g, '\\|')}${pad}${fence}`;
}

export function problemsComment(problems: readonly Problem[]): string {
  const list = problems.map((p) => `- ${cell(formatProblem(p))}`).join('\n');
  return `${MARKER.problems}
**This access request cannot go ahead yet.** Edit the issue to fix it; I will check it again.

${list}`;
}

export const problemsResolvedComment = (pr: number): string =>
  `${MARKER.problems}
~~Earlier problems~~ are fixed: the request is now in #${pr}.`;

export const frozenComment = (pr: number): string =>
  `${MARKER.frozen}
This request is frozen in #${pr}: edits to the issue change nothing. To change it, comment \`/cancel\` and open a new request.`;

export const openedComment = (pr: number, grant: Grant): string =>
  `${MARKER.opened}
Opened #${pr} for **${grant.resource}** (${formatDuration(grant.duration)}). It needs approval by the resource's approvers; the \`gatepass/approval\` check shows where it stands. Comment \`/cancel\` to withdraw it.`;

export function pullRequestBody(grant: Grant, policyCommit: string): string {
  const rows: [string, string][] = [
    ['Resource', `\`${grant.resource}\``],
    ['Requester', `${at(grant.requester.login)} (id ${grant.requester.id})`],
    ['Duration', formatDuration(grant.duration)],
    ['Justification', inert(grant.justification)],
  ];
  if (grant.ticket) rows.push(['Ticket', inert(grant.ticket)]);
  if (grant.start_at) rows.push(['Start', grant.start_at]);
  if (grant.extends) rows.push(['Extends', `\`${grant.extends}\``]);
  if (grant.break_glass) rows.push(['Break-glass', '**yes**: granted at once, reviewed after']);
  rows.push(['Policy commit', policyCommit]);
  const source = grant.source.issue ? `Access request from #${grant.source.issue}.` : '';
  return `${source}

| | |
|---|---|
${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}

Approve with a review to grant it. A push to this branch voids earlier approvals.`;
}

const BREAK_GLASS_WARNING =
  '> [!WARNING]\n> **Break-glass**: granted without prior review. An after-the-fact review by the approvers is required and `gatepass audit` reports every use.';

export const mergedComment = (pr: number, decision: Decision, sha: string): string =>
  `${decision.rule === 'break_glass' ? `${BREAK_GLASS_WARNING}\n\n` : ''}Approved in #${pr} (${decision.reasons.join('; ')}, rule \`${decision.rule}\`) and merged as ${sha}. The gatepass action issues the access next.`;

export const deniedComment = (pr: number, reasons: readonly string[]): string =>
  `Denied: #${pr} is closed.\n\n${reasons.map((r) => `- ${cell(r)}`).join('\n')}`;

export const cancelledComment = (pr: number): string =>
  `Cancelled: #${pr} is closed and its branch deleted.`;

export interface CheckOutput {
  title: string;
  summary: string;
}

export function decisionCheck(decision: Decision, grant: Grant, policyCommit: string): CheckOutput {
  const title =
    decision.outcome === 'approved'
      ? decision.rule === 'break_glass'
        ? 'BREAK-GLASS: approved at once, review after the fact'
        : `Approved (${decision.rule})`
      : decision.outcome === 'denied'
        ? 'Denied'
        : `Waiting: ${decision.approvers.length} of ${decision.required} approvals`;
  const reviews = decision.verdicts.length
    ? `| Reviewer | State | Counted | Why |
|---|---|---|---|
${decision.verdicts
  .map(
    (v) =>
      `| ${at(cell(v.login))} | ${v.state} | ${v.counted ? 'yes' : 'no'} | ${cell(v.reason)} |`,
  )
  .join('\n')}`
    : '_No reviews yet._';
  const warning =
    decision.rule === 'break_glass' || grant.break_glass ? `${BREAK_GLASS_WARNING}\n\n` : '';
  const summary = `${warning}**${decision.outcome}**: ${decision.reasons.map(cell).join('; ')}

Grant \`${grant.id}\`: \`${grant.resource}\` for ${at(grant.requester.login)}, ${formatDuration(grant.duration)}. Judged against the policies at ${policyCommit}.

${reviews}`;
  return { title, summary };
}

export function refusedCheck(problems: readonly Problem[]): CheckOutput {
  return {
    title: 'This pull request cannot be a grant request',
    summary: `A request pull request adds exactly one grant file under \`grants/<resource>/\` and changes nothing else.

${problems.map((p) => `- ${cell(formatProblem(p))}`).join('\n')}`,
  };
}
