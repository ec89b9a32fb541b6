import type { Approval } from './grant.js';
import type { Person } from './identity.js';
import { standalone } from './string-copy.js';

/**
 * Commit trailers are the audit record: every commit that changes a grant carries them, and
 * `gatepass audit` reads nothing else from the message. Keys are fixed here so writer and
 * reader cannot drift apart.
 */
export const GRANT_EVENTS = [
  'requested',
  'approved',
  'issued',
  'extended',
  'revoke-requested',
  'revoked',
  'expired',
  'denied',
  'cancelled',
  'refused',
  // The action is about to call the provider (two-phase issue): see src/action/reconcile.ts.
  'issuing',
  // A terminal grant moved out of the hot path, with no change of state.
  'archived',
] as const;
export type GrantEvent = (typeof GRANT_EVENTS)[number];

export const TRAILER = {
  grant: 'Gatepass-Grant',
  event: 'Gatepass-Event',
  resource: 'Gatepass-Resource',
  requestedBy: 'Requested-by',
  approvedBy: 'Approved-by',
  policy: 'Policy',
  rule: 'Gatepass-Rule',
  actor: 'Gatepass-Actor',
  at: 'Gatepass-At',
  expires: 'Gatepass-Expires',
  pullRequest: 'Gatepass-Pull-Request',
  breakGlassReview: 'Gatepass-Break-Glass-Review',
  reason: 'Gatepass-Reason',
  lateness: 'Gatepass-Lateness',
} as const;

export interface EventTrailers {
  grant: string;
  event: GrantEvent;
  resource: string;
  requestedBy?: Person;
  approvedBy?: Approval[];
  policy?: string;
  rule?: string;
  /** Who caused the change: a person (`login (id)`) or `schedule`. */
  actor?: string;
  /** When the change took effect (ISO 8601). */
  at?: string;
  expires?: string;
  pullRequest?: number;
  /** Why a grant ended (its `end_reason`), on revocations and expiries. */
  reason?: string;
  /** How late the end was, in seconds after it was due (see core/deadlines.ts `lateness`). */
  lateness?: number;
}

const clean = (v: string): string => v.replace(/[\r\n]+/g, ' ').trim();

export function formatTrailers(t: EventTrailers): string {
  const lines: string[] = [
    `${TRAILER.grant}: ${clean(t.grant)}`,
    `${TRAILER.event}: ${t.event}`,
    `${TRAILER.resource}: ${clean(t.resource)}`,
  ];
  if (t.requestedBy)
    lines.push(`${TRAILER.requestedBy}: ${clean(t.requestedBy.login)} (${t.requestedBy.id})`);
  for (const a of t.approvedBy ?? []) {
    const via = a.via ? ` via=${clean(a.via)}` : '';
    lines.push(`${TRAILER.approvedBy}: ${clean(a.login)} (${a.id}) review=${a.review_id}${via}`);
  }
  if (t.policy) lines.push(`${TRAILER.policy}: ${clean(t.policy)}`);
  if (t.rule) lines.push(`${TRAILER.rule}: ${clean(t.rule)}`);
  if (t.actor) lines.push(`${TRAILER.actor}: ${clean(t.actor)}`);
  if (t.at) lines.push(`${TRAILER.at}: ${clean(t.at)}`);
  if (t.expires) lines.push(`${TRAILER.expires}: ${clean(t.expires)}`);
  if (t.pullRequest !== undefined) lines.push(`${TRAILER.pullRequest}: ${t.pullRequest}`);
  if (t.reason) lines.push(`${TRAILER.reason}: ${clean(t.reason).slice(0, 500)}`);
  if (t.lateness !== undefined) lines.push(`${TRAILER.lateness}: ${t.lateness}s`);
  return lines.join('\n');
}

/**
 * Free text in a body (a `/revoke` reason) is quoted line by line: no line of a message gatepass
 * writes starts with text someone typed, so nobody can make a line that reads as a trailer.
 */
export function quoteBody(body: string): string {
  return body
    .replace(/\r\n?/g, '\n')
    .trim()
    .split('\n')
    .map((line) => (line.trim() === '' ? '>' : `> ${line}`))
    .join('\n');
}

