import { afterEach, beforeEach, expect } from '@jest/globals';
import nock from 'nock';
import { generateKeyPairSync } from 'node:crypto';
import { Probot, ProbotOctokit } from 'probot';
import { fixedClock, type Clock } from '../../src/core/clock.js';
import { renderRequestBody } from '../../src/core/request-parse.js';
import type { AccessRequest } from '../../src/core/request.js';
import { loadConfig, type AppConfig } from '../../src/app/config.js';
import { createApp } from '../../src/app/index.js';
import { FakeGitHub, type FakeUser } from './fake-github.js';
import { readFixture } from './fixtures.js';
import { enableContractChecks } from './openapi.js';

type Json = Record<string, unknown>;

export const NOW = new Date('2030-01-01T10:00:00Z');
export const alice: FakeUser = { login: 'alice', id: 101, type: 'User' };
export const bob: FakeUser = { login: 'bob', id: 102, type: 'User' };
export const carol: FakeUser = { login: 'carol', id: 103, type: 'User' };
export const dave: FakeUser = { login: 'dave', id: 104, type: 'User' };
export const mallory: FakeUser = { login: 'mallory', id: 666, type: 'User' };
export const ciBot: FakeUser = { login: 'ci-bot[bot]', id: 777, type: 'Bot' };

export const POLICY = readFixture('app/policy.yaml');
/** Made per run: no private key, not even a test one, lives in the repository. */
export const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();

export const testConfig = (): AppConfig => loadConfig({ GATEPASS_ACCESS_REPO: 'acme/access' });

/** The fake of the running test: review deliveries carry its PR as it is. */
let current: FakeGitHub | undefined;

/** An access repo with one policy; acme/dba has carol, acme/engineers has dave and carol. */
export function buildAccessRepo(files: Record<string, string> = {}): FakeGitHub {
  const gh = new FakeGitHub({ 'policies/prod.yaml': POLICY, 'grants/.gitkeep': '', ...files });
  gh.teams.set('acme/dba', [carol]);
  gh.teams.set('acme/engineers', [dave, carol]);
  current = gh;
  return gh;
}

export function buildProbot(
  o: { clock?: Clock; config?: AppConfig; fetch?: typeof fetch } = {},
): Probot {
  const probot = new Probot({
    appId: 1,
    privateKey: PRIVATE_KEY,
    // A function, not an object: Probot merges its own throttle options over an object's, which
    // leaves the write limiter (1 s between writes) on in tests.
    Octokit: ProbotOctokit.defaults((options: { request?: object }) => ({
      ...options,
      retry: { enabled: false },
      throttle: { enabled: false },
      // The bench answers from a recording instead of the fake (see bench/support/canned-api.ts).
      ...(o.fetch ? { request: { ...options.request, fetch: o.fetch } } : {}),
    })),
    logLevel: 'fatal',
  });
  probot.load(createApp({ config: o.config ?? testConfig(), clock: o.clock ?? fixedClock(NOW) }));
  return probot;
}

const fixture = (name: string): Json => JSON.parse(readFixture(`events/${name}.json`)) as Json;

const user = (u: FakeUser): Json => ({ login: u.login, id: u.id, type: u.type ?? 'User' });
const repository = (fullName = 'acme/access'): Json => ({
  ...(fixture('issues.opened').repository as Json),
  name: fullName.split('/')[1],
  full_name: fullName,
  owner: { login: fullName.split('/')[0], id: 1, type: 'Organization' },
  default_branch: 'main',
});

export const requestBody = (req: Partial<AccessRequest> = {}): string =>
  renderRequestBody({
    resource: 'prod-db',
    duration: 7200,
    justification: 'Investigating slow checkout queries (INC-7)',
    ...req,
  });

let delivery = 1;
/** A delivery as `probot.receive` takes it; payloads are trimmed real ones, so cast once here. */
export type Event = Parameters<Probot['receive']>[0];
const event = (name: string, payload: Json): Event =>
  ({ name, id: `d-${delivery++}`, payload }) as unknown as Event;

