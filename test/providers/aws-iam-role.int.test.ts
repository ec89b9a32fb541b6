import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Grant } from '../../src/core/grant.js';
import {
  checkIamRoleResource,
  createIamRoleProvider,
  DENY_POLICY,
  sessionSeconds,
  validateIamRoleTarget,
} from '../../src/providers/aws-iam-role.js';
import type { Issued, Provider } from '../../src/providers/provider.js';
import { ACCOUNT, AwsWorld, type Role } from '../aws-standin/world.js';
import {
  awsContext,
  awsGrant,
  awsResource,
  expectModelClean,
  startAwsStandin,
  type AwsStandin,
} from '../helpers/aws.js';
import { generateKey, type KeyPair } from '../helpers/ssh-keys.js';

let standin: AwsStandin;
let world: AwsWorld;
let provider: Provider;
let role: Role;
let key: KeyPair;
let t: number;
const start = Date.parse('2026-12-01T04:00:00Z');
const clock = () => new Date(t);
const advance = (seconds: number) => {
  t += seconds * 1000;
};

beforeAll(async () => {
  standin = await startAwsStandin();
  key = generateKey('ed25519');
});
afterAll(async () => standin.close());

beforeEach(() => {
  world = standin.world;
  world.roles.clear();
  world.sessions.clear();
  standin.calls.length = 0;
  t = start;
  world.now = clock;
  role = world.addRole('prod-readonly', 4 * 3600);
  provider = createIamRoleProvider({ clients: standin.clients });
});
afterEach(() => expectModelClean(standin));

const target = (r: Role = role) => ({ role_arn: r.arn, region: 'eu-west-1' });
const resource = (r: Role = role) => awsResource('aws-iam-role', target(r));
const ctxFor = (o: { live?: Grant[]; keys?: string[]; r?: Role } = {}) =>
  awsContext(resource(o.r), {
    liveGrants: o.live ?? [],
    keys: o.keys ?? [key.publicKey],
    now: clock,
  });
const ops = (name: string) => standin.calls.filter((c) => c.operation === name);

/** The credential_process JSON exactly as the requester gets it: decrypted with `age`. */
function decrypt(delivery: Issued['delivery']): {
  Version: number;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
} {
  return JSON.parse(
    execFileSync('age', ['-d', '-i', key.privatePath], {
      input: `${armoredBlock(delivery!.body)}\n`,
      encoding: 'utf8',
    }),
  );
}

function armoredBlock(body: string): string {
  const armored = /-----BEGIN AGE ENCRYPTED FILE-----[\s\S]+?-----END AGE ENCRYPTED FILE-----/.exec(
    body,
  );
  if (!armored) throw new Error('no age block in the delivery');
  return armored[0];
}

async function issue(g: Grant, live: Grant[] = [], r: Role = role) {
  const ctx = ctxFor({ live, r });
  const pre = await provider.prepareIssue!(g, ctx);
  const marked = { ...g, issued: { ...pre, issue_started_at: clock().toISOString() } };
  const issued = await provider.issue(marked, ctx);
  return {
    grant: { ...marked, status: 'active' as const, issued: issued.facts },
    creds: decrypt(issued.delivery),
    issued,
    ctx,
  };
}

describe('aws-iam-role target', () => {
  it('accepts a role ARN and a region, and nothing else', () => {
    expect(validateIamRoleTarget(target())).toEqual([]);
    expect(validateIamRoleTarget({ ...target(), aws_secret_access_key: 'x' })).toEqual([
      expect.objectContaining({ message: expect.stringContaining('unknown key') }),
    ]);
    expect(
      validateIamRoleTarget({ role_arn: 'arn:aws:iam::1:user/x', region: 'moon' }),
    ).toHaveLength(2);
  });
});

describe('aws-iam-role session length', () => {
  it.each([
    [{ secondsLeft: 3599.7, roleMax: 14400, chained: false }, 3599],
    [{ secondsLeft: 300, roleMax: 14400, chained: false }, 900],
    [{ secondsLeft: 4 * 3600, roleMax: 3600, chained: false }, 3600],
    [{ secondsLeft: 4 * 3600, roleMax: 43200, chained: true }, 3600],
    [{ secondsLeft: 20 * 3600, roleMax: 43200, chained: false }, 43200],
  ])('%j → %i s', (input, expected) => {
    expect(sessionSeconds(input)).toBe(expected);
  });
});

