import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Grant } from '../../src/core/grant.js';
import { ProviderError } from '../../src/core/errors.js';
import {
  awsIdentityCenterProvider,
  checkIdentityCenterResource,
  createIdentityCenterProvider,
  validateIdentityCenterTarget,
} from '../../src/providers/aws-identity-center.js';
import type { Provider } from '../../src/providers/provider.js';
import { AwsWorld, ADMIN_KEY, type PermissionSet, type User } from '../aws-standin/world.js';
import {
  awsContext,
  awsGrant,
  awsResource,
  expectModelClean,
  identityCenterTarget,
  startAwsStandin,
  type AwsStandin,
} from '../helpers/aws.js';

let standin: AwsStandin;
let world: AwsWorld;
let provider: Provider;
let ps: PermissionSet;
let alice: User;
let bob: User;
const now = new Date('2026-12-01T04:00:00Z');

beforeAll(async () => {
  standin = await startAwsStandin();
});
afterAll(async () => standin.close());

beforeEach(() => {
  // A fresh AWS for every test, behind the same endpoint.
  world = standin.world;
  world.users.clear();
  world.permissionSets.clear();
  world.assignments.clear();
  world.operations.clear();
  world.asyncPolls = 2;
  world.stuck = false;
  standin.calls.length = 0;
  alice = world.addUser('alice@acme.example');
  bob = world.addUser('bob@acme.example');
  ps = world.addPermissionSet('ProdReadOnly', 'PT1H');
  provider = createIdentityCenterProvider({ clients: standin.clients, sleep: async () => {} });
});
afterEach(() => expectModelClean(standin));

const resource = (extra: Record<string, unknown> = {}) =>
  awsResource('aws-identity-center', identityCenterTarget(ps, extra));

/** What the action does: prepareIssue, commit the facts, issue, commit the state. */
async function issue(g: Grant, live: Grant[] = [], res = resource()): Promise<Grant> {
  const ctx = awsContext(res, { liveGrants: live });
  const pre = await provider.prepareIssue!(g, ctx);
  const marked = { ...g, issued: { ...pre, issue_started_at: now.toISOString() } };
  const issued = await provider.issue(marked, ctx);
  return { ...marked, status: 'active', issued: issued.facts };
}

const ops = (name: string) => standin.calls.filter((c) => c.operation === name);

describe('aws-identity-center target', () => {
  const good = () => identityCenterTarget(ps);

  it('accepts a complete target with a users map or an external-id lookup', () => {
    expect(validateIdentityCenterTarget(good())).toEqual([]);
    const { users: _u, ...rest } = good();
    expect(
      validateIdentityCenterTarget({ ...rest, user_lookup: { external_id_issuer: 'github.com' } }),
    ).toEqual([]);
  });

  it('refuses unknown keys, unquoted account ids, foreign permission sets and login-keyed maps', () => {
    const messages = (t: Record<string, unknown>) =>
      validateIdentityCenterTarget(t).map((p) => p.message);
    expect(messages({ ...good(), secret_key: 'x' })).toEqual([
      expect.stringContaining('unknown key "secret_key"'),
    ]);
    expect(messages({ ...good(), account_id: 111122223333 })).toEqual([
      expect.stringContaining('quoted string of 12 digits'),
    ]);
    expect(
      messages({
        ...good(),
        permission_set_arn:
          'arn:aws:sso:::permissionSet/ssoins-9999888877776666/ps-0123456789abcdef',
      }),
    ).toEqual([expect.stringContaining('must belong to the instance')]);
    expect(messages({ ...good(), users: { alice: 'alice@acme.example' } })).toEqual([
      expect.stringContaining('numeric GitHub user ids'),
    ]);
    expect(messages({ ...good(), user_lookup: { external_id_issuer: 'github.com' } })).toEqual([
      expect.stringContaining('exactly one of users'),
    ]);
    expect(messages({ ...good(), users: { '1001': 'a', '1002': 'a' } })).toEqual([
      expect.stringContaining('mapped twice'),
    ]);
  });
});

