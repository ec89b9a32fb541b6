import nock from 'nock';
import { fixedClock } from '../src/core/clock.js';
import {
  eventsOnMain,
  grantOnMain,
  landGrant,
  mockComments,
  mockMergedPr,
  pendingGrant,
  runOnce,
  setupRepo,
  TEAM_POLICY,
} from '../test/helpers/reconcile.js';
import { mockTeam } from '../test/helpers/team-mock.js';
import { median } from './support/stats.js';
import { scale } from './support/scale.js';
import { scheduleInterval } from './support/workflow.js';
import type { Bench, BenchRow } from './types.js';

/**
 * A github-team grant has no native expiry: the scheduled reconcile run takes the membership
 * away. With an injected clock, runs happen on the shipped workflow's cron grid around the
 * grant's expiry; the run that revokes is timed for real (git clone and push on local repos,
 * the GitHub API answered by nock).
 */
const TRIALS = scale(3, 1);

const at = (ms: number) => fixedClock(new Date(ms).toISOString());

/** One grant through issue and expiry; returns the wall time of the run that revoked it. */
async function trial(interval: number): Promise<number> {
  const repo = await setupRepo(TEAM_POLICY);
  try {
    const team = mockTeam();
    mockComments();
    const grant = pendingGrant(repo, 1, { resource: 'sre-team' });
    mockMergedPr(grant, 1001, await landGrant(repo, grant, 1001));

    const issuedAt = Date.parse('2030-01-01T10:06:00Z');
    const first = await runOnce(repo, { clock: at(issuedAt) });
    if (first.result.failures.length || !team.member())
      throw new Error(`issue failed: ${JSON.stringify(first.result.failures)}`);
    const active = (await grantOnMain(repo, 'req-1'))!.grant;
    const expiry = Date.parse(active.expires_at!);
    const step = interval * 1000;
    const lastBefore = Math.floor((expiry - 1) / step) * step;
    const firstAfter = Math.ceil(expiry / step) * step;

    await runOnce(repo, { clock: at(lastBefore) });
    if (!team.member() || team.deletes !== 0)
      throw new Error('the run before expiry took the membership away');

    const t0 = performance.now();
    const sweep = await runOnce(repo, { clock: at(firstAfter) });
    const took = performance.now() - t0;
    if (sweep.result.failures.length || team.member())
      throw new Error(`the first run after expiry did not revoke: ${sweep.logs.join('\n')}`);
    const events = await eventsOnMain(repo, 'req-1');
    if (!events.includes('expired')) throw new Error(`no expired event: ${events.join(', ')}`);
    return took;
  } finally {
    nock.cleanAll();
    repo.cleanup();
  }
}

export const revocationSweepBench: Bench = {
  name: 'revocation-sweep',
  async run(): Promise<BenchRow[]> {
    const interval = scheduleInterval();
    nock.disableNetConnect();
    const runs: number[] = [];
    try {
      for (let i = 0; i < TRIALS; i++) runs.push(await trial(interval));
    } finally {
      nock.enableNetConnect();
    }
    const run = median(runs) / 1000;
    const worst = interval + run;
    return [
      {
        figure: 'revocation latency, GitHub team (scheduled sweep)',
        baseline: `schedule interval of the shipped workflow: ${interval / 60} min`,
        measured: `revoked by the 1st scheduled run after expiry; worst case ${interval / 60} min + run ${run.toFixed(2)} s = ${worst.toFixed(1)} s (median of ${TRIALS})`,
        ratio: worst / interval,
        target: '≤ 1 interval (+ run time): the first run after expiry revokes',
        met: run < interval,
        notes:
          'run time = local clone, fetch, plan, DELETE membership, commit + push; excludes runner start-up and GitHub delaying scheduled runs',
      },
    ];
  },
};
