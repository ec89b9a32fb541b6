import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import nock from 'nock';
import { Probot, ProbotOctokit } from 'probot';
import { DeadlineKeeper } from '../../src/app/deadlines.js';
import { PolicyCache } from '../../src/app/deps.js';
import { createApp } from '../../src/app/index.js';
import type { Grant } from '../../src/core/grant.js';
import { serializeGrant } from '../../src/core/grant-file.js';
import { API, type FakeGitHub } from '../helpers/fake-github.js';
import { FakeScheduler } from '../helpers/fake-scheduler.js';
import { buildAccessRepo, carol, dave, PRIVATE_KEY, testConfig } from '../helpers/app.js';
import { checkWebhook, enableContractChecks, exampleResponse } from '../helpers/openapi.js';

type Json = Record<string, unknown>;
const NOW = '2030-01-01T10:00:00.000Z';
const EXPIRES = '2030-01-01T10:30:00.000Z';
const WORKFLOW = '/repos/acme/access/actions/workflows/gatepass.yml/dispatches';

function grant(o: Partial<Grant> = {}): Grant {
  return {
    id: 'req-7',
    resource: 'prod-db',
    requester: { login: dave.login, id: dave.id },
    duration: 3600,
    justification: 'Investigating slow checkout queries (INC-7)',
    source: { issue: 7, pull_request: 8 },
    policy_commit: 'c'.repeat(40),
    status: 'active',
    requested_at: '2030-01-01T09:00:00.000Z',
    approval: {
      approved_at: '2030-01-01T09:05:00.000Z',
      rule: 'reviews',
      approvers: [{ login: 'alice', id: 101, review_id: 1 }],
    },
    issued_at: '2030-01-01T09:30:00.000Z',
    expires_at: EXPIRES,
    ...o,
  };
}
const file = (g: Grant) => ({ [`grants/${g.resource}/${g.id}.yaml`]: serializeGrant(g) });

let examples: { name: string; examples: Json[] }[] | undefined;
const exampleSets = () =>
  (examples ??= createRequire(import.meta.url)('@octokit/webhooks-examples') as typeof examples)!;
/** A real webhook payload (GitHub's example) with our fields over it, checked against the schema. */
function webhook(name: string, action: string | undefined, fields: Json) {
  examples ??= createRequire(import.meta.url)('@octokit/webhooks-examples') as typeof examples;
  const set = exampleSets().find((e) => e.name === name)!;
  const base = structuredClone(
    set.examples.find((e) => e.action === action) ??
      set.examples.find((e) => !('action' in e)) ??
      set.examples[0]!,
  );
  const payload = {
    ...base,
    ...(action ? { action } : {}),
    ...fields,
    installation: { id: 4242, node_id: 'MDIz' },
  };
  expect(checkWebhook(name, payload)).toEqual([]);
  return { name, id: `d-${Math.random()}`, payload } as unknown as Parameters<Probot['receive']>[0];
}
const org = { ...(exampleResponse('GET', '/orgs/{org}') as Json), login: 'acme', id: 1 };
const person = (u: { login: string; id: number }) => ({
  ...(exampleResponse('GET', '/orgs/{org}/teams/{team_slug}/members') as Json[])[0],
  login: u.login,
  id: u.id,
});
function repositoryPayload(): Json {
  const r = structuredClone(
    (examples ??= createRequire(import.meta.url)(
      '@octokit/webhooks-examples',
    ) as typeof examples)!.find((e) => e.name === 'push')!.examples[0]!.repository as Json,
  );
  return {
    ...r,
    name: 'access',
    full_name: 'acme/access',
    default_branch: 'main',
    has_discussions: false,
    topics: [],
    visibility: 'private',
  };
}

enableContractChecks();

