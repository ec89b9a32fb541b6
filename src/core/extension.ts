import { formatDuration } from './duration.js';
import type { Grant } from './grant.js';
import type { Resource } from './policy.js';
import { type Result, fail, ok } from './problem.js';
import { parseTimestamp } from './timestamp.js';

/**
 * Where an extension would move the grant it extends: its current expiry plus the extension's
 * duration, as long as that grant is active and its whole life (issue to new expiry) stays
 * within the resource's `max_total_duration`. Judged against the grant as it is now, so two
 * extensions applied one after the other each see the expiry the other left (no lost update).
 */
export function extensionWindow(
  extension: Grant,
  target: Grant | null | undefined,
  resource: Resource,
): Result<{ expiresAt: string }> {
  const name = extension.extends ?? '(none)';
  if (!extension.extends)
    return fail({ path: 'extends', message: `${extension.id} does not extend a grant` });
  if (!target)
    return fail({
      path: 'extends',
      message: `grant ${name} is not live on the default branch (it ended or never existed)`,
    });
  if (target.id !== extension.extends || target.resource !== extension.resource)
    return fail({ path: 'extends', message: `grant ${name} is not on "${extension.resource}"` });
  if (target.requester.id !== extension.requester.id)
    return fail({
      path: 'requester',
      message: `grant ${name} belongs to @${target.requester.login}, not @${extension.requester.login}`,
    });
  if (target.status !== 'active')
    return fail({ path: 'extends', message: `grant ${name} is ${target.status}, not active` });
  if (target.revoke_requested)
    return fail({ path: 'extends', message: `grant ${name} is being revoked` });
  const issued = parseTimestamp(target.issued_at ?? '');
  const expires = parseTimestamp(target.expires_at ?? '');
  if (!issued || !expires)
    return fail({ path: 'extends', message: `grant ${name} has no issue window` });
  const next = expires.getTime() + extension.duration * 1000;
  const total = (next - issued.getTime()) / 1000;
  if (total > resource.max_total_duration)
    return fail({
      path: 'duration',
      message: `extending ${name} by ${formatDuration(extension.duration)} would make it last ${formatDuration(Math.round(total))} in total, more than the ${formatDuration(resource.max_total_duration)} allowed for "${resource.name}"`,
    });
  return ok({ expiresAt: new Date(next).toISOString() });
}
