import { compileTicketPattern } from './ticket-pattern.js';
import { type Seconds, formatDuration, MINUTE, DAY } from './duration.js';
import type { Grant } from './grant.js';
import { type Memberships, type Person, matchesAny } from './identity.js';
import type { PolicySet, Resource } from './policy.js';
import { type Problem, type Result, fail, ok } from './problem.js';
import type { AccessRequest } from './request.js';
import { parseTimestamp } from './timestamp.js';

/** A start this far in the past is a typo or a stale request, not clock skew. */
export const START_SLACK: Seconds = 5 * MINUTE;
/** Access is for now-ish work; scheduling further ahead only leaves stale approvals around. */
export const MAX_START_AHEAD: Seconds = 7 * DAY;
/** How far ahead of the clock judging it a request's own time may be (clocks disagree a little). */
export const CLOCK_SKEW: Seconds = 5 * MINUTE;
/** Tickets longer than this are never matched against a policy pattern (bounds regex work). */
const MAX_TICKET_MATCH = 200;

/** The parts of a request or a grant that policy rules look at. */
interface Asked {
  requester: Person;
  duration: Seconds;
  justification: string;
  ticket?: string;
  break_glass?: { reason: string };
}

const fmt = formatDuration;

/**
 * Patterns come from policy files; a broken or unsafe one (see ticket-pattern.ts) denies rather
 * than crashes or hangs.
 */
function ticketMatches(pattern: string, ticket: string): boolean | null {
  if (ticket.length > MAX_TICKET_MATCH) return false;
  try {
    return compileTicketPattern(pattern).test(ticket);
  } catch {
    return null;
  }
}

/** Rules shared by requests from the issue form and grant files opened directly as PRs. */
function askedProblems(asked: Asked, resource: Resource, memberships: Memberships): Problem[] {
  const problems: Problem[] = [];
  const who = `@${asked.requester.login}`;
  const name = resource.name;
  if (!matchesAny(asked.requester, resource.requesters, memberships))
    problems.push({
      path: 'requester',
      message: `${who} may not request "${name}": not listed in its requesters (directly or through a team)`,
    });
  if (!Number.isInteger(asked.duration) || asked.duration <= 0)
    problems.push({
      path: 'duration',
      message: 'the duration must be a positive number of seconds',
    });
  else if (asked.duration > resource.max_duration)
    problems.push({
      path: 'duration',
      message: `the duration ${fmt(asked.duration)} is longer than the ${fmt(resource.max_duration)} allowed for "${name}"`,
    });

  const justification = asked.justification.trim();
  const { justification: jReq, ticket: tReq } = resource.request;
  if (jReq.required && justification === '')
    problems.push({ path: 'justification', message: `"${name}" requires a justification` });
  else if (justification !== '' && justification.length < jReq.min_length)
    problems.push({
      path: 'justification',
      message: `the justification is ${justification.length} characters; "${name}" asks for at least ${jReq.min_length}`,
    });

  const ticket = asked.ticket?.trim() ?? '';
  if (tReq.required && ticket === '')
    problems.push({ path: 'ticket', message: `"${name}" requires a ticket reference` });
  else if (ticket !== '' && tReq.pattern !== undefined) {
    const matched = ticketMatches(tReq.pattern, ticket);
    if (matched === null)
      problems.push({
        path: 'ticket',
        message: `the ticket pattern of "${name}" is not a valid regular expression; ask the policy owners to fix it`,
      });
    else if (!matched)
      problems.push({
        path: 'ticket',
        message: `the ticket ${JSON.stringify(ticket.slice(0, 100))} does not match the pattern "${tReq.pattern}" required by "${name}"`,
      });
  }

  if (asked.break_glass) {
    const bg = resource.break_glass;
    if (!bg) problems.push({ path: 'break_glass', message: `"${name}" has no break-glass access` });
    else if (!matchesAny(asked.requester, bg.allowed, memberships))
      problems.push({
        path: 'break_glass',
        message: `${who} may not use break-glass on "${name}"`,
      });
    else if (asked.duration > bg.max_duration)
      problems.push({
        path: 'duration',
        message: `break-glass access to "${name}" lasts at most ${fmt(bg.max_duration)}; ${fmt(asked.duration)} was asked`,
      });
    if (asked.break_glass.reason.trim() === '')
      problems.push({ path: 'break_glass', message: 'break-glass needs a reason' });
  }
  return problems;
}

/** Close names the requester may ask for: typos get a hint, other teams' resources stay unnamed. */
function suggestions(
  wanted: string,
  policies: PolicySet,
  requester: Person,
  memberships: Memberships,
): string[] {
  return [...policies.resources.values()]
    .filter((r) => matchesAny(requester, r.requesters, memberships))
    .map((r) => ({ name: r.name, d: editDistance(wanted, r.name) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(wanted.length / 4)))
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, 3)
    .map((x) => x.name);
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 10) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length]!;
}