describe('aws-iam-role issue', () => {
  it('assumes the role for the time left, naming the grant and the requester, and delivers working encrypted credentials', async () => {
    const { grant, creds, issued, ctx } = await issue(awsGrant(clock()));
    const call = ops('AssumeRole')[0]!.input;
    expect(call).toEqual({
      RoleArn: role.arn,
      RoleSessionName: 'gatepass-req-42',
      DurationSeconds: 3600,
      SourceIdentity: 'github-1001-alice',
    });
    expect(creds.Version).toBe(1);
    expect(new Date(creds.Expiration).getTime()).toBe(start + 3600_000);
    expect(world.sessionState(creds.AccessKeyId)).toBe('valid');
    expect(grant.issued).toMatchObject({
      role_arn: role.arn,
      session_name: 'gatepass-req-42',
      source_identity: 'github-1001-alice',
      access_key_id: creds.AccessKeyId,
      duration_seconds: 3600,
      session_expires_at: new Date(start + 3600_000).toISOString(),
    });
    // The secret parts are masked and appear nowhere but in the ciphertext.
    expect(ctx.masked).toEqual(expect.arrayContaining([creds.SecretAccessKey, creds.SessionToken]));
    const visible = JSON.stringify(grant.issued) + ctx.logs.join('\n') + issued.delivery!.body;
    expect(visible).not.toContain(creds.SecretAccessKey);
    expect(visible).not.toContain(creds.SessionToken);
    expect(issued.delivery!.body).toContain(
      'credential_process = sh -c "age -d -i ~/.ssh/id_ed25519',
    );
  });

  it("gives a 15-minute session (AWS's minimum) to a grant with 5 minutes left", async () => {
    const g = awsGrant(clock(), { expires_at: new Date(start + 300_000).toISOString() });
    const { creds, ctx } = await issue(g);
    expect(ops('AssumeRole')[0]!.input.DurationSeconds).toBe(900);
    expect(new Date(creds.Expiration).getTime()).toBe(start + 900_000);
    expect(ctx.logs.join('\n')).toMatch(/at least 15 minutes, so revoke ends it at the grant/);
  });

  it("stays within the role's maximum session duration", async () => {
    const short = world.addRole('short', 3600);
    await issue(awsGrant(clock(), {}, 4), [], short);
    expect(ops('AssumeRole')[0]!.input.DurationSeconds).toBe(3600);
  });

  it('stays within the one-hour role-chaining limit when gatepass itself runs as a role session', async () => {
    const long = world.addRole('long', 43200);
    const automation = world.addRole('gatepass-automation', 3600);
    const own = await new STSClient({
      region: 'eu-west-1',
      endpoint: standin.url,
      credentials: standin.clients.credentials,
    }).send(new GetCallerIdentityCommand({}));
    expect(own.Arn).toContain(':user/');
    // gatepass's credentials are a session of the automation role (as with GitHub OIDC).
    const s = world.assumeRole(
      { RoleArn: automation.arn, RoleSessionName: 'gha-run' },
      'AKIAGATEPASSTESTKEY1',
    );
    const creds = s.Credentials as {
      AccessKeyId: string;
      SecretAccessKey: string;
      SessionToken: string;
    };
    provider = createIamRoleProvider({
      clients: {
        endpoint: standin.url,
        credentials: {
          accessKeyId: creds.AccessKeyId,
          secretAccessKey: creds.SecretAccessKey,
          sessionToken: creds.SessionToken,
        },
      },
    });
    await issue(awsGrant(clock(), {}, 8), [], long);
    expect(ops('AssumeRole')[0]!.input.DurationSeconds).toBe(3600);
  });

  it('creates nothing when the requester has no SSH key to encrypt to', async () => {
    const g = awsGrant(clock());
    const ctx = ctxFor({ keys: [] });
    await expect(
      provider.issue({ ...g, issued: await provider.prepareIssue!(g, ctx) }, ctx),
    ).rejects.toThrow(/no SSH key on GitHub .* nothing was done/);
    expect(ops('AssumeRole')).toHaveLength(0);
  });

  it('works with the AWS SDK exactly as the delivery tells the requester to set it up (credential_process)', async () => {
    // The SDK refuses credentials whose Expiration is past by the real clock.
    t = Math.floor(Date.now() / 1000) * 1000;
    const { issued } = await issue(awsGrant(clock()));
    const home = mkdtempSync(join(tmpdir(), 'gatepass-home-'));
    mkdirSync(join(home, '.ssh'));
    mkdirSync(join(home, '.aws'));
    copyFileSync(key.privatePath, join(home, '.ssh', 'id_ed25519'));
    const body = issued.delivery!.body;
    writeFileSync(join(home, '.aws', 'config'), /```ini\n([\s\S]+?)```/.exec(body)![1]!);
    writeFileSync(join(home, '.aws', 'gatepass-prod-aws.age'), `${armoredBlock(body)}\n`);
    // A fresh process with the requester's home and nothing but the standard configuration.
    const script =
      "const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');" +
      'new STSClient({}).send(new GetCallerIdentityCommand({})).then(' +
      '(r) => console.log(r.Arn), (e) => { console.error(e.message); process.exit(1); });';
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        HOME: home,
        AWS_PROFILE: 'gatepass-prod-aws',
        AWS_ENDPOINT_URL: standin.url,
      },
    });
    expect(stdout.trim()).toBe(
      `arn:aws:sts::${ACCOUNT}:assumed-role/prod-readonly/gatepass-req-42`,
    );
  }, 60_000);
});