describe('aws-identity-center issue', () => {
  it('records the target, the user and the pre-state before acting, then assigns and waits for AWS', async () => {
    const g = awsGrant(now);
    const ctx = awsContext(resource());
    const pre = await provider.prepareIssue!(g, ctx);
    expect(pre).toEqual({
      region: 'eu-west-1',
      instance_arn: expect.any(String),
      identity_store_id: 'd-1234567890',
      account_id: '111122223333',
      permission_set_arn: ps.arn,
      principal_id: alice.UserId,
      user: 'alice@acme.example',
      assigned_before: false,
    });
    expect(ops('CreateAccountAssignment')).toHaveLength(0);
    expect(world.hasAssignment(ps, alice)).toBe(false);

    const issued = await provider.issue({ ...g, issued: pre }, ctx);
    expect(world.hasAssignment(ps, alice)).toBe(true);
    expect(ops('CreateAccountAssignment')).toHaveLength(1);
    // IN_PROGRESS twice, then SUCCEEDED: the provider polled until done.
    expect(ops('DescribeAccountAssignmentCreationStatus')).toHaveLength(2);
    expect(issued.facts).toMatchObject({ principal_id: alice.UserId, assigned_before: false });
    expect(issued.delivery).toBeUndefined();
  });

  it('refuses a requester the policy does not map, changing nothing', async () => {
    const g = awsGrant(now, { requester: { login: 'mallory', id: 6666 } });
    await expect(provider.prepareIssue!(g, awsContext(resource()))).rejects.toThrow(
      /has no Identity Center user in the target's "users" map; nothing was changed/,
    );
    expect(ops('CreateAccountAssignment')).toHaveLength(0);
  });

  it('never takes a display name for an identity: a mapped name missing from the store is refused', async () => {
    const g = awsGrant(now, { requester: { login: 'carol', id: 1003 } });
    const res = resource({ users: { '1003': 'carol@acme.example' } });
    world.addUser('Carol');
    await expect(provider.prepareIssue!(g, awsContext(res))).rejects.toThrow(
      /no Identity Center user for carol \(1003\)/,
    );
  });

  it('finds the user by the GitHub id held as an external id when the policy says so', async () => {
    const carol = world.addUser('carol@acme.example', [{ Issuer: 'github.com', Id: '1003' }]);
    const { users: _u, ...rest } = identityCenterTarget(ps);
    const res = awsResource('aws-identity-center', {
      ...rest,
      user_lookup: { external_id_issuer: 'github.com' },
    });
    const g = awsGrant(now, { requester: { login: 'carol', id: 1003 } });
    const done = await issue(g, [], res);
    expect(done.issued?.principal_id).toBe(carol.UserId);
    expect(world.hasAssignment(ps, carol)).toBe(true);
  });

  it("reports a failed assignment with AWS's reason", async () => {
    world.failNextCreation = 'permission set is not provisioned';
    await expect(issue(awsGrant(now))).rejects.toThrow(
      /creating the assignment failed \(request .*\): FAILED: permission set is not provisioned/,
    );
    expect(world.hasAssignment(ps, alice)).toBe(false);
  });

  it('stops waiting after the bounded wait and says the next run checks again', async () => {
    world.stuck = true;
    provider = createIdentityCenterProvider({
      clients: standin.clients,
      waitTimeoutMs: 50,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))),
    });
    await expect(issue(awsGrant(now))).rejects.toThrow(
      /still in progress after 0s; the next run checks again/,
    );
  });

  it('warns when the permission set keeps console sessions longer than max_duration', async () => {
    const long = world.addPermissionSet('ProdAdmin', 'PT12H');
    const res = awsResource('aws-identity-center', identityCenterTarget(long));
    const ctx = awsContext(res);
    const g = awsGrant(now);
    const pre = await provider.prepareIssue!(g, ctx);
    await provider.issue({ ...g, issued: pre }, ctx);
    expect(ctx.logs.join('\n')).toMatch(
      /warning: permission set session duration PT12H is longer than prod-aws's max_duration \(14400s\)/,
    );
    expect(await checkIdentityCenterResource(res, standin.clients)).toEqual([
      expect.stringContaining('keeps working after revoke'),
    ]);
    expect(await checkIdentityCenterResource(resource(), standin.clients)).toEqual([]);
  });
});

