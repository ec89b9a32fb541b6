import type { Grant } from '../../core/grant.js';
import { parseGrant, serializeGrant } from '../../core/grant-file.js';
import { formatProblem, type Problem } from '../../core/problem.js';
import { commitMessage, type EventTrailers, type GrantEvent } from '../../core/trailers.js';
import type { Written } from './state.js';
import type { RunContext } from './types.js';

/** The trailers of a state change the action makes (actor `schedule` unless told). */
export function trailers(
  ctx: Pick<RunContext, 'clock'>,
  grant: Grant,
  event: GrantEvent,
  extra: Partial<EventTrailers> = {},
): EventTrailers {
  return {
    grant: grant.id,
    event,
    resource: grant.resource,
    requestedBy: grant.requester,
    policy: grant.policy_commit,
    actor: 'schedule',
    at: ctx.clock.now().toISOString(),
    ...(grant.source.pull_request ? { pullRequest: grant.source.pull_request } : {}),
    ...extra,
  } satisfies EventTrailers;
}

/**
 * Writes `grant` (moved to `to` when it differs from `from`), and `also` when given (a second
 * grant changed by the same event), commits exactly those paths and `files`, and pushes. A grant that would not read back is
 * never committed.
 */
export async function save(
  ctx: Pick<RunContext, 'writer' | 'hook' | 'written'>,
  from: string,
  grant: Grant,
  subject: string,
  t: EventTrailers,
  to: string = from,
  also?: { from: string; grant: Grant; to: string },
  files: readonly string[] = [],
): Promise<'ok' | 'rejected'> {
  const { writer } = ctx;
  const written: Written[] = [];
  // Exactly what this step wrote: the grant files, and the files the provider declares (the
  // KRL). Anything else a provider or script left in the tree is never committed.
  const paths = new Set<string>(files);
  for (const w of [{ from, grant, to }, ...(also ? [also] : [])]) {
    const text = serializeGrant(w.grant);
    const check = parseGrant(text, w.to);
    if (!check.ok)
      throw new Error(
        `refusing to commit an invalid grant: ${check.problems.map(formatProblem).join('; ')}`,
      );
    if (w.to !== w.from) await writer.remove(w.from);
    await writer.write(w.to, text);
    // What a read of the file would give: the run's state follows the commit without a re-read.
    written.push({ from: w.from, to: w.to, grant: check.value });
    paths.add(w.from).add(w.to);
  }
  await writer.commit(commitMessage(subject, t), [...paths].sort());
  ctx.written.push(...written);
  await ctx.hook('after-commit', grant.id);
  const pushed = await writer.push();
  if (pushed === 'ok') await ctx.hook('after-push', grant.id);
  return pushed;
}

/** Adds an event to the run's result. */
export function record(
  ctx: Pick<RunContext, 'result'>,
  grant: Grant,
  event: GrantEvent,
  expires?: string,
  late?: number,
): void {
  ctx.result.events.push({
    grant: grant.id,
    resource: grant.resource,
    requester: grant.requester.login,
    event,
    ...(expires ? { expires } : {}),
    ...(late !== undefined ? { lateness: late } : {}),
  });
}

/** The value of a transition the plan said is allowed; a refusal here is a bug, so it throws. */
export function must<T>(r: { ok: true; value: T } | { ok: false; problems: Problem[] }): T {
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('; '));
  return r.value;
}