/** A commit message: subject, blank line, optional quoted body, blank line, trailers. */
export function commitMessage(subject: string, t: EventTrailers, body?: string): string {
  const parts = [clean(subject)];
  if (body && body.trim()) parts.push(quoteBody(body));
  parts.push(formatTrailers(t));
  return parts.join('\n\n') + '\n';
}

/** The final paragraph of a message: the only place trailers are read from, as git does. */
export function trailerBlock(message: string): string {
  const text = (message.includes('\r') ? message.replace(/\r\n/g, '\n') : message).trim();
  // The last paragraph: after the last blank line (the text is trimmed, so a run of newlines
  // ends before a character that is not one). No split of the whole message.
  const blank = text.lastIndexOf('\n\n');
  return blank < 0 ? text : text.slice(blank + 2);
}

/** `[A-Za-z-]`: the characters of a trailer key. */
const isTrailerKeyChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2d;
const LINE_BREAK = /[\r\u2028\u2029]/;
const NONE: readonly string[] = [];
/** Its own string: an audit keeps trailers, and a slice would keep the whole message. */
const own = (v: string | undefined): string | undefined => (v === undefined ? v : standalone(v));

/** The trailer keys, lowercase (keys match in any case), by their place in TRAILER. */
const TRAILER_KEYS: readonly string[] = Object.values(TRAILER).map((k) => k.toLowerCase());
const key = (name: keyof typeof TRAILER): number => Object.keys(TRAILER).indexOf(name);
const GRANT = key('grant');
const EVENT = key('event');
const RESOURCE = key('resource');
const REQUESTED_BY = key('requestedBy');
const APPROVED_BY = key('approvedBy');
const POLICY = key('policy');
const RULE = key('rule');
const ACTOR = key('actor');
const AT = key('at');
const EXPIRES = key('expires');
const PULL_REQUEST = key('pullRequest');
const REASON = key('reason');
const LATENESS = key('lateness');

/** Which of TRAILER_KEYS `text` holds at `[from, to)`, in any case; -1 for none. */
function trailerIndex(text: string, from: number, to: number): number {
  next: for (let k = 0; k < TRAILER_KEYS.length; k++) {
    const name = TRAILER_KEYS[k]!;
    if (name.length !== to - from) continue;
    for (let i = 0; i < name.length; i++) {
      // ASCII letters and `-` only (isTrailerKeyChar): setting 0x20 lowercases a letter.
      if ((text.charCodeAt(from + i) | 0x20) !== (name.charCodeAt(i) | 0x20)) continue next;
    }
    return k;
  }
  return -1;
}

const PERSON = /^(\S+) \((\d+)\)$/;
const APPROVAL = /^(\S+) \((\d+)\) review=(\d+)(?: via=(\S+))?$/;

/**
 * Reads the trailer block of a message (the last paragraph). Returns null when the message
 * carries no gatepass trailers; malformed values are dropped rather than guessed.
 */