describe('aws-iam-role issue retried after a crash', () => {
  it('issues a new session of the same name, and revoke ends both', async () => {
    const g = awsGrant(clock());
    const ctx = ctxFor();
    const marked = { ...g, issued: await provider.prepareIssue!(g, ctx) };
    const lost = decrypt((await provider.issue(marked, ctx)).delivery); // the run dies here
    advance(60);
    const again = await provider.issue(marked, ctx);
    const kept = decrypt(again.delivery);
    expect(ops('AssumeRole').map((c) => c.input.RoleSessionName)).toEqual([
      'gatepass-req-42',
      'gatepass-req-42',
    ]);
    advance(60);
    await provider.revoke({ ...marked, status: 'active', issued: again.facts }, ctx);
    expect(world.sessionState(lost.AccessKeyId)).toBe('denied');
    expect(world.sessionState(kept.AccessKeyId)).toBe('denied');
  });
});

describe('aws-iam-role extend', () => {
  it('gives a new session up to the new end; the first keeps its own, earlier expiry', async () => {
    const first = await issue(awsGrant(clock()));
    advance(1800);
    const later = new Date(start + 3 * 3600_000).toISOString();
    const ext = await provider.extend!({ ...first.grant, expires_at: later }, ctxFor());
    const creds = decrypt((ext as Issued).delivery);
    expect(ops('AssumeRole')[1]!.input.DurationSeconds).toBe(2.5 * 3600);
    expect((ext as Issued).facts.session_expires_at).toBe(later);
    expect(world.sessionState(creds.AccessKeyId)).toBe('valid');
    expect(world.sessionState(first.creds.AccessKeyId)).toBe('valid');
  });
});

