import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, REPO_ROOT } from '../helpers/cli.js';
import { expectModelClean, startAwsStandin, type AwsStandin } from '../helpers/aws.js';
import { ACCOUNT, ADMIN_KEY, IDENTITY_STORE, INSTANCE_ARN } from '../aws-standin/world.js';

let standin: AwsStandin;
let dir: string;
const saved = { ...process.env };

beforeAll(async () => {
  standin = await startAwsStandin();
  // The standard AWS SDK configuration, as a runner with real credentials would have it.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: standin.url,
    AWS_ACCESS_KEY_ID: ADMIN_KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ADMIN_KEY.secretAccessKey,
  });
  const long = standin.world.addPermissionSet('ProdAdmin', 'PT12H');
  standin.world.addRole('prod-deploy', 3600);
  dir = await mkdtemp(join(tmpdir(), 'gatepass-online-'));
  await mkdir(join(dir, 'policies'));
  await mkdir(join(dir, 'grants'));
  const common = `    requesters: [alice]
    approvers: [bob]
    approvals_required: 1
`;
  await writeFile(
    join(dir, 'policies', 'aws.yaml'),
    `resources:
  prod-admin:
    description: Admin on production
    provider: aws-identity-center
    target:
      region: eu-west-1
      instance_arn: ${INSTANCE_ARN}
      identity_store_id: ${IDENTITY_STORE}
      account_id: '${ACCOUNT}'
      permission_set_arn: ${long.arn}
      users: { '1001': alice@acme.example }
    max_duration: 4h
    default_duration: 1h
${common}
  prod-deploy:
    description: Deploy role
    provider: aws-iam-role
    target: { role_arn: 'arn:aws:iam::${ACCOUNT}:role/prod-deploy', region: eu-west-1 }
    max_duration: 2h
    default_duration: 1h
${common}`,
  );
  expect((await runCli(['template', dir], REPO_ROOT)).code).toBe(0);
});
afterAll(async () => {
  process.env = saved;
  await rm(dir, { recursive: true, force: true });
  expectModelClean(standin);
  await standin.close();
});

it('validate stays offline unless asked', async () => {
  expect(await runCli(['validate', dir], REPO_ROOT)).toEqual({ code: 0, out: '', err: '' });
  expect(standin.calls).toEqual([]);
});

it('validate --check-targets warns where AWS settings let access outlive max_duration, and still exits 0', async () => {
  const r = await runCli(['validate', dir, '--check-targets'], REPO_ROOT);
  expect(r.code).toBe(0);
  expect(r.err.trim().split('\n')).toEqual([
    expect.stringMatching(
      /^warning: policies\/aws\.yaml:2: resource prod-admin: permission set session duration PT12H is longer than prod-admin's max_duration/,
    ),
    expect.stringMatching(
      /^warning: policies\/aws\.yaml:\d+: resource prod-deploy: role prod-deploy allows sessions of 3600s, shorter than prod-deploy's max_duration \(7200s\)/,
    ),
  ]);
});