export function parseTrailers(message: string): EventTrailers | null {
  const last = trailerBlock(message);
  // The first value of each key gatepass reads, by its index in TRAILER_KEYS; every value of
  // Approved-by. Lines that read `^([A-Za-z-]+): (.*)$`, scanned by hand: the audit reads every
  // commit's trailers.
  const first = new Array<string | undefined>(TRAILER_KEYS.length);
  let approvedBy: string[] | undefined;
  for (let start = 0; start <= last.length;) {
    let end = last.indexOf('\n', start);
    if (end < 0) end = last.length;
    let colon = start;
    while (colon < end && isTrailerKeyChar(last.charCodeAt(colon))) colon += 1;
    const index =
      colon > start && last.charCodeAt(colon) === 0x3a && last.charCodeAt(colon + 1) === 0x20
        ? trailerIndex(last, start, colon)
        : -1;
    if (index >= 0 && (index === APPROVED_BY || first[index] === undefined)) {
      const value = last.slice(colon + 2, end);
      // `.` stops at these, so the pattern does not match a line holding one.
      if (!LINE_BREAK.test(value)) {
        if (index === APPROVED_BY) (approvedBy ??= []).push(value.trim());
        else first[index] = value.trim();
      }
    }
    start = end + 1;
  }
  const grant = own(first[GRANT]);
  const event = own(first[EVENT]) as GrantEvent | undefined;
  const resource = own(first[RESOURCE]);
  if (!grant || !event || !resource || !GRANT_EVENTS.includes(event)) return null;
  const out: EventTrailers = { grant, event, resource };
  const req = PERSON.exec(first[REQUESTED_BY] ?? '');
  if (req) out.requestedBy = { login: standalone(req[1]!), id: Number(req[2]) };
  const approvals = (approvedBy ?? NONE)
    .map((v) => APPROVAL.exec(v))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      login: standalone(m[1]!),
      id: Number(m[2]),
      review_id: Number(m[3]),
      ...(m[4] ? { via: standalone(m[4]) } : {}),
    }));
  if (approvals.length) out.approvedBy = approvals;
  const policy = own(first[POLICY]);
  if (policy) out.policy = policy;
  const rule = own(first[RULE]);
  if (rule) out.rule = rule;
  const actor = own(first[ACTOR]);
  if (actor) out.actor = actor;
  const at = own(first[AT]);
  if (at) out.at = at;
  const expires = own(first[EXPIRES]);
  if (expires) out.expires = expires;
  const pr = first[PULL_REQUEST];
  if (pr) out.pullRequest = /^\d+$/.test(pr) ? Number(pr) : undefined;
  const reason = own(first[REASON]);
  if (reason) out.reason = reason;
  const lateness = first[LATENESS];
  if (lateness) out.lateness = /^\d+s$/.test(lateness) ? Number(lateness.slice(0, -1)) : undefined;
  return out;
}

/**
 * The after-the-fact review of a break-glass grant. It is not a grant event (the grant's state
 * does not change), so it carries no `Gatepass-Event`: the commit names the grant and who
 * reviewed it, with the id of the comment or review that carried the approval.
 */
export interface BreakGlassReviewTrailers {
  grant: string;
  resource: string;
  reviewer: Person;
  /** The comment (or review) id that carried the after-the-fact approval. */
  review?: number;
  at?: string;
}

export function formatBreakGlassReview(t: BreakGlassReviewTrailers): string {
  const review = t.review !== undefined ? ` review=${t.review}` : '';
  return [
    `${TRAILER.grant}: ${clean(t.grant)}`,
    `${TRAILER.resource}: ${clean(t.resource)}`,
    `${TRAILER.breakGlassReview}: ${clean(t.reviewer.login)} (${t.reviewer.id})${review}`,
    ...(t.at ? [`${TRAILER.at}: ${clean(t.at)}`] : []),
  ].join('\n');
}

const BG_REVIEW = new RegExp(
  `^${TRAILER.breakGlassReview}: (\\S+) \\((\\d+)\\)(?: review=(\\d+))?\\s*$`,
  'm',
);
const ONE = (key: string): RegExp => new RegExp(`^${key}: (\\S+)\\s*$`, 'm');

/**
 * The break-glass review a commit message records, or null. Read from the final trailer block
 * only: a `/revoke` reason elsewhere in the message must not be able to record a review.
 */
export function parseBreakGlassReview(message: string): BreakGlassReviewTrailers | null {
  // BG_REVIEW is case-sensitive: without its key anywhere, there is nothing to find (the audit
  // asks this of every commit).
  if (!message.includes(`${TRAILER.breakGlassReview}: `)) return null;
  message = trailerBlock(message);
  const m = BG_REVIEW.exec(message);
  const grant = ONE(TRAILER.grant).exec(message)?.[1];
  const resource = ONE(TRAILER.resource).exec(message)?.[1];
  if (!m || !grant || !resource) return null;
  const at = ONE(TRAILER.at).exec(message)?.[1];
  return {
    grant,
    resource,
    reviewer: { login: m[1]!, id: Number(m[2]) },
    ...(m[3] ? { review: Number(m[3]) } : {}),
    ...(at ? { at } : {}),
  };
}