describe('aws-identity-center issue retried after a crash', () => {
  it('does not assign twice, and does not mistake its own assignment for a pre-existing one', async () => {
    const g = awsGrant(now);
    const ctx = awsContext(resource());
    const marked = { ...g, issued: await provider.prepareIssue!(g, ctx) };
    await provider.issue(marked, ctx); // the run dies before committing
    const again = await provider.issue(marked, ctx);
    expect(ops('CreateAccountAssignment')).toHaveLength(1);
    expect(again.facts.assigned_before).toBe(false);
    await provider.revoke({ ...marked, issued: again.facts, status: 'active' }, ctx);
    expect(world.hasAssignment(ps, alice)).toBe(false);
  });

  it('finds a creation that finished after the run died and creates nothing', async () => {
    const g = awsGrant(now);
    const ctx = awsContext(resource());
    const marked = { ...g, issued: await provider.prepareIssue!(g, ctx) };
    world.asyncPolls = 100;
    world.stuck = true;
    await expect(
      createIdentityCenterProvider({
        clients: standin.clients,
        waitTimeoutMs: 0,
      }).issue(marked, ctx),
    ).rejects.toThrow(/still in progress/);
    world.stuck = false;
    world.settle(); // AWS finishes with nobody watching
    await provider.issue(marked, ctx);
    expect(ops('CreateAccountAssignment')).toHaveLength(1);
    expect(world.hasAssignment(ps, alice)).toBe(true);
  });
});

describe('aws-identity-center revoke', () => {
  it('removes the assignment it made and waits for the deletion', async () => {
    const g = await issue(awsGrant(now));
    await provider.revoke(g, awsContext(resource(), { liveGrants: [g] }));
    expect(world.hasAssignment(ps, alice)).toBe(false);
    expect(ops('DescribeAccountAssignmentDeletionStatus')).toHaveLength(2);
  });

  it('succeeds when the assignment is already gone', async () => {
    const g = await issue(awsGrant(now));
    world.assignments.clear();
    const ctx = awsContext(resource());
    await provider.revoke(g, ctx);
    expect(ctx.logs.join('\n')).toMatch(/already gone/);
    expect(ops('DeleteAccountAssignment')).toHaveLength(0);
  });

  it('does nothing for a grant that recorded no assignment (refused before any effect)', async () => {
    const ctx = awsContext(resource());
    await provider.revoke(awsGrant(now), ctx);
    expect(standin.calls).toEqual([]);
  });

  it('never removes an assignment that existed before the grant', async () => {
    world.assign(ps, alice);
    const g = await issue(awsGrant(now));
    expect(g.issued?.assigned_before).toBe(true);
    expect(ops('CreateAccountAssignment')).toHaveLength(0);
    await provider.revoke(g, awsContext(resource()));
    expect(world.hasAssignment(ps, alice)).toBe(true);
  });

  it("acts on the target recorded at issue, not on today's policy", async () => {
    const g = await issue(awsGrant(now));
    const other = world.addPermissionSet('ProdAdmin', 'PT1H');
    world.assign(other, alice); // alice's own, unrelated assignment
    const changed = awsResource('aws-identity-center', identityCenterTarget(other));
    await provider.revoke(g, awsContext(changed));
    expect(world.hasAssignment(ps, alice)).toBe(false);
    expect(world.hasAssignment(other, alice)).toBe(true);
  });
});

describe('aws-identity-center overlapping grants of the same person', () => {
  it('keeps the assignment while another grant holds it and removes it with the last', async () => {
    const g1 = await issue(awsGrant(now, { id: 'req-1' }));
    const g2 = await issue(awsGrant(now, { id: 'req-2' }, 4), [g1]);
    expect(g2.issued).toMatchObject({ assigned_before: false, joined: 'req-1' });
    expect(ops('CreateAccountAssignment')).toHaveLength(1);

    const ctx1 = awsContext(resource(), { liveGrants: [g1, g2] });
    await provider.revoke(g1, ctx1);
    expect(world.hasAssignment(ps, alice)).toBe(true);
    expect(ctx1.logs.join('\n')).toMatch(/grant req-2 still holds/);

    await provider.revoke(g2, awsContext(resource(), { liveGrants: [g2] }));
    expect(world.hasAssignment(ps, alice)).toBe(false);
  });

  it('also when the later grant ends first', async () => {
    const g1 = await issue(awsGrant(now, { id: 'req-1' }, 4));
    const g2 = await issue(awsGrant(now, { id: 'req-2' }), [g1]);
    await provider.revoke(g2, awsContext(resource(), { liveGrants: [g1, g2] }));
    expect(world.hasAssignment(ps, alice)).toBe(true);
    await provider.revoke(g1, awsContext(resource(), { liveGrants: [g1] }));
    expect(world.hasAssignment(ps, alice)).toBe(false);
  });

  it('passes a pre-existing assignment down the chain of grants, so it is never removed', async () => {
    world.assign(ps, alice);
    const g1 = await issue(awsGrant(now, { id: 'req-1' }));
    const g2 = await issue(awsGrant(now, { id: 'req-2' }), [g1]);
    await provider.revoke(g1, awsContext(resource(), { liveGrants: [g1, g2] }));
    const g3 = await issue(awsGrant(now, { id: 'req-3' }), [g2]);
    expect(g3.issued).toMatchObject({ assigned_before: true, joined: 'req-2' });
    await provider.revoke(g2, awsContext(resource(), { liveGrants: [g2, g3] }));
    await provider.revoke(g3, awsContext(resource(), { liveGrants: [g3] }));
    expect(world.hasAssignment(ps, alice)).toBe(true);
  });

  it("is not kept alive by someone else's grant, an ended grant or one on another permission set", async () => {
    const other = world.addPermissionSet('ProdAdmin', 'PT1H');
    const g1 = await issue(awsGrant(now, { id: 'req-1' }));
    const bobs = await issue(
      awsGrant(now, { id: 'req-2', requester: { login: 'bob', id: 1002 } }),
      [g1],
    );
    const elsewhere = await issue(
      awsGrant(now, { id: 'req-3' }),
      [],
      awsResource('aws-identity-center', identityCenterTarget(other)),
    );
    const ended = { ...g1, id: 'req-4', status: 'expired' as const };
    await provider.revoke(g1, awsContext(resource(), { liveGrants: [g1, bobs, elsewhere, ended] }));
    expect(world.hasAssignment(ps, alice)).toBe(false);
    expect(world.hasAssignment(ps, bob)).toBe(true);
    expect(world.hasAssignment(other, alice)).toBe(true);
  });
});