/** A policy file that was skipped because it is invalid, and who owns it (CODEOWNERS). */
export interface InvalidPolicyFile {
  file: string;
  owners: readonly string[];
}

/**
 * Whether a parsed request may become a grant under `policies`. On success it returns the
 * resource and the duration to grant (the request's own, or the resource's default; for
 * break-glass the default is capped at the break-glass maximum).
 */
export function checkRequest(
  req: AccessRequest,
  policies: PolicySet,
  requester: Person,
  memberships: Memberships,
  now: Date,
  /** Policy files skipped as invalid: the resource asked for may be defined in one of them. */
  invalid: readonly InvalidPolicyFile[] = [],
): Result<{ resource: Resource; duration: Seconds }> {
  const resource = policies.resources.get(req.resource);
  if (!resource && invalid.length) {
    const files = invalid
      .slice(0, 5)
      .map(
        (f) =>
          `\`${f.file}\`${f.owners.length ? ` (owned by ${f.owners.slice(0, 5).join(', ')})` : ''}`,
      )
      .join(', ');
    return fail({
      path: 'resource',
      message: `no valid policy defines ${JSON.stringify(req.resource.slice(0, 64))}, and ${invalid.length === 1 ? 'the policy file' : 'these policy files are'} ${files}${invalid.length === 1 ? ' is' : ''} invalid, so gatepass skips ${invalid.length === 1 ? 'it' : 'them'}: the resource may be defined there. Ask the owners to fix it (\`gatepass validate\` shows what is wrong), then edit this issue`,
    });
  }
  if (!resource) {
    const close = suggestions(req.resource, policies, requester, memberships);
    const hint = close.length ? `; did you mean ${close.map((n) => `"${n}"`).join(' or ')}?` : '';
    return fail({
      path: 'resource',
      message: `there is no resource named ${JSON.stringify(req.resource.slice(0, 64))}${hint}`,
    });
  }
  let duration = req.duration ?? resource.default_duration;
  if (req.duration === undefined && req.break_glass && resource.break_glass)
    duration = Math.min(duration, resource.break_glass.max_duration);

  const problems = askedProblems(
    {
      requester,
      duration,
      justification: req.justification,
      ticket: req.ticket,
      break_glass: req.break_glass,
    },
    resource,
    memberships,
  );
  if (req.start_at !== undefined) {
    const start = parseTimestamp(req.start_at);
    if (!start)
      problems.push({ path: 'start_at', message: 'the start time is not an ISO 8601 time' });
    else if (start.getTime() < now.getTime() - START_SLACK * 1000)
      problems.push({ path: 'start_at', message: 'the start time is in the past' });
    else if (start.getTime() > now.getTime() + MAX_START_AHEAD * 1000)
      problems.push({
        path: 'start_at',
        message: `the start time is more than ${fmt(MAX_START_AHEAD)} ahead; request closer to the time`,
      });
  }
  return problems.length ? fail(...problems) : ok({ resource, duration });
}

/**
 * The time rules every request meets, from the form or a grant file opened by hand, judged at
 * `now` (the app: now; the action: the merge): it was not requested in the future (that would
 * move its TTL), and it does not start further ahead than a form request may.
 */
export function requestTimeProblems(
  grant: Pick<Grant, 'requested_at' | 'start_at'>,
  now: Date,
): Problem[] {
  const problems: Problem[] = [];
  const requested = parseTimestamp(grant.requested_at);
  if (!requested)
    problems.push({ path: 'requested_at', message: 'requested_at is not an ISO 8601 time' });
  else if (requested.getTime() > now.getTime() + CLOCK_SKEW * 1000)
    problems.push({
      path: 'requested_at',
      message: `requested_at ${grant.requested_at} is in the future`,
    });
  if (grant.start_at !== undefined) {
    const start = parseTimestamp(grant.start_at);
    const anchor = Math.min(now.getTime(), requested?.getTime() ?? now.getTime());
    if (!start)
      problems.push({ path: 'start_at', message: 'the start time is not an ISO 8601 time' });
    else if (start.getTime() > anchor + MAX_START_AHEAD * 1000)
      problems.push({
        path: 'start_at',
        message: `the start time is more than ${fmt(MAX_START_AHEAD)} after the request; request closer to the time`,
      });
  }
  return problems;
}

/**
 * The same policy rules for a grant file, e.g. one written by hand in a PR or re-checked by
 * the action. Time-window rules are left to request time: a grant is checked long after.
 */
export function checkGrantAgainstPolicy(
  grant: Grant,
  resource: Resource | undefined,
  memberships: Memberships,
): Problem[] {
  if (!resource || resource.name !== grant.resource)
    return [
      {
        path: 'resource',
        message: `there is no resource named ${JSON.stringify(grant.resource.slice(0, 64))}`,
      },
    ];
  return askedProblems(grant, resource, memberships);
}