describe('the app as the timer (server mode)', () => {
  let gh: FakeGitHub;
  let s: FakeScheduler;
  let keeper: DeadlineKeeper;
  let probot: Probot;
  let dispatches: { at: string; body: Json }[];

  async function boot(files: Record<string, string>) {
    gh = buildAccessRepo(files);
    dispatches = [];
    // Before the fake's catch-all: the installation lookup (app JWT), the repo and the dispatch.
    nock(API)
      .persist()
      .get('/repos/acme/access/installation')
      .reply(200, {
        ...(exampleResponse('GET', '/repos/{owner}/{repo}/installation') as Json),
        id: 4242,
      })
      .get('/repos/acme/access')
      .reply(200, () => {
        const {
          source: _s,
          parent: _p,
          ...r
        } = exampleResponse('GET', '/repos/{owner}/{repo}') as Json;
        return { ...r, language: null, default_branch: 'main' };
      })
      .post(WORKFLOW)
      .reply(204, (_uri, body) => {
        dispatches.push({ at: s.clock.now().toISOString(), body: body as Json });
        return '';
      });
    gh.install();
    s = new FakeScheduler(NOW);
    keeper = new DeadlineKeeper({
      workflow: 'gatepass.yml',
      clock: s.clock,
      scheduler: s,
      policies: new PolicyCache(),
      log: { info: () => {}, warn: () => {} },
    });
    probot = new Probot({
      appId: 1,
      privateKey: PRIVATE_KEY,
      Octokit: ProbotOctokit.defaults((options: object) => ({
        ...options,
        retry: { enabled: false },
        throttle: { enabled: false },
      })),
      logLevel: 'fatal',
    });
    await probot.load(createApp({ config: testConfig(), clock: s.clock, deadlines: keeper }));
    await keeper.ready();
    await s.advance(0);
  }

  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    keeper?.stop();
    nock.cleanAll();
    expect(gh.unexpected).toEqual([]);
  });

  it('builds the deadlines from the default branch at startup and dispatches the run at expiry', async () => {
    await boot(file(grant()));
    expect(keeper.timer.next()).toMatchObject({ grant: 'req-7', kind: 'expiry' });
    await s.advanceTo('2030-01-01T10:29:59Z');
    expect(dispatches).toEqual([]);
    await s.advanceTo('2030-01-01T10:31:00Z');
    expect(dispatches).toEqual([{ at: EXPIRES, body: { ref: 'main' } }]);
  });

  it('re-arms on a push to the default branch (an extension moved the expiry)', async () => {
    await boot(file(grant()));
    const later = '2030-01-01T11:30:00.000Z';
    gh.push('main', file(grant({ expires_at: later })), 'gatepass: extend');
    await probot.receive(
      webhook('push', undefined, {
        ref: 'refs/heads/main',
        commits: [],
        head_commit: null,
        repository: repositoryPayload(),
      }),
    );
    await s.advanceTo('2030-01-01T11:00:00Z');
    expect(dispatches).toEqual([]);
    await s.advanceTo('2030-01-01T11:31:00Z');
    expect(dispatches.map((d) => d.at)).toEqual([later]);
  });

  it('on a push that follows the commit it read, reads only the grant files the push changed', async () => {
    await boot({
      ...file(grant()),
      ...file(grant({ id: 'req-9', expires_at: '2030-01-01T12:00:00.000Z' })),
    });
    const before = gh.head;
    const later = '2030-01-01T11:30:00.000Z';
    const after = gh.push('main', file(grant({ expires_at: later })), 'gatepass: extend');
    const calls = gh.calls.length;
    const commit = (modified: string[]) => ({
      ...(structuredClone(
        exampleSets().find((e) => e.name === 'push')!.examples[0]!.head_commit,
      ) as Json),
      added: [],
      removed: [],
      modified,
    });
    const push = (from: string) =>
      webhook('push', undefined, {
        ref: 'refs/heads/main',
        before: from,
        after,
        forced: false,
        commits: [commit(['grants/prod-db/req-7.yaml'])],
        repository: repositoryPayload(),
      });
    await probot.receive(push(before));
    expect(gh.calls.slice(calls)).toEqual([
      'GET /repos/acme/access/contents/grants/prod-db/req-7.yaml',
    ]);
    expect(keeper.timer.next()).toMatchObject({ grant: 'req-7', at: Date.parse(later) });
    // A delivery that does not follow what was read (one was missed): everything is read again.
    const again = gh.calls.length;
    await probot.receive(push('f'.repeat(40)));
    expect(gh.calls.length - again).toBeGreaterThan(3);
    expect(keeper.timer.next()).toMatchObject({ grant: 'req-7', at: Date.parse(later) });
  });

  it('after a restart fires at once what fell due while it was down', async () => {
    await boot(file(grant({ expires_at: '2030-01-01T09:59:00.000Z' })));
    expect(dispatches).toEqual([{ at: NOW, body: { ref: 'main' } }]);
  });

  it('asks the run to verify the audit when a break-glass review falls due', async () => {
    const bg = grant({
      break_glass: { reason: 'prod is down' },
      approval: { approved_at: '2030-01-01T09:05:00.000Z', rule: 'break_glass', approvers: [] },
      expires_at: '2030-01-02T09:30:00.000Z',
    });
    await boot(file(bg));
    await s.advanceTo('2030-01-02T09:06:00Z'); // review due 24 h after the approval
    expect(dispatches).toEqual([
      { at: '2030-01-02T09:05:00.000Z', body: { ref: 'main', inputs: { 'verify-audit': 'true' } } },
    ]);
  });

  it('starts the run at once when a requester leaves the organization, and ignores others', async () => {
    await boot(file(grant()));
    await probot.receive(
      webhook('organization', 'member_removed', {
        organization: org,
        membership: {
          ...(exampleResponse('GET', '/orgs/{org}/memberships/{username}') as Json),
          user: person(carol),
        },
      }),
    );
    expect(dispatches).toEqual([]);
    await probot.receive(
      webhook('organization', 'member_removed', {
        organization: org,
        membership: {
          ...(exampleResponse('GET', '/orgs/{org}/memberships/{username}') as Json),
          user: person(dave),
        },
      }),
    );
    expect(dispatches).toEqual([{ at: NOW, body: { ref: 'main' } }]);
  });

  it('starts the run at once when a requester leaves a team that lets them request', async () => {
    await boot(file(grant()));
    const removed = (slug: string) =>
      webhook('membership', 'removed', {
        organization: org,
        scope: 'team',
        member: person(dave),
        team: {
          ...(exampleResponse('GET', '/orgs/{org}/teams/{team_slug}') as Json),
          slug,
          parent: null,
        },
      });
    await probot.receive(removed('dba')); // acme/dba only approves
    expect(dispatches).toEqual([]);
    await probot.receive(removed('engineers'));
    expect(dispatches).toHaveLength(1);
  });

  it('starts the run at once when a policy push may have removed requesters', async () => {
    await boot(file(grant()));
    gh.push('main', { 'policies/prod.yaml': 'resources: {}\n' }, 'policy change');
    await probot.receive(
      webhook('push', undefined, {
        ref: 'refs/heads/main',
        commits: [
          {
            ...(structuredClone(
              exampleSets().find((e) => e.name === 'push')!.examples[0]!.head_commit,
            ) as Json),
            added: [],
            removed: [],
            modified: ['policies/prod.yaml'],
          },
        ],
        repository: repositoryPayload(),
      }),
    );
    expect(dispatches).toEqual([{ at: NOW, body: { ref: 'main' } }]);
  });
});
