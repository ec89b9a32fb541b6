import { REQUEST_LABEL } from './request.js';

/**
 * Names gatepass relies on existing on GitHub, shared by the app (which uses them) and
 * `gatepass init`/`doctor` (which set them up and check them).
 */
export const CHECK_NAME = 'gatepass/approval';

/** The app's default labels (each can be renamed in the app's settings). */
export const DEFAULT_LABEL_NAMES = {
  request: REQUEST_LABEL,
  invalid: 'gatepass:invalid',
  pending: 'gatepass:pending',
  approved: 'gatepass:approved',
  denied: 'gatepass:denied',
  cancelled: 'gatepass:cancelled',
  revokeRequested: 'gatepass:revoke-requested',
  breakGlass: 'gatepass:break-glass',
  breakGlassReview: 'gatepass:break-glass-review',
} as const;

/** The workflow that issues and revokes (its schedule is what revokes on time). */
export const ACTION_WORKFLOW = 'gatepass.yml';
/** The app inside Actions (deployment mode `actions`). */
export const APP_WORKFLOW = 'gatepass-app.yml';
/** The environment holding the provider secrets and the credentials app's key. */
export const ACTION_ENVIRONMENT = 'gatepass';
/** The environment holding the request app's key (deployment mode `actions`). */
export const APP_ENVIRONMENT = 'gatepass-app';
