import nock from 'nock';
import type { Probot } from 'probot';
import {
  alice,
  buildAccessRepo,
  buildProbot,
  issueEvent,
  reviewEvent,
  type Event,
} from '../test/helpers/app.js';
import type { FakeGitHub } from '../test/helpers/fake-github.js';
import { ms, quantile } from './support/stats.js';
import type { Bench, BenchRow } from './types.js';

/**
 * CPU time of the app handling one delivery, in-process: Probot's `receive` with its Octokit
 * answered by the in-memory fake GitHub the app tests use (nock, no socket). The fake's own work
 * and nock's interception are inside the figure, so it is an upper bound on the app's share.
 */
const EVENTS = 300;
const WARMUP = 30;

async function cpuOf(probot: Probot, ev: Event): Promise<number> {
  const before = process.cpuUsage();
  await probot.receive(ev);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

function checkClean(gh: FakeGitHub): void {
  if (gh.unexpected.length > 0) throw new Error(`fake GitHub: ${gh.unexpected[0]}`);
}

/** Deliveries about another repository: Probot's dispatch and the app's guard, no API call. */
async function ignored(): Promise<number[]> {
  const gh = buildAccessRepo();
  gh.install();
  const probot = buildProbot();
  const out: number[] = [];
  for (let i = 0; i < WARMUP + EVENTS; i++) {
    const cpu = await cpuOf(probot, issueEvent({ number: 1000 + i, repo: 'acme/other' }));
    if (i >= WARMUP) out.push(cpu);
  }
  if (gh.calls.length !== 0) throw new Error('an ignored delivery made API calls');
  return out;
}

/** Each delivery a new access-request issue, each turned into its grant PR. */
async function issuesOpened(): Promise<{ cpu: number[]; calls: number }> {
  const gh = buildAccessRepo();
  gh.install();
  const probot = buildProbot();
  const cpu: number[] = [];
  for (let i = 0; i < WARMUP + EVENTS; i++) {
    const used = await cpuOf(probot, issueEvent({ number: 1000 + i }));
    if (i >= WARMUP) cpu.push(used);
  }
  checkClean(gh);
  const prs = gh.pulls.size;
  if (prs !== WARMUP + EVENTS) throw new Error(`expected one PR per issue, got ${prs}`);
  return { cpu, calls: gh.calls.length / (WARMUP + EVENTS) };
}

/** Each delivery an approving review on its own grant PR, which the app then merges. */
async function reviewsSubmitted(): Promise<{ cpu: number[]; calls: number }> {
  const gh = buildAccessRepo();
  gh.install();
  const probot = buildProbot();
  const n = WARMUP + EVENTS;
  const prs: number[] = [];
  for (let i = 0; i < n; i++) {
    await probot.receive(issueEvent({ number: 1000 + i }));
    prs.push(gh.pullFor(`gatepass/req-${1000 + i}`)!.number);
  }
  const callsBefore = gh.calls.length;
  const cpu: number[] = [];
  for (const [i, pr] of prs.entries()) {
    gh.addReview(pr, alice, 'APPROVED');
    const used = await cpuOf(probot, reviewEvent(pr));
    if (i >= WARMUP) cpu.push(used);
  }
  checkClean(gh);
  if (gh.merges.length !== n) throw new Error(`expected ${n} merges, got ${gh.merges.length}`);
  return { cpu, calls: (gh.calls.length - callsBefore) / n };
}

export const webhookBench: Bench = {
  name: 'webhook',
  async run(): Promise<BenchRow[]> {
    nock.disableNetConnect();
    try {
      const base = await ignored();
      nock.cleanAll();
      const opened = await issuesOpened();
      nock.cleanAll();
      const reviewed = await reviewsSubmitted();
      const baseP50 = quantile(base, 0.5);
      const baseline = `ignored delivery (other repo) p50 ${ms(baseP50, 2)}`;
      const row = (
        figure: string,
        r: { cpu: number[]; calls: number },
        budget: number,
      ): BenchRow => {
        const p50 = quantile(r.cpu, 0.5);
        const p99 = quantile(r.cpu, 0.99);
        return {
          figure,
          baseline,
          measured: `CPU p50 ${ms(p50)}, p99 ${ms(p99)} (${EVENTS} events, ${r.calls.toFixed(0)} API calls each)`,
          target: `p99 ≤ ${budget} ms CPU per event`,
          met: p99 <= budget,
        };
      };
      return [
        row('app: issues.opened → grant PR, CPU per event', opened, 50),
        row('app: pull_request_review.submitted → check + merge, CPU per event', reviewed, 50),
      ];
    } finally {
      nock.cleanAll();
      nock.enableNetConnect();
    }
  },
};
