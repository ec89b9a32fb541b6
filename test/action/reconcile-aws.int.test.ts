import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { createIdentityCenterProvider } from '../../src/providers/aws-identity-center.js';
import { createIamRoleProvider, DENY_POLICY } from '../../src/providers/aws-iam-role.js';
import type { Provider } from '../../src/providers/provider.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  API,
  clockAt,
  eventsOnMain,
  grantOnMain,
  landGrant,
  mockComments,
  mockMergedPr,
  pendingGrant,
  runOnce,
  setupRepo,
  type TestRepo,
} from '../helpers/reconcile.js';
import { expectModelClean, startAwsStandin, type AwsStandin } from '../helpers/aws.js';
import { ACCOUNT, IDENTITY_STORE, INSTANCE_ARN } from '../aws-standin/world.js';
import { generateKey, type KeyPair } from '../helpers/ssh-keys.js';

/*
 * The AWS providers driven by the real reconcile engine (real git, GitHub mocked and checked
 * against its OpenAPI description, AWS served by the model-checked stand-in): what lands in
 * git is what AWS holds.
 */

enableContractChecks();
let standin: AwsStandin;
let repo: TestRepo;
let key: KeyPair;

beforeAll(async () => {
  standin = await startAwsStandin();
  key = generateKey('ed25519');
});
afterAll(async () => standin.close());
beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  nock.enableNetConnect();
  repo.cleanup();
  expect(pending).toEqual([]);
  expectModelClean(standin);
});

describe('aws-identity-center through reconcile', () => {
  it('survives a crash after the assignment, removes it at expiry, and reports one re-added by hand', async () => {
    const world = standin.world;
    const alice = world.addUser('alice@acme.example');
    const ps = world.addPermissionSet('ProdReadOnly', 'PT1H');
    repo = await setupRepo(`resources:
  prod-aws:
    description: Read-only access to production AWS
    provider: aws-identity-center
    target:
      region: eu-west-1
      instance_arn: ${INSTANCE_ARN}
      identity_store_id: ${IDENTITY_STORE}
      account_id: '${ACCOUNT}'
      permission_set_arn: ${ps.arn}
      users: { '1001': alice@acme.example }
    max_duration: 4h
    default_duration: 1h
    requesters: [alice]
    approvers: [bob]
    approvals_required: 1
`);
    const p = createIdentityCenterProvider({ clients: standin.clients, sleep: async () => {} });
    const provider = (): Provider => p;
    const grant = pendingGrant(repo, 1, { resource: 'prod-aws' });
    mockMergedPr(grant, 1001, await landGrant(repo, grant, 1001));

    await expect(
      runOnce(repo, {
        clock: clockAt('2030-01-01T10:06:00Z'),
        provider,
        hook: (point) => {
          if (point === 'after-effect') throw new Error('killed');
        },
      }),
    ).rejects.toThrow(/run aborted at after-effect/);
    expect(world.hasAssignment(ps, alice)).toBe(true);
    expect((await grantOnMain(repo, 'req-1'))!.grant.issued).toMatchObject({
      principal_id: alice.UserId,
      assigned_before: false,
    });

    const second = await runOnce(repo, { clock: clockAt('2030-01-01T10:07:00Z'), provider });
    expect(second.result.failures).toEqual([]);
    const active = (await grantOnMain(repo, 'req-1'))!.grant;
    expect(active.status).toBe('active');
    expect(active.issued).toMatchObject({ assigned_before: false, permission_set_arn: ps.arn });
    expect(second.result.drift).toEqual([]);

    const third = await runOnce(repo, { clock: clockAt('2030-01-01T11:06:00Z'), provider });
    expect(third.result.failures).toEqual([]);
    expect(world.hasAssignment(ps, alice)).toBe(false);
    expect(await eventsOnMain(repo, 'req-1')).toEqual([
      'requested',
      'approved',
      'issuing',
      'issued',
      'expired',
    ]);

    world.assign(ps, alice); // someone puts it back in the console
    const fourth = await runOnce(repo, { clock: clockAt('2030-01-01T11:10:00Z'), provider });
    expect(fourth.result.drift).toEqual([
      expect.objectContaining({
        resource: 'prod-aws',
        access: expect.objectContaining({ unexplained: true }),
        removed: false,
      }),
    ]);
    expect(world.hasAssignment(ps, alice)).toBe(true);
  });
});

describe('aws-iam-role through reconcile', () => {
  it('delivers encrypted credentials on the request and records the deny that ends an outliving session', async () => {
    const world = standin.world;
    const role = world.addRole('prod-deploy', 3600);
    let now = Date.parse('2030-01-01T10:06:00Z');
    world.now = () => new Date(now);
    repo = await setupRepo(`resources:
  prod-deploy:
    description: Production deploy role
    provider: aws-iam-role
    target: { role_arn: '${role.arn}', region: eu-west-1 }
    max_duration: 1h
    default_duration: 5m
    requesters: [alice]
    approvers: [bob]
    approvals_required: 1
`);
    const p = createIamRoleProvider({ clients: standin.clients });
    const provider = (): Provider => p;
    // A 5-minute grant: STS's minimum session is 15 minutes.
    const grant = pendingGrant(repo, 1, { resource: 'prod-deploy', duration: 300 });
    mockMergedPr(grant, 1001, await landGrant(repo, grant, 1001));
    nock(API)
      .persist()
      .get('/users/alice/keys')
      .query(true)
      .reply(200, [{ id: 1, key: key.publicKey }]);
    const posted = mockComments();

    const first = await runOnce(repo, { clock: clockAt(new Date(now).toISOString()), provider });
    expect(first.result.failures).toEqual([]);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain('BEGIN AGE ENCRYPTED FILE');
    const active = (await grantOnMain(repo, 'req-1'))!.grant;
    expect(active.issued).toMatchObject({ duration_seconds: 900, session_name: 'gatepass-req-1' });
    const accessKey = String(active.issued!.access_key_id);
    expect(world.sessionState(accessKey)).toBe('valid');

    now += 300_000; // the grant's end; the session has 10 minutes left
    const second = await runOnce(repo, { clock: clockAt(new Date(now).toISOString()), provider });
    expect(second.result.failures).toEqual([]);
    expect(world.sessionState(accessKey)).toBe('denied');
    const ended = (await grantOnMain(repo, 'req-1'))!.grant;
    expect(ended.status).toBe('expired');
    // What revoke did is in git with the grant.
    expect(ended.issued).toMatchObject({
      deny_policy: DENY_POLICY,
      revoked_sessions_before: expect.any(String),
    });
    expect(role.inline.has(DENY_POLICY)).toBe(true);
  });
});
