import nock from 'nock';
import type { Probot } from 'probot';
import {
  alice,
  buildAccessRepo,
  buildProbot,
  dave,
  issueEvent,
  reviewEvent,
  type Event,
} from '../test/helpers/app.js';
import type { FakeGitHub } from '../test/helpers/fake-github.js';
import { cannedFetch, recordingFetch, type Exchange } from './support/canned-api.js';
import { scale } from './support/scale.js';
import { ms, quantile } from './support/stats.js';
import type { Bench, BenchRow } from './types.js';

/**
 * CPU time of the app handling one delivery, in-process. The deliveries are first run against
 * the in-memory fake GitHub the app tests use (through nock) and every API exchange recorded;
 * the figure is then measured on a fresh app whose Octokit `fetch` answers from that recording
 * (a canned API): Probot's dispatch, the app, Octokit's request pipeline — and neither nock nor
 * the fake, which were most of the cost in earlier figures.
 */
const EVENTS = scale(300, 10);
const WARMUP = scale(30, 2);

async function cpuOf(probot: Probot, ev: Event): Promise<number> {
  const before = process.cpuUsage();
  await probot.receive(ev);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

function checkClean(gh: FakeGitHub): void {
  if (gh.unexpected.length > 0) throw new Error(`fake GitHub: ${gh.unexpected[0]}`);
}

interface Scenario {
  /** Deliveries made before the measured ones, replayed unmeasured (they fill the app's caches). */
  setup: (gh: FakeGitHub) => Event[];
  /** The measured deliveries, built once so the replay sees the very same payloads. */
  events: (gh: FakeGitHub) => Event[];
  /** Throws when the recorded run did not do what the figure claims. */
  check: (gh: FakeGitHub) => void;
}

interface Measured {
  cpu: number[];
  calls: number;
}

/** Records the scenario against the fake, then measures the app against the recording. */
async function measure(s: Scenario): Promise<Measured> {
  const gh = buildAccessRepo();
  gh.install();
  const log: Exchange[] = [];
  const recorder = buildProbot({ fetch: recordingFetch(log) });
  const setup = s.setup(gh);
  for (const ev of setup) await recorder.receive(ev);
  const events = s.events(gh);
  const setupCalls = log.length;
  for (const ev of events) await recorder.receive(ev);
  checkClean(gh);
  s.check(gh);
  const measuredCalls = log.length - setupCalls;
  nock.cleanAll();

  // The replay: the same deliveries in the same order, answered from the recording.
  const replay = buildProbot({ fetch: cannedFetch(log) });
  for (const ev of setup) await replay.receive(ev);
  const cpu: number[] = [];
  for (const [i, ev] of events.entries()) {
    const used = await cpuOf(replay, ev);
    if (i >= WARMUP) cpu.push(used);
  }
  return { cpu, calls: measuredCalls / events.length };
}

const numbers = Array.from({ length: WARMUP + EVENTS }, (_, i) => 1000 + i);

/** Deliveries about another repository: Probot's dispatch and the app's guard, no API call. */
const ignored: Scenario = {
  setup: () => [],
  events: () => numbers.map((n) => issueEvent({ number: n, repo: 'acme/other' })),
  check: (gh) => {
    if (gh.calls.length !== 0) throw new Error('an ignored delivery made API calls');
  },
};

/** Each delivery a new access-request issue, each turned into its grant PR. */
const issuesOpened: Scenario = {
  setup: (gh) => {
    for (const n of numbers) gh.fileIssue(n, dave);
    return [];
  },
  events: () => numbers.map((n) => issueEvent({ number: n })),
  check: (gh) => {
    if (gh.pulls.size !== numbers.length)
      throw new Error(`expected one PR per issue, got ${gh.pulls.size}`);
  },
};

/** Each delivery an approving review on its own grant PR, which the app then merges. */
const reviewsSubmitted: Scenario = {
  setup: (gh) =>
    numbers.map((n) => {
      gh.fileIssue(n, dave);
      return issueEvent({ number: n });
    }),
  events: (gh) =>
    numbers.map((n) => {
      const pr = gh.pullFor(`gatepass/req-${n}`)!.number;
      gh.addReview(pr, alice, 'APPROVED');
      return reviewEvent(pr);
    }),
  check: (gh) => {
    if (gh.merges.length !== numbers.length)
      throw new Error(`expected ${numbers.length} merges, got ${gh.merges.length}`);
  },
};

export const webhookBench: Bench = {
  name: 'webhook',
  async run(): Promise<BenchRow[]> {
    nock.disableNetConnect();
    try {
      const base = await measure(ignored);
      const opened = await measure(issuesOpened);
      const reviewed = await measure(reviewsSubmitted);
      const baseP50 = quantile(base.cpu, 0.5);
      const baseline = `ignored delivery (other repo) p50 ${ms(baseP50, 2)}`;
      const row = (figure: string, r: Measured, budget: number): BenchRow => {
        const p50 = quantile(r.cpu, 0.5);
        const p99 = quantile(r.cpu, 0.99);
        return {
          figure,
          baseline,
          measured: `CPU p50 ${ms(p50)}, p99 ${ms(p99)} (${EVENTS} events, ${r.calls.toFixed(0)} API calls each, canned API)`,
          target: `p99 ≤ ${budget} ms CPU per event`,
          met: p99 <= budget,
          notes:
            'the app with a canned API: exchanges recorded from the fake GitHub, replayed at the fetch layer (no nock, no fake in the figure)',
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
