import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { type CrashPoint } from '../../src/engine/reconcile/index.js';
import { grantPath, serializeGrant } from '../../src/core/grant-file.js';
import type { Grant } from '../../src/core/grant.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  alice,
  API,
  bob,
  clockAt,
  eventsOnMain,
  FakeProvider,
  grantOnMain,
  landGrant,
  mockComments,
  mockMergedPr,
  pendingGrant,
  REPO_PATH,
  runOnce,
  setupRepo,
  type TestRepo,
} from '../helpers/reconcile.js';

enableContractChecks();
let repo: TestRepo;
let fake: FakeProvider;
const provider = () => fake;

beforeEach(async () => {
  nock.disableNetConnect();
  repo = await setupRepo();
  fake = new FakeProvider();
});
afterEach(() => {
  nock.cleanAll();
  repo.cleanup();
});

const comments = mockComments;

async function approvedGrant(n = 1) {
  const grant = pendingGrant(repo, n);
  const sha = await landGrant(repo, grant, n + 1000);
  mockMergedPr(grant, n + 1000, sha);
  return grant;
}

describe('reconcile: the happy path', () => {
  it('verifies a merged, approved grant, issues it, delivers, and records each step in its own commit', async () => {
    const grant = await approvedGrant();
    const posted = comments();
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });

    expect(result.failures).toEqual([]);
    expect(result.events.map((e) => e.event)).toEqual(['approved', 'issued']);
    expect(fake.world.get('req-1')).toBe(1);
    const onMain = await grantOnMain(repo, 'req-1');
    expect(onMain?.path).toBe(grantPath('prod-db', 'req-1'));
    expect(onMain?.grant).toMatchObject({
      status: 'active',
      issued_at: '2030-01-01T10:06:00.000Z',
      expires_at: '2030-01-01T11:06:00.000Z',
      issued: { role: 'gatepass_req_1' },
      approval: { rule: 'reviews', approvers: [{ login: 'bob', id: 1002, review_id: 8001 }] },
    });
    expect(await eventsOnMain(repo, grant.id)).toEqual([
      'requested',
      'approved',
      'issuing',
      'issued',
    ]);
    expect(posted).toEqual(['### Access to prod-db\n\nage-encrypted: AGE-CIPHERTEXT']);
  });

  it('revokes at expiry and archives the grant by the month it ended', async () => {
    await approvedGrant();
    comments();
    await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T11:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['expired']);
    expect(fake.world.size).toBe(0);
    const onMain = await grantOnMain(repo, 'req-1');
    expect(onMain?.path).toBe('grants/archive/2030/01/prod-db/req-1.yaml');
    expect(onMain?.grant).toMatchObject({
      status: 'expired',
      ended_at: '2030-01-01T11:06:00.000Z',
    });
    expect(await repo.origin.listFiles('main', 'grants/prod-db')).toEqual([]);
  });

  it('revokes early on revoke_requested, with the requesting person as actor', async () => {
    await approvedGrant();
    comments();
    await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    const active = (await grantOnMain(repo, 'req-1'))!.grant;
    await landGrant(
      repo,
      {
        ...active,
        revoke_requested: { by: { login: 'bob', id: 1002 }, at: '2030-01-01T10:10:00Z' },
      },
      null,
    );
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:11:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['revoked']);
    expect(fake.world.size).toBe(0);
    const log = [];
    for await (const c of repo.origin.logTrailers({ rev: 'main', paths: ['grants'] })) {
      log.push(c.message);
      break;
    }
    expect(log[0]).toMatch(/^Gatepass-Actor: bob \(1002\)$/m);
  });

  it('expires an approved grant without issuing once its start window has passed', async () => {
    await approvedGrant();
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T11:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['approved', 'expired']);
    expect(fake.calls).toEqual([]);
    expect((await grantOnMain(repo, 'req-1'))?.grant.end_reason).toMatch(/start window/);
  });

  it('prints the plan and changes nothing on a dry run', async () => {
    const grant = pendingGrant(repo, 1);
    await landGrant(repo, grant, 1001);
    const before = await repo.origin.revParse('main');
    const { result, logs } = await runOnce(repo, {
      clock: clockAt('2030-01-01T10:06:00Z'),
      provider,
      dryRun: true,
      github: undefined,
    });
    expect(result.plan.map((s) => `${s.kind} ${s.grant.id}`)).toEqual(['verify req-1']);
    expect(logs).toContain(
      'plan: verify prod-db/req-1: check its pull request and approvals, then approve (or refuse)',
    );
    expect(fake.calls).toEqual([]);
    expect(await repo.origin.revParse('main')).toBe(before);
  });
});

