import { beforeEach, describe, expect, it } from '@jest/globals';
import { fixedClock } from '../../../src/core/clock.js';
import type { Grant } from '../../../src/core/grant.js';
import { grantPath, parseGrant, serializeGrant } from '../../../src/core/grant-file.js';
import { parseTrailers } from '../../../src/core/trailers.js';
import { buildAuditReport } from '../../../src/engine/audit/build.js';
import {
  CRASH_POINTS,
  reconcile,
  type ReconcileOptions,
} from '../../../src/engine/reconcile/index.js';
import type { ProviderContext } from '../../../src/providers/provider.js';
import { landMergedRequest, MemoryGitHub, MemoryGrantStore } from '../../helpers/memory-ports.js';
import { FakeProvider, POLICY, alice, bob } from '../../helpers/reconcile.js';

/**
 * The real reconcile engine over in-memory ports: no git, no HTTP. What the action does on a
 * checkout, it does here on a commit graph in memory, which is what model-based tests drive.
 */
const T0 = '2030-01-01T10:00:00.000Z';
const MERGED_AT = '2030-01-01T10:05:00Z';

let store: MemoryGrantStore;
let github: MemoryGitHub;
let provider: FakeProvider;
let policyCommit: string;

function run(o: Partial<ReconcileOptions> = {}) {
  return reconcile({
    history: store,
    writer: store,
    github,
    branch: 'main',
    clock: fixedClock('2030-01-01T10:10:00Z'),
    env: {},
    mask: () => {},
    log: () => {},
    provider: () => provider,
    ...o,
  });
}

function request(n: number, overrides: Partial<Grant> = {}): Grant {
  return {
    id: `req-${n}`,
    resource: 'prod-db',
    requester: alice,
    duration: 3600,
    justification: 'Investigating slow checkout queries (INC-7)',
    source: { issue: n, pull_request: n + 1000 },
    policy_commit: policyCommit,
    status: 'pending',
    requested_at: T0,
    ...overrides,
  };
}

function land(grant: Grant, reviewers = [bob]) {
  const path = grantPath(grant.resource, grant.id);
  return landMergedRequest(store, github, {
    path,
    text: serializeGrant(grant),
    pr: grant.source.pull_request!,
    grantId: grant.id,
    resource: grant.resource,
    requester: grant.requester,
    reviewers,
    mergedAt: MERGED_AT,
  });
}

function onRemote(grant: Grant): Grant | undefined {
  for (const [path, text] of store.remoteFiles())
    if (path.endsWith(`/${grant.id}.yaml`)) {
      const parsed = parseGrant(text, path);
      if (parsed.ok) return parsed.value;
    }
  return undefined;
}

beforeEach(() => {
  store = new MemoryGrantStore({ 'policies/example.yaml': POLICY }, 'Policies');
  policyCommit = store.remoteHead;
  github = new MemoryGitHub().addUser(alice).addUser(bob);
  provider = new FakeProvider();
});