export function issueEvent(o: {
  action?: 'opened' | 'edited';
  number?: number;
  body?: string;
  author?: FakeUser;
  labels?: string[];
  repo?: string;
}): Event {
  const base = fixture(`issues.${o.action ?? 'opened'}`);
  const author = o.author ?? dave;
  return event('issues', {
    ...base,
    issue: {
      ...(base.issue as Json),
      number: o.number ?? 42,
      title: 'Access request: prod-db',
      body: o.body ?? requestBody(),
      user: user(author),
      labels: (o.labels ?? ['access-request']).map((name, i) => ({ id: i + 1, name })),
    },
    repository: repository(o.repo),
    sender: user(author),
  });
}

export function commentEvent(o: {
  body: string;
  sender: FakeUser;
  action?: 'created' | 'edited';
  issue?: number;
  author?: FakeUser;
  /** The issue's body (a break-glass follow-up names its grant there). */
  issueBody?: string;
}): Event {
  const base = fixture('issue_comment.created');
  const { pull_request: _pr, ...issue } = base.issue as Json;
  return event('issue_comment', {
    ...base,
    action: o.action ?? 'created',
    ...(o.action === 'edited' ? { changes: { body: { from: 'thanks' } } } : {}),
    issue: {
      ...issue,
      number: o.issue ?? 42,
      user: user(o.author ?? dave),
      labels: [],
      ...(o.issueBody !== undefined ? { body: o.issueBody } : {}),
    },
    comment: { ...(base.comment as Json), id: delivery, body: o.body, user: user(o.sender) },
    repository: repository(),
    sender: user(o.sender),
  });
}

export function reviewEvent(
  pr: number,
  o: { by?: FakeUser; action?: string; repo?: string } = {},
): Event {
  const base = fixture('pull_request_review.submitted');
  return event('pull_request_review', {
    ...base,
    action: o.action ?? 'submitted',
    // As GitHub sends it: the PR as it is when the review is made.
    pull_request: { ...(base.pull_request as Json), ...current?.webhookPull(pr), number: pr },
    repository: repository(o.repo),
    sender: user(o.by ?? alice),
  });
}

/**
 * A push to `ref` as GitHub delivers it: each commit with the paths it added, modified and
 * removed (GitHub lists at most 20 commits).
 */
export function pushEvent(o: {
  before: string;
  after: string;
  commits: { added?: string[]; modified?: string[]; removed?: string[] }[];
  forced?: boolean;
  ref?: string;
}): Event {
  return event('push', {
    ref: o.ref ?? 'refs/heads/main',
    before: o.before,
    after: o.after,
    created: false,
    deleted: false,
    forced: o.forced ?? false,
    base_ref: null,
    commits: o.commits.map((c, i) => ({
      id: `${i}`.padStart(40, 'c'),
      distinct: true,
      message: 'push',
      added: c.added ?? [],
      modified: c.modified ?? [],
      removed: c.removed ?? [],
    })),
    head_commit: null,
    repository: repository(),
    sender: user(dave),
  });
}

export function pullRequestEvent(pr: number, action = 'opened', by: FakeUser = dave): Event {
  const base = fixture('pull_request.opened');
  return event('pull_request', {
    ...base,
    action,
    number: pr,
    pull_request: { ...(base.pull_request as Json), ...current?.webhookPull(pr), number: pr },
    repository: repository(),
    sender: user(by),
  });
}

export function checkRunEvent(pr: number, name = 'gatepass/approval'): Event {
  const base = fixture('check_run.rerequested');
  return event('check_run', {
    ...base,
    check_run: { ...(base.check_run as Json), name, pull_requests: [{ number: pr }] },
    repository: repository(),
    sender: user(dave),
  });
}

/**
 * One fake access repo and one app per test, with the OpenAPI contract checks on and a check
 * that the app made no call the fake did not expect. `arrange` adjusts the repo before the
 * app is built; `use` receives both (test files keep them in their own variables).
 */
export function useFakeAccessRepo(
  use: (w: { gh: FakeGitHub; probot: Probot }) => void,
  arrange: () => FakeGitHub = () => buildAccessRepo(),
): void {
  enableContractChecks();
  let gh: FakeGitHub;
  beforeEach(() => {
    nock.disableNetConnect();
    gh = arrange();
    current = gh;
    gh.install();
    use({ gh, probot: buildProbot() });
  });
  afterEach(() => {
    nock.cleanAll();
    expect(gh.unexpected).toEqual([]);
  });
}
