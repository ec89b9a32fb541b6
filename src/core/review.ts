import type { Approval } from './grant.js';

/** A pull request review as GitHub reports it (`GET /repos/{o}/{r}/pulls/{n}/reviews`). */
export interface Review {
  id: number;
  /** null when the account was deleted. */
  user: { login: string; id: number; type: string } | null;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  /** The head commit the review was made on. */
  commit_id: string | null;
  submitted_at?: string | null;
}

export type Outcome = 'approved' | 'denied' | 'pending';

/** Why one review counted or not: shown in the check run so people see the reasoning. */
export interface ReviewVerdict {
  review_id: number;
  login: string;
  state: Review['state'];
  counted: boolean;
  reason: string;
}

export interface Decision {
  outcome: Outcome;
  /** `reviews`, `auto_approve:<rule name>` or `break_glass` when approved; null otherwise. */
  rule: string | null;
  /** Distinct eligible approvers that counted (in review order). */
  approvers: Approval[];
  required: number;
  verdicts: ReviewVerdict[];
  /** Human-readable reasons for the outcome, most important first. */
  reasons: string[];
}