describe('reconcile: refusals (threat #5)', () => {
  it('refuses a grant pushed straight to main and never issues it', async () => {
    const grant = pendingGrant(repo, 1, { source: { issue: 1 } });
    await landGrant(repo, grant, null);
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect(fake.calls).toEqual([]);
    const onMain = await grantOnMain(repo, 'req-1');
    expect(onMain?.grant.status).toBe('denied');
    expect(onMain?.grant.end_reason).toMatch(/without a pull request/);
    expect(onMain?.path).toBe('grants/archive/2030/01/prod-db/req-1.yaml');
  });

  it('refuses a grant whose PR trailer names a PR that merged something else', async () => {
    const grant = pendingGrant(repo, 1);
    await landGrant(repo, grant, 1001);
    mockMergedPr(grant, 1001, 'f'.repeat(40));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect((await grantOnMain(repo, 'req-1'))?.grant.end_reason).toMatch(/not the merge of #1001/);
  });

  it('refuses a PR that also changed a policy', async () => {
    const grant = pendingGrant(repo, 1);
    const sha = await landGrant(repo, grant, 1001);
    mockMergedPr(grant, 1001, sha, {
      files: [grantPath('prod-db', 'req-1'), 'policies/example.yaml'],
    });
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect(fake.calls).toEqual([]);
  });

  it('refuses when the only approval came from someone who is not an approver', async () => {
    const grant = pendingGrant(repo, 1);
    const sha = await landGrant(repo, grant, 1001);
    mockMergedPr(grant, 1001, sha, { reviewer: { login: 'mallory', id: 666 } });
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect((await grantOnMain(repo, 'req-1'))?.grant.end_reason).toMatch(
      /0 of 1 required approval/,
    );
  });

  it('refuses a grant judged against a policy commit that is not on main', async () => {
    const grant = pendingGrant(repo, 1, { policy_commit: 'a'.repeat(40) });
    const sha = await landGrant(repo, grant, 1001);
    mockMergedPr(grant, 1001, sha);
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect((await grantOnMain(repo, 'req-1'))?.grant.end_reason).toMatch(
      /not on the default branch/,
    );
  });
});

describe('reconcile: faults', () => {
  /** Issue at 10:06, expire at 11:10: the whole life of a grant, as the schedule runs it. */
  const lifecycle = ['2030-01-01T10:06:00Z', '2030-01-01T11:10:00Z'];
  // verify (3 hooks) + issue (8, two commits) at 10:06; revoke (4) at 11:10.
  const HOOK_CALLS = 15;

  it(`passes ${HOOK_CALLS} crash points in a grant's life`, async () => {
    await approvedGrant();
    comments();
    const points: string[] = [];
    for (const at of lifecycle)
      await runOnce(repo, { clock: clockAt(at), provider, hook: (p) => void points.push(p) });
    expect(points).toEqual([
      ...['before-step', 'after-commit', 'after-push'],
      ...['before-step', 'after-commit', 'after-push', 'after-marker', 'after-effect'],
      ...['after-delivery', 'after-commit', 'after-push'],
      ...['before-step', 'after-effect', 'after-commit', 'after-push'],
    ]);
    expect(points).toHaveLength(HOOK_CALLS);
  });

  it.each(Array.from({ length: HOOK_CALLS }, (_, i) => i + 1))(
    'a run killed at crash point %i is finished by the next run: one credential, then none',
    async (n) => {
      await approvedGrant();
      comments();
      let calls = 0;
      let crashedAt: CrashPoint | undefined;
      const hook = (p: CrashPoint) => {
        calls += 1;
        if (calls === n) {
          crashedAt = p;
          throw new Error('killed');
        }
      };
      for (const at of lifecycle) {
        const before = calls;
        const run = runOnce(repo, { clock: clockAt(at), provider, hook });
        if (n > before && crashedAt === undefined) {
          const finished = await run.then(
            () => true,
            (e: Error) => {
              expect(e.message).toMatch(/run aborted/);
              return false;
            },
          );
          // The next scheduled run, on a fresh checkout, at the same time.
          if (!finished) await runOnce(repo, { clock: clockAt(at), provider });
        } else await run;
        if (at === lifecycle[0]) {
          expect(fake.world.get('req-1')).toBe(1);
          expect((await grantOnMain(repo, 'req-1'))?.grant.status).toBe('active');
        }
      }
      expect(crashedAt).toBeDefined();
      expect(fake.world.size).toBe(0);
      const onMain = await grantOnMain(repo, 'req-1');
      expect(onMain?.grant.status).toBe('expired');
      expect(onMain?.path).toMatch(/^grants\/archive\//);
      const events = await eventsOnMain(repo, 'req-1');
      for (const e of ['approved', 'issued', 'expired'])
        expect(events.filter((x) => x === e)).toHaveLength(1);
    },
  );

  it('revokes, rather than forgets, access an interrupted issue gave once the grant is revoked', async () => {
    await approvedGrant();
    comments();
    await expect(
      runOnce(repo, {
        clock: clockAt('2030-01-01T10:06:00Z'),
        provider,
        hook: (p) => {
          if (p === 'after-effect') throw new Error('killed');
        },
      }),
    ).rejects.toThrow();
    expect(fake.world.get('req-1')).toBe(1);
    const marked = (await grantOnMain(repo, 'req-1'))!.grant;
    expect(marked.status).toBe('approved');
    await landGrant(
      repo,
      {
        ...marked,
        revoke_requested: { by: { login: 'bob', id: 1002 }, at: '2030-01-01T10:08:00Z' },
      },
      null,
    );
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:09:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['revoked']);
    expect(fake.world.size).toBe(0);
  });

  it('re-fetches and re-plans when a concurrent commit rejects the push', async () => {
    await approvedGrant();
    comments();
    let pushedConcurrently = false;
    const { result } = await runOnce(repo, {
      clock: clockAt('2030-01-01T10:06:00Z'),
      provider,
      hook: async (p) => {
        if (p === 'after-commit' && !pushedConcurrently) {
          pushedConcurrently = true;
          const other = await repo.cloneAgain('concurrent');
          repo.write('README.md', 'someone else\n', other.dir);
          await other.add(['README.md']);
          await other.commit('Unrelated change');
          expect(await other.push('origin', 'main')).toBe('ok');
        }
      },
    });
    expect(result.failures).toEqual([]);
    expect(result.events.map((e) => e.event)).toEqual(['approved', 'issued']);
    expect((await grantOnMain(repo, 'req-1'))?.grant.status).toBe('active');
    expect(await repo.origin.showFile('main', 'README.md')).toBe('someone else\n');
    expect(fake.world.get('req-1')).toBe(1);
  });

  it('keeps going past a provider that throws and reports the failure', async () => {
    await approvedGrant(1);
    await approvedGrant(2);
    comments();
    fake.fail.add('req-1');
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.failures).toEqual([
      { grant: 'req-1', step: 'issue', message: 'target unreachable for req-1' },
    ]);
    expect(fake.world.has('req-2')).toBe(true);
    expect((await grantOnMain(repo, 'req-2'))?.grant.status).toBe('active');
    // req-1 stays approved with its marker: the next run retries it.
    expect((await grantOnMain(repo, 'req-1'))?.grant.status).toBe('approved');
    fake.fail.clear();
    const again = await runOnce(repo, { clock: clockAt('2030-01-01T10:20:00Z'), provider });
    expect(again.result.events.map((e) => `${e.event} ${e.grant}`)).toEqual(['issued req-1']);
  });

  it('reports a corrupt grant file and still handles the others', async () => {
    await approvedGrant(2);
    comments();
    await landGrant(repo, pendingGrant(repo, 3, { source: { issue: 3 } }), null, {
      'grants/prod-db/req-1.yaml': 'id: req-1\nstatus: [unclosed\n',
    });
    // req-3 (pushed directly) is refused, req-2 issued; req-1 is reported and left alone.
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.problems.map((p) => p.file)).toContain('grants/prod-db/req-1.yaml');
    expect(result.events.map((e) => `${e.event} ${e.grant}`).sort()).toEqual(
      ['approved req-2', 'issued req-2', 'refused req-3'].sort(),
    );
    expect(await repo.origin.showFile('main', 'grants/prod-db/req-1.yaml')).toContain('[unclosed');
  });

  it('retries a GitHub 5xx and a 403 rate limit during verification', async () => {
    const grant = pendingGrant(repo, 1);
    const sha = await landGrant(repo, grant, 1001);
    const reset = String(Math.floor(Date.now() / 1000));
    nock(API)
      .get(`${REPO_PATH}/pulls/1001`)
      .reply(502, { message: 'Bad Gateway' })
      .get(`${REPO_PATH}/pulls/1001/files`)
      .query(true)
      .reply(
        403,
        { message: 'API rate limit exceeded' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      );
    mockMergedPr(grant, 1001, sha);
    comments();
    const { githubClient } = await import('../helpers/reconcile.js');
    const { result } = await runOnce(repo, {
      clock: clockAt('2030-01-01T10:06:00Z'),
      provider,
      github: githubClient({ retry: true, throttle: true }),
    });
    expect(result.failures).toEqual([]);
    expect(result.events.map((e) => e.event)).toEqual(['approved', 'issued']);
  });

  it('reports drift and removes it only when asked', async () => {
    fake.world.set('req-77', 1); // access with no live grant behind it
    const report = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(report.result.drift).toEqual([
      {
        resource: 'prod-db',
        access: expect.objectContaining({ grantId: 'req-77' }),
        removed: false,
      },
    ]);
    expect(fake.world.has('req-77')).toBe(true);
    const fix = await runOnce(repo, {
      clock: clockAt('2030-01-01T10:06:00Z'),
      provider,
      removeDrift: true,
    });
    expect(fix.result.drift.map((d) => d.removed)).toEqual([true]);
    expect(fake.world.has('req-77')).toBe(false);
  });
});

