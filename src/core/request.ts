import type { Seconds } from './duration.js';

/**
 * The labels of the access-request issue form. The form generator writes them and the body
 * parser reads them, so they live in one place. GitHub renders each field as `### <label>`
 * followed by the value, or `_No response_` when left empty.
 */
export const FORM_FIELDS = {
  resource: 'Resource',
  duration: 'Duration',
  justification: 'Justification',
  ticket: 'Ticket',
  start: 'Start time',
  breakGlass: 'Break-glass',
} as const;

/** Marker the form puts in the issue so the app knows an issue is an access request. */
export const REQUEST_LABEL = 'access-request';

/** What an engineer asked for, before it is checked against policy. */
export interface AccessRequest {
  resource: string;
  /** Absent: the resource's default duration applies. */
  duration?: Seconds;
  justification: string;
  ticket?: string;
  /** ISO 8601 scheduled start; absent means as soon as approved. */
  start_at?: string;
  /** Present when the requester ticked break-glass; the reason is required then. */
  break_glass?: { reason: string };
}