describe('aws-iam-role revoke', () => {
  it("ends the grant's sessions early with a deny on aws:TokenIssueTime, recorded in the facts", async () => {
    const { grant, creds } = await issue(awsGrant(clock()));
    advance(600);
    const facts = await provider.revoke(grant, ctxFor({ live: [grant] }));
    expect(world.sessionState(creds.AccessKeyId)).toBe('denied');
    expect(facts).toEqual({
      revoked_sessions_before: new Date(start + 900_000).toISOString(),
      deny_policy: DENY_POLICY,
      deny_until: expect.any(String),
    });
    const doc = JSON.parse(role.inline.get(DENY_POLICY)!);
    expect(doc.Statement).toEqual([
      {
        Sid: expect.stringMatching(/^GatepassreqZ42Until\d{14}$/),
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringLike: { 'aws:userid': '*:gatepass-req-42' },
          DateLessThan: { 'aws:TokenIssueTime': '2026-12-01T04:15:00Z' },
        },
      },
    ]);
    // Idempotent: a second revoke (a crash before the commit) leaves one statement.
    await provider.revoke(grant, ctxFor({ live: [grant] }));
    expect(JSON.parse(role.inline.get(DENY_POLICY)!).Statement).toHaveLength(1);
  });

  it("ends only this grant: the same person's other grant and other users of the role go on", async () => {
    const g1 = await issue(awsGrant(clock(), { id: 'req-1' }));
    const g2 = await issue(awsGrant(clock(), { id: 'req-2' }, 4), [g1.grant]);
    const others = world.assumeRole(
      { RoleArn: role.arn, RoleSessionName: 'ops-oncall' },
      'AKIAGATEPASSTESTKEY1',
    ).Credentials as { AccessKeyId: string };
    advance(60);
    await provider.revoke(g1.grant, ctxFor({ live: [g1.grant, g2.grant] }));
    expect(world.sessionState(g1.creds.AccessKeyId)).toBe('denied');
    expect(world.sessionState(g2.creds.AccessKeyId)).toBe('valid');
    expect(world.sessionState(others.AccessKeyId)).toBe('valid');
    await provider.revoke(g2.grant, ctxFor({ live: [g2.grant] }));
    expect(world.sessionState(g2.creds.AccessKeyId)).toBe('denied');
    expect(world.sessionState(others.AccessKeyId)).toBe('valid');
  });

  it('writes nothing when the grant ends after its session already expired', async () => {
    const { grant, creds } = await issue(awsGrant(clock()));
    advance(3600);
    await provider.revoke(grant, ctxFor());
    expect(world.sessionState(creds.AccessKeyId)).toBe('expired');
    expect(ops('PutRolePolicy')).toHaveLength(0);
  });

  it('ends a minimum-length session that outlives its short grant', async () => {
    const g = awsGrant(clock(), { expires_at: new Date(start + 300_000).toISOString() });
    const { grant, creds } = await issue(g);
    advance(300); // the grant's end; the session has 10 minutes left
    await provider.revoke(grant, ctxFor());
    expect(world.sessionState(creds.AccessKeyId)).toBe('denied');
  });

  it('prunes statements whose sessions have all expired', async () => {
    const g1 = await issue(awsGrant(clock(), { id: 'req-1' }));
    advance(60);
    await provider.revoke(g1.grant, ctxFor());
    advance(2 * 3600);
    const g2 = await issue(awsGrant(clock(), { id: 'req-2' }));
    advance(60);
    await provider.revoke(g2.grant, ctxFor());
    const sids = JSON.parse(role.inline.get(DENY_POLICY)!).Statement.map(
      (s: { Sid: string }) => s.Sid,
    );
    expect(sids).toEqual([expect.stringMatching(/^GatepassreqZ2Until/)]);
  });

  it("acts on the role recorded at issue, not on today's policy", async () => {
    const { grant, creds } = await issue(awsGrant(clock()));
    const other = world.addRole('prod-admin', 3600);
    advance(60);
    await provider.revoke(grant, ctxFor({ r: other }));
    expect(world.sessionState(creds.AccessKeyId)).toBe('denied');
    expect(other.inline.size).toBe(0);
  });

  it('does nothing for a grant that recorded no role', async () => {
    await provider.revoke(awsGrant(clock()), ctxFor());
    expect(standin.calls).toEqual([]);
  });
});

describe('aws-iam-role checks', () => {
  it("warns when the role's sessions cannot last as long as max_duration", async () => {
    const short = world.addRole('short', 3600);
    expect(await checkIamRoleResource(resource(short), standin.clients)).toEqual([
      expect.stringContaining('allows sessions of 3600s, shorter than prod-aws'),
    ]);
    expect(await checkIamRoleResource(resource(), standin.clients)).toEqual([]);
  });
});
