import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { runInActions } from '../../src/app/actions-entry.js';
import { fixedClock } from '../../src/core/clock.js';
import { parseTrailers } from '../../src/core/trailers.js';
import { enableContractChecks } from '../helpers/openapi.js';
import type { FakeGitHub } from '../helpers/fake-github.js';
import {
  alice,
  buildAccessRepo,
  buildProbot,
  dave,
  issueEvent,
  NOW,
  reviewEvent,
  type Event,
} from '../helpers/app.js';

enableContractChecks();
let gh: FakeGitHub;
let dir: string;
const logs: string[] = [];
const failures: string[] = [];
const core = {
  info: (m: string) => void logs.push(m),
  setFailed: (m: string | Error) => void failures.push(String(m)),
};
const Octokit = ProbotOctokit.defaults((o: object) => ({
  ...o,
  retry: { enabled: false },
  throttle: { enabled: false },
})) as typeof ProbotOctokit;

beforeEach(() => {
  nock.disableNetConnect();
  gh = buildAccessRepo();
  gh.install();
  dir = mkdtempSync(join(tmpdir(), 'gatepass-actions-'));
  logs.length = 0;
  failures.length = 0;
});
afterEach(() => {
  nock.cleanAll();
  rmSync(dir, { recursive: true, force: true });
  expect(gh.unexpected).toEqual([]);
});

/** The environment a workflow run gives the step, with the event recorded to a file. */
function workflowEnv(name: string, payload: unknown): Record<string, string> {
  const path = join(dir, 'event.json');
  writeFileSync(path, JSON.stringify(payload));
  return {
    GATEPASS_APP_TOKEN: 'ghs_installationtokenfromtheworkflow000',
    GITHUB_EVENT_NAME: name,
    GITHUB_EVENT_PATH: path,
    GITHUB_REPOSITORY: 'acme/access',
    GITHUB_REF_NAME: 'main',
    GITHUB_RUN_ID: '77',
  };
}

const run = (env: Record<string, string>, at = NOW) =>
  runInActions({ env, clock: fixedClock(at), core, Octokit });

/** The request PR for issue 42, opened through the server-mode app (same handlers). */
async function openRequest() {
  gh.fileIssue(42, dave);
  await buildProbot().receive(issueEvent({}));
  return gh.pullFor('gatepass/req-42')!;
}

describe('the app inside GitHub Actions', () => {
  it('handles the recorded event with the workflow token: an approval merges the grant', async () => {
    const pr = await openRequest();
    gh.addReview(pr.number, alice, 'APPROVED');
    const ev = reviewEvent(pr.number) as Event & { payload: Record<string, unknown> };
    const { installation: _i, ...payload } = ev.payload;
    await run(workflowEnv('pull_request_review', payload));

    expect(failures).toEqual([]);
    expect(gh.merges).toHaveLength(1);
    expect(parseTrailers(gh.merges[0]!.commit_message)).toMatchObject({
      grant: 'req-42',
      event: 'approved',
      rule: 'reviews',
    });
    expect(logs).toContain('handled pull_request_review.submitted');
  });

  it('authenticates with the token from the workflow, not an app JWT', async () => {
    nock.cleanAll();
    const scope = nock('https://api.github.com', {
      reqheaders: { authorization: 'token ghs_installationtokenfromtheworkflow000' },
    })
      .get('/repos/acme/access/pulls')
      .query({ state: 'open', base: 'main', per_page: '100' })
      .reply(200, []);
    await run(workflowEnv('workflow_dispatch', { repository: { default_branch: 'main' } }));
    expect(failures).toEqual([]);
    expect(scope.isDone()).toBe(true);
    expect(logs.at(-1)).toBe('swept 0 open request(s): none');
  });

  it('on schedule, closes a request left unapproved past its TTL, with a comment', async () => {
    const pr = await openRequest();
    const later = new Date(NOW.getTime() + 25 * 3600_000);
    await run(workflowEnv('schedule', { schedule: '*/15 * * * *' }), later);

    expect(failures).toEqual([]);
    expect(gh.pulls.get(pr.number)!.state).toBe('closed');
    expect(gh.merges).toEqual([]);
    expect(gh.issue(42).comments.at(-1)!.body).toContain('request expired after 1d');
    expect(gh.labelsOf(42)).toContain('gatepass:denied');
    expect(logs.at(-1)).toBe(`swept 1 open request(s): #${pr.number} denied`);
  });

  it('on schedule, leaves a request within its TTL pending', async () => {
    const pr = await openRequest();
    await run(workflowEnv('schedule', {}), new Date(NOW.getTime() + 3600_000));
    expect(gh.pulls.get(pr.number)!.state).toBe('open');
    expect(logs.at(-1)).toBe(`swept 1 open request(s): #${pr.number} pending`);
  });

  it('fails the step with a clear message without a token', async () => {
    const env = workflowEnv('schedule', {});
    delete (env as Record<string, string | undefined>).GATEPASS_APP_TOKEN;
    await run(env);
    expect(failures[0]).toContain('GATEPASS_APP_TOKEN is not set');
    expect(gh.calls).toEqual([]);
  });
});