describe('reconcile: nothing is issued that gatepass did not confirm (threat #5, review findings)', () => {
  async function pushStraightToMain(path: string, text: string): Promise<void> {
    const clone = await repo.cloneAgain(`push-${Math.random().toString(36).slice(2)}`);
    repo.write(path, text, clone.dir);
    await clone.add(['.']);
    await clone.commit('Edit a grant by hand');
    expect(await clone.push('origin', 'main')).toBe('ok');
  }

  it("refuses a grant whose requester login is not the account its id names (borrowing carol's rights)", async () => {
    const grant = pendingGrant(repo, 1, { requester: { login: 'carol', id: alice.id } });
    const sha = await landGrant(repo, grant, 1001);
    mockMergedPr(grant, 1001, sha, { requesterLogin: 'alice' });
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect(fake.calls).toEqual([]);
    expect((await grantOnMain(repo, 'req-1'))?.grant.end_reason).toMatch(/is @alice, not @carol/);
  });

  it('refuses a request widened by a push after its approved merge', async () => {
    const grant = pendingGrant(repo, 1);
    const sha = await landGrant(repo, grant, 1001);
    mockMergedPr(grant, 1001, sha);
    await pushStraightToMain(
      grantPath('prod-db', 'req-1'),
      serializeGrant({ ...grant, duration: grant.duration * 2 }),
    );
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect(fake.calls).toEqual([]);
    expect((await grantOnMain(repo, 'req-1'))?.grant.end_reason).toMatch(
      /no longer what commit .* merged/,
    );
  });

  it('never issues a grant written on main as already approved', async () => {
    const forged: Grant = {
      ...pendingGrant(repo, 1),
      status: 'approved',
      approval: {
        approved_at: '2030-01-01T10:01:00Z',
        rule: 'reviews',
        approvers: [{ ...bob, review_id: 1 }],
      },
    };
    await landGrant(repo, forged, null);
    mockMergedPr(forged, 1001, 'f'.repeat(40));
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect(fake.calls).toEqual([]);
    expect((await grantOnMain(repo, 'req-1'))?.grant.status).toBe('revoked');
  });

  it('refuses a request file that carries an issue marker of its own (years of access)', async () => {
    const text = serializeGrant(pendingGrant(repo, 1)).replace(
      /^requested_at: .*$/m,
      (l) => `${l}\nissued:\n  issue_started_at: '2031-01-01T00:00:00Z'`,
    );
    await pushStraightToMain(grantPath('prod-db', 'req-1'), text);
    const { result } = await runOnce(repo, { clock: clockAt('2030-01-01T10:06:00Z'), provider });
    expect(result.problems.map((p) => p.message).join('\n')).toMatch(/issued/);
    expect(fake.calls).toEqual([]);
  });
});