describe('aws-identity-center list and drift', () => {
  it('attributes assignments to the live grants that hold them, following every page', async () => {
    const g1 = await issue(awsGrant(now, { id: 'req-1' }));
    const g2 = await issue(awsGrant(now, { id: 'req-2', requester: { login: 'bob', id: 1002 } }));
    const third = world.addUser('ops@acme.example');
    world.assign(ps, third);
    const access = await provider.list!(awsContext(resource(), { liveGrants: [g1, g2] }));
    expect(access.map((a) => [a.grantId, a.unexplained])).toEqual(
      expect.arrayContaining([
        ['req-1', undefined],
        ['req-2', undefined],
        [undefined, undefined], // a user gatepass does not map: not gatepass's to judge
      ]),
    );
    expect(access).toHaveLength(3);
    expect(ops('ListAccountAssignments').length).toBeGreaterThan(1); // pages of 2
  });

  it('reports an assignment of a mapped user that no live grant holds, and removes it on request', async () => {
    const g = await issue(awsGrant(now));
    // The grant ended, but the assignment is back (someone re-added it in the console).
    await provider.revoke(g, awsContext(resource()));
    world.assign(ps, alice);
    const ctx = awsContext(resource(), { liveGrants: [] });
    const access = await provider.list!(ctx);
    expect(access).toEqual([
      expect.objectContaining({
        unexplained: true,
        description: expect.stringContaining('alice@acme.example'),
      }),
    ]);
    await provider.removeDrift!(access[0]!, ctx);
    expect(world.hasAssignment(ps, alice)).toBe(false);
  });

  it('does not report users the policy lists as standing', async () => {
    world.assign(ps, bob);
    const access = await provider.list!(
      awsContext(resource({ standing_users: ['bob@acme.example'] })),
    );
    expect(access).toEqual([]);
  });
});

describe('aws-identity-center with the standard AWS SDK configuration', () => {
  it('reaches the endpoint and credentials named in the environment (the path to a real account)', async () => {
    const saved = { ...process.env };
    process.env.AWS_ENDPOINT_URL = standin.url;
    process.env.AWS_ACCESS_KEY_ID = ADMIN_KEY.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = ADMIN_KEY.secretAccessKey;
    delete process.env.AWS_PROFILE;
    try {
      const g = awsGrant(now);
      const ctx = awsContext(resource());
      const pre = await awsIdentityCenterProvider.prepareIssue!(g, ctx);
      await expect(
        awsIdentityCenterProvider.issue({ ...g, issued: pre }, ctx),
      ).resolves.toBeDefined();
      expect(world.hasAssignment(ps, alice)).toBe(true);
    } finally {
      for (const k of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
    }
  }, 60_000);
});

describe('errors', () => {
  it('are ProviderErrors naming the step', async () => {
    const res = awsResource(
      'aws-identity-center',
      identityCenterTarget(ps, { identity_store_id: 'd-0000000000' }),
    );
    const e = await provider.prepareIssue!(awsGrant(now), awsContext(res)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(String(e)).toMatch(/no Identity Center user|looking up/);
  });
});
