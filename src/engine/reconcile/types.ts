import type { Clock } from '../../core/clock.js';
import type { GrantHistory, GrantWriter, GitHubPort } from '../../core/ports.js';
import type { Problem } from '../../core/problem.js';
import type { Step } from '../../core/reconcile-plan.js';
import type { GrantEvent } from '../../core/trailers.js';
import type { LiveAccess, Provider, Residue } from '../../providers/provider.js';
import type { Written } from './state.js';

/**
 * Places where a run can die that matter for crash safety, in the order they happen within a
 * step. Tests throw from the hook at each of them and run again.
 */
export const CRASH_POINTS = [
  'before-step',
  'after-marker',
  'after-effect',
  'after-delivery',
  'after-commit',
  'after-push',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface ReconcileOptions {
  /** The default branch's history: state is read at `HEAD` at the start and after a rejected push. */
  history: GrantHistory;
  /** Where state changes are written, committed and pushed. Required unless `dryRun`. */
  writer?: GrantWriter;
  /** The branch the grants live on (a merged pull request must have been merged into it). */
  branch: string;
  /** Required unless `dryRun`. */
  github?: GitHubPort;
  clock: Clock;
  /** Where providers resolve `env:NAME` secret references. */
  env: Readonly<Record<string, string | undefined>>;
  /** Masks a value in logs (the Action's `core.setSecret`). */
  mask(secret: string): void;
  log(line: string): void;
  dryRun?: boolean;
  /**
   * List each provider's access for drift after the steps (default true). The shipped workflow
   * does it on its daily run and on manual runs, not on every five-minute sweep.
   */
  checkDrift?: boolean;
  removeDrift?: boolean;
  /** Push conflicts tolerated in one run before giving up (each re-fetches and re-plans). */
  maxPushAttempts?: number;
  /** The gatepass app's user id, whose reviews never count. */
  appBotId?: number;
  /** Provider lookup (the registry by default). */
  provider?: (kind: string) => Provider;
  /** Test seam: throwing here simulates the process dying at that point. */
  hook?: (point: CrashPoint, grantId: string) => void | Promise<void>;
  /**
   * Look up, once per run, whether each live grant's requester may still hold it (account,
   * organization, `requesters`), and revoke the grants of those who may not (offboarding).
   */
  offboarding?: boolean;
}

export interface ReconcileEvent {
  grant: string;
  resource: string;
  requester: string;
  event: GrantEvent;
  expires?: string;
  /** Seconds between when the end was due and when it happened (expiries, asked revocations). */
  lateness?: number;
}

export interface ReconcileFailure {
  grant: string;
  step: Step['kind'] | 'drift' | 'push' | 'offboarding';
  message: string;
}

export interface DriftReport {
  resource: string;
  access: LiveAccess;
  removed: boolean;
  /**
   * What gatepass can account for on that person (the level its live grants and recorded
   * pre-state explain; `none`), when the provider reports shared access by person and level.
   */
  explained?: string;
}

export interface ReconcileResult {
  /** The plan computed from the state at the start of the run. */
  plan: Step[];
  events: ReconcileEvent[];
  failures: ReconcileFailure[];
  /** Corrupt grant files, policy problems: reported, never acted on. */
  problems: Problem[];
  drift: DriftReport[];
  /** What the end of a grant with `allow_lasting_access` found made during its window. */
  residue: ResidueReport[];
}

export interface ResidueReport {
  grant: string;
  resource: string;
  residue: Residue;
}

/** What the steps of one run share: the ports, the options, the result being built. */
export interface RunContext {
  options: ReconcileOptions;
  history: GrantHistory;
  writer: GrantWriter;
  github: GitHubPort;
  clock: Clock;
  log(line: string): void;
  providerFor(kind: string): Provider;
  result: ReconcileResult;
  /** Calls the crash hook; a throw there aborts the run. */
  hook(point: CrashPoint, grantId: string): Promise<void>;
  /** Current logins by user id, asked once per run (confirmation and key lookup both need it). */
  loginOf(id: number): Promise<string | null>;
  /** Grants whose approval this run confirmed through the API (a later step may rely on it). */
  confirmed: Set<string>;
  /** Grant files committed since the run's state was last brought up to date. */
  written: Written[];
}