describe('the reconcile engine over in-memory ports', () => {
  it('approves and issues a merged, reviewed request, one pushed commit per state change', async () => {
    const grant = request(1);
    land(grant);
    const result = await run();
    expect(result.failures).toEqual([]);
    expect(result.events.map((e) => e.event)).toEqual(['approved', 'issued']);
    expect(onRemote(grant)?.status).toBe('active');
    expect(provider.world.get('req-1')).toBe(1);
    expect(github.comments.map((c) => c.issue)).toEqual([1]);
    // approve, issuing marker, issued: each its own pushed commit
    expect(store.pushes).toEqual(['ok', 'ok', 'ok']);
    const events: string[] = [];
    for (let sha: string | undefined = store.remoteHead; sha;) {
      const c: { message: string; parents: string[] } = store.commits.get(sha)!;
      const t = parseTrailers(c.message);
      if (t?.grant === 'req-1') events.unshift(t.event);
      sha = c.parents[0];
    }
    expect(events).toEqual(['requested', 'approved', 'issuing', 'issued']);
  });

  it('reads the grant files once per run, and its state after many steps is what a read gives', async () => {
    const grants = [5, 6, 7].map((n) => request(n));
    for (const g of grants) land(g);
    const reads: number[] = [];
    const readBlobs = store.readBlobs.bind(store);
    store.readBlobs = (ids) => {
      reads.push(ids.length);
      return readBlobs(ids);
    };
    const first = await run();
    expect(first.failures).toEqual([]);
    // 3 × (approve, issuing, issued): nine steps, one read of the three grant files.
    expect(first.events.map((e) => e.event)).toHaveLength(6);
    expect(store.pushes).toHaveLength(9);
    expect(reads).toEqual([3]);
    // A second run re-plans from a fresh read: nothing is left to do, so the in-memory
    // state the first run ended with matched the branch.
    const second = await run();
    expect(second.plan).toEqual([]);
    expect(second.events).toEqual([]);
    // After expiry, all three are revoked and archived from one read.
    reads.length = 0;
    const third = await run({ clock: fixedClock('2030-01-01T12:00:00Z') });
    expect(third.events.map((e) => e.event)).toEqual(['expired', 'expired', 'expired']);
    expect(reads).toEqual([3]);
    for (const g of grants) expect(onRemote(g)?.status).toBe('expired');
    expect(await run({ clock: fixedClock('2030-01-01T12:00:00Z') })).toMatchObject({ plan: [] });
  });

  it('asks GitHub for a login once per run, however often providers ask', async () => {
    const grant = request(8);
    land(grant);
    // A provider that asks for the requester's login in both phases, as github-team does.
    class Asking extends FakeProvider {
      async prepareIssue(g: Grant, pctx: ProviderContext) {
        await pctx.github!.loginForId(g.requester.id);
        return {};
      }
      override async issue(g: Grant, pctx?: ProviderContext) {
        await pctx!.github!.loginForId(g.requester.id);
        return super.issue(g);
      }
    }
    const result = await run({ provider: () => new Asking() });
    expect(result.failures).toEqual([]);
    expect(github.calls.filter((c) => c.startsWith('loginForId(')).length).toBe(1);
  });

  it('restores the work tree after a step whose provider borrowed it, and only then', async () => {
    land(request(9));
    land(request(10));
    // A provider that takes the work tree (as the SSH KRL and command scripts do) and leaves a
    // file there, and one that never asks for it.
    class Borrowing extends FakeProvider {
      override async issue(g: Grant, pctx?: ProviderContext) {
        expect(pctx!.workdir).toBe(store.workdir);
        await store.write('scratch/left-by-a-script', 'x');
        return super.issue(g);
      }
    }
    const lent: string[] = [];
    const lend = store.lendWorkTree.bind(store);
    store.lendWorkTree = () => {
      lent.push('lent');
      return lend();
    };
    const result = await run({ provider: () => new Borrowing() });
    expect(result.failures).toEqual([]);
    // Borrowed once per issue (the other steps never ask), and restored: nothing left, nothing
    // committed.
    expect(lent.filter((l) => l === 'lent')).toHaveLength(2);
    expect(await store.isClean()).toBe(true);
    expect([...store.remoteFiles().keys()].some((p) => p.includes('scratch'))).toBe(false);
  });

  it('lists drift only when asked to (the workflow does it daily, not on every sweep)', async () => {
    const listed: string[] = [];
    provider.list = async () => {
      listed.push('list');
      return [];
    };
    await run({ checkDrift: false });
    expect(listed).toEqual([]);
    await run();
    expect(listed).toEqual(['list']);
  });

  it('refuses a request whose reviewer is not an approver, and issues nothing', async () => {
    const carol = { login: 'carol', id: 1003 };
    github.addUser(carol);
    const grant = request(2);
    land(grant, [carol]);
    const result = await run();
    expect(result.events.map((e) => e.event)).toEqual(['refused']);
    expect(onRemote(grant)?.status).toBe('denied');
    expect(provider.world.size).toBe(0);
  });

  it('re-plans after a push the branch moved under, without a second credential', async () => {
    const grant = request(3);
    land(grant);
    let raced = false;
    const result = await run({
      hook: (point) => {
        // Another writer lands a commit between our commit and our push, once.
        if (point === 'after-commit' && !raced) {
          raced = true;
          store.commitOnRemote({ 'README.md': 'someone else' }, 'unrelated');
        }
      },
    });
    expect(store.pushes[0]).toBe('rejected');
    expect(result.failures).toEqual([]);
    expect(onRemote(grant)?.status).toBe('active');
    expect(provider.world.get('req-3')).toBe(1);
  });

  it.each(CRASH_POINTS)('a run that dies at %s is finished by the next run', async (point) => {
    const grant = request(4);
    land(grant);
    let died = false;
    await expect(
      run({
        hook: (p) => {
          if (p === point && !died) {
            died = true;
            throw new Error('killed');
          }
        },
      }),
    ).rejects.toThrow(/run aborted/);
    // The next workflow run starts from whatever the remote has.
    await store.refresh();
    const result = await run();
    expect(result.failures).toEqual([]);
    expect(onRemote(grant)?.status).toBe('active');
    expect(provider.world.get('req-4')).toBe(1);
  });

  it('leaves a history the audit engine verifies clean, over the same store', async () => {
    const grant = request(6);
    store.now = () => new Date(MERGED_AT);
    land(grant);
    const at = (iso: string) => {
      store.now = () => new Date(iso);
      return fixedClock(iso);
    };
    await run({ clock: at('2030-01-01T10:10:00Z') });
    await run({ clock: at('2030-01-01T11:12:00Z') });
    expect(onRemote(grant)?.status).toBe('expired');
    const report = await buildAuditReport(store, {
      verify: true,
      now: new Date('2030-01-01T12:00:00Z'),
    });
    expect(report.grants.map((g) => [g.id, g.endEvent])).toEqual([['req-6', 'expired']]);
    expect(report.grants[0]!.events.map((e) => e.kind)).toEqual([
      'requested',
      'approved',
      'issuing',
      'issued',
      'expired',
    ]);
    expect(report.findings!.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('previews without writing in a dry run', async () => {
    land(request(5));
    const before = store.remoteHead;
    await store.refresh();
    const result = await run({ dryRun: true, writer: undefined, github: undefined });
    expect(result.plan.map((s) => s.kind)).toEqual(['verify']);
    expect(store.remoteHead).toBe(before);
  });

  // Issue #14 item 5: an extension written as `approved` straight onto the branch (no PR, no
  // reviews) was applied on the old code: the grant's expiry moved by 3 h.
  it('refuses an extension pushed straight to the branch as approved, and never applies it', async () => {
    const grant = request(1);
    land(grant);
    await run();
    const active = onRemote(grant)!;
    const ext: Grant = {
      ...request(1, { id: 'req-1-ext-1', duration: 3 * 3600, extends: 'req-1' }),
      status: 'approved',
      approval: {
        approved_at: '2030-01-01T10:20:00.000Z',
        rule: 'reviews',
        approvers: [{ ...bob, review_id: 1 }],
      },
    };
    store.commitOnRemote({ [grantPath('prod-db', ext.id)]: serializeGrant(ext) }, 'extend');
    const result = await run({ clock: fixedClock('2030-01-01T10:30:00Z') });
    expect(result.events.map((e) => `${e.event} ${e.grant}`)).toEqual(['refused req-1-ext-1']);
    expect(provider.calls.filter((c) => c.startsWith('extend'))).toEqual([]);
    expect(onRemote(grant)?.expires_at).toBe(active.expires_at);
    expect(onRemote(ext)).toMatchObject({ status: 'revoked' });
  });

  // Issue #14 item 7: `/revoke` between the merge and the action's run wrote nothing on the old
  // code ("it ended") and the grant was issued; a pending grant could not even carry the request.
  it('never issues a merged grant whose revocation was requested before the action ran', async () => {
    const grant = request(1);
    land(grant);
    const revoked: Grant = {
      ...grant,
      revoke_requested: { by: bob, at: '2030-01-01T10:06:00.000Z', reason: 'wrong database' },
    };
    store.commitOnRemote(
      { [grantPath('prod-db', 'req-1')]: serializeGrant(revoked) },
      'Request revocation of req-1',
    );
    const result = await run();
    expect(result.failures).toEqual([]);
    expect(result.problems).toEqual([]);
    expect(provider.calls).toEqual([]);
    expect(provider.world.size).toBe(0);
    expect(result.events.map((e) => e.event)).toEqual(['approved', 'revoked']);
    expect(onRemote(grant)).toMatchObject({
      status: 'revoked',
      end_reason: 'revoked by @bob: wrong database',
    });
  });
});
