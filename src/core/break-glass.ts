import type { Seconds } from './duration.js';
import type { Grant } from './grant.js';
import { BREAK_GLASS_REVIEWS_DIR, GRANTS_DIR, grantPath } from './repo-layout.js';
import type { Person } from './identity.js';
import { parseTimestamp } from './timestamp.js';
import { stringify } from 'yaml';

/**
 * Where after-the-fact reviews of break-glass grants are recorded: one small file per grant,
 * committed by the app with a `Gatepass-Break-Glass-Review` trailer (see trailers.ts), outside
 * `grants/` because it is not a state change of the grant.
 */
export { REVIEWS_DIR, BREAK_GLASS_REVIEWS_DIR } from './repo-layout.js';

export function reviewRecordPath(resource: string, grantId: string): string {
  // grantPath validates both names, so nothing odd becomes a path.
  const live = grantPath(resource, grantId);
  return `${BREAK_GLASS_REVIEWS_DIR}/${live.slice(`${GRANTS_DIR}/`.length)}`;
}

export interface ReviewRecord {
  grant: string;
  resource: string;
  requester: Person;
  reviewer: Person;
  /** The comment that carried the approval. */
  comment_id: number;
  reviewed_at: string;
  /** When the review was due (approval + review_within). */
  due_at?: string;
  note?: string;
}

export const serializeReviewRecord = (r: ReviewRecord): string =>
  `# After-the-fact review of a break-glass grant, recorded by gatepass.\n${stringify(r)}`;

/** When the follow-up review of a break-glass grant approved at `approvedAt` is due. */
export function reviewDueAt(approvedAt: string, within: Seconds): string | null {
  const t = parseTimestamp(approvedAt);
  return t ? new Date(t.getTime() + within * 1000).toISOString() : null;
}

/**
 * The hidden line that ties a follow-up issue to its grant. Only trusted in issues the app
 * itself opened (people cannot edit a bot's issue body without write access to the repo).
 */
const MARKER =
  /<!-- gatepass:break-glass-review resource=([a-z0-9-]+) grant=([a-z0-9-]+) requester=([A-Za-z0-9-]+) \((\d+)\) -->/;

export const followUpMarker = (grant: Pick<Grant, 'resource' | 'id' | 'requester'>): string =>
  `<!-- gatepass:break-glass-review resource=${grant.resource} grant=${grant.id} requester=${grant.requester.login} (${grant.requester.id}) -->`;

export function parseFollowUpMarker(
  body: string | null | undefined,
): { resource: string; grant: string; requester: Person } | null {
  const m = MARKER.exec(body ?? '');
  return m
    ? { resource: m[1]!, grant: m[2]!, requester: { login: m[3]!, id: Number(m[4]) } }
    : null;
}
