import type { Seconds } from './duration.js';
import type { Person } from './identity.js';

export const GRANT_STATUSES = [
  'pending',
  'approved',
  'active',
  'expired',
  'revoked',
  'denied',
  'cancelled',
] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];
export const TERMINAL_STATUSES: readonly GrantStatus[] = [
  'expired',
  'revoked',
  'denied',
  'cancelled',
];

/** One reviewer whose approval counted, with the review that carried it. */
export interface Approval {
  login: string;
  id: number;
  review_id: number;
  /** The approvers entry that made them eligible (a login or `org/team`), so audits can re-check it offline. */
  via?: string;
}

/**
 * A grant file, `grants/<resource>/<id>.yaml`. Everything needed to issue, revoke and audit
 * the grant; never a secret. Times are ISO 8601 UTC strings.
 */
export interface Grant {
  id: string;
  resource: string;
  requester: Person;
  duration: Seconds;
  justification: string;
  ticket?: string;
  /** Where the request came from in the access repo. */
  source: { issue?: number; pull_request?: number };
  /** The default-branch commit whose policies the request was judged against. */
  policy_commit: string;
  status: GrantStatus;
  requested_at: string;
  /** Scheduled start; absent means "as soon as approved". */
  start_at?: string;
  /** Grant id this request extends (its approval moves that grant's expiry). */
  extends?: string;
  break_glass?: { reason: string };
  /** Filled when the approval is verified. */
  approval?: {
    approved_at: string;
    /** `reviews`, `auto_approve:<rule>` or `break_glass`. */
    rule: string;
    approvers: Approval[];
    merge_commit?: string;
  };
  issued_at?: string;
  expires_at?: string;
  /** Set (by a `/revoke` commit) to ask the action to revoke early. */
  revoke_requested?: { by: Person; at: string; reason?: string };
  /** When and why the grant reached a terminal status. */
  ended_at?: string;
  end_reason?: string;
  /** Non-secret facts the provider reported at issue (role name, certificate serials). */
  issued?: Record<string, string | number | boolean | string[]>;
}
