import type { Clock } from '../core/clock.js';
import type { Deadline } from '../core/deadlines.js';
import type { AppGitHub } from '../core/ports.js';
import {
  loadDeadlineIndex,
  updateDeadlineIndex,
  type DeadlineIndex,
  type PushedChanges,
} from './deadline-source.js';
import { DeadlineTimer, type Scheduler } from './deadline-timer.js';
import type { PolicyCache, Log } from './deps.js';

export interface DeadlineKeeperOptions {
  /** The workflow file the timer dispatches (the gatepass action's, `gatepass.yml`). */
  workflow: string;
  clock: Clock;
  scheduler: Scheduler;
  policies: PolicyCache;
  log: Log;
  /** Delays before the timer retries a refused dispatch. */
  retryDelaysMs?: readonly number[];
  /** Delay before a failed rebuild is tried again (default 1 min). */
  rebuildRetryMs?: number;
}

/** What a push to the access repo tells the keeper. */
export interface PushFacts extends PushedChanges {
  ref: string;
}

/**
 * The app as the timer (server mode): keeps every live grant's deadlines, rebuilt from the
 * default branch at startup and on every push to it, and starts the reconcile workflow at each
 * one (`workflow_dispatch`). Offboarding events and policy changes start a run at once. The
 * scheduled run stays the backstop when the app is down or GitHub refuses a dispatch.
 */
export class DeadlineKeeper {
  readonly timer: DeadlineTimer;
  private client: AppGitHub | undefined;
  private branch: string | undefined;
  private index: DeadlineIndex | undefined;
  private generation = 0;
  private retry: unknown;
  private markReady!: () => void;
  private readonly readyPromise = new Promise<void>((r) => (this.markReady = r));

  constructor(private readonly o: DeadlineKeeperOptions) {
    this.timer = new DeadlineTimer({
      clock: o.clock,
      scheduler: o.scheduler,
      log: o.log,
      dispatch: (due) => this.dispatch(due),
      ...(o.retryDelaysMs ? { retryDelaysMs: o.retryDelaysMs } : {}),
    });
  }

  /**
   * Startup: connects (finds the installation and the default branch) and builds the
   * deadlines, trying again every `rebuildRetryMs` until it can.
   */
  async start(connect: () => Promise<{ client: AppGitHub; branch: string }>): Promise<void> {
    try {
      const { client, branch } = await connect();
      await this.rebuild(client, branch);
    } catch (e) {
      this.o.log.warn(
        `deadline timer: cannot reach the access repo (${e instanceof Error ? e.message : String(e)}); trying again`,
      );
      this.retry = this.o.scheduler.setTimeout(() => {
        this.retry = undefined;
        void this.start(connect);
      }, this.o.rebuildRetryMs ?? 60_000);
    }
  }

  /**
   * Rebuilds from the default branch (startup, every push: only the files a push changed when
   * it follows the commit the deadlines were built at). Retries on failure.
   */
  async rebuild(
    client: AppGitHub,
    branch: string,
    push?: PushedChanges,
  ): Promise<DeadlineIndex | undefined> {
    this.client = client;
    this.branch = branch;
    const mine = ++this.generation;
    if (this.retry !== undefined) this.o.scheduler.clearTimeout(this.retry);
    this.retry = undefined;
    try {
      const index = push
        ? await updateDeadlineIndex(client, branch, this.o.policies, this.index, push)
        : await loadDeadlineIndex(client, branch, this.o.policies);
      // A slower, older rebuild must not replace a newer one.
      if (mine !== this.generation || !index) return this.index;
      this.index = index;
      this.timer.set(index.deadlines);
      this.markReady();
      const next = this.timer.next();
      this.o.log.info(
        `deadline timer: ${index.deadlines.length} deadline(s) at ${index.commit.slice(0, 7)}; next ${next ? `${next.resource}/${next.grant} ${next.kind} at ${new Date(next.at).toISOString()}` : 'none'}`,
      );
      return index;
    } catch (e) {
      this.o.log.warn(
        `deadline timer: could not read the default branch (${e instanceof Error ? e.message : String(e)}); trying again`,
      );
      this.retry = this.o.scheduler.setTimeout(() => {
        this.retry = undefined;
        void this.rebuild(client, branch);
      }, this.o.rebuildRetryMs ?? 60_000);
      return this.index;
    }
  }

  /**
   * A push: a push to the default branch rebuilds the deadlines; one that changed policies may
   * have taken people out of `requesters`, so it starts a run at once when grants are live.
   */
  async onPush(client: AppGitHub, defaultBranch: string, push: PushFacts): Promise<void> {
    if (push.ref !== `refs/heads/${defaultBranch}`) return;
    const index = await this.rebuild(client, defaultBranch, push);
    if (index && index.requesters.size > 0 && push.paths.some((p) => p.startsWith('policies/')))
      await this.timer.fireNow('policy change');
  }

  /**
   * Someone left the organization (`team` undefined) or a team: if they hold a live grant, and
   * the team (when given) is one that lets people request a resource with live grants, start
   * the run that revokes now.
   */
  async onMemberRemoved(userId: number, team?: string): Promise<boolean> {
    const index = this.index;
    if (!index || !index.requesters.has(userId)) return false;
    if (team !== undefined && !index.requesterTeams.has(team.toLowerCase())) return false;
    await this.timer.fireNow(`offboarding of user ${userId}`);
    return true;
  }

  /** Resolves once the deadlines have been built the first time. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  stop(): void {
    this.timer.stop();
    if (this.retry !== undefined) this.o.scheduler.clearTimeout(this.retry);
  }

  private async dispatch(due: readonly Deadline[]): Promise<void> {
    if (!this.client || !this.branch) throw new Error('the default branch has not been read yet');
    // A break-glass review falling due shows in the audit: ask that run to verify it.
    const audit = due.some((d) => d.kind === 'break-glass-review');
    await this.client.dispatchWorkflow(
      this.o.workflow,
      this.branch,
      audit ? { 'verify-audit': 'true' } : undefined,
    );
  }
}
