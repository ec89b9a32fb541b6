/** The reconcile engine: what the action runs and `gatepass reconcile --dry-run` previews. */
export { reconcile } from './run-loop.js';
export {
  approvedAt,
  confirmApproval,
  type ConfirmDeps,
  type Confirmation,
} from './confirm-approval.js';
export { readPolicies, readState, type State } from './state.js';
export {
  CRASH_POINTS,
  type CrashPoint,
  type DriftReport,
  type ReconcileEvent,
  type ReconcileFailure,
  type ReconcileOptions,
  type ReconcileResult,
} from './types.js';
