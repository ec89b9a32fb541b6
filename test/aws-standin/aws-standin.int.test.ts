import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SSOAdminClient, CreateAccountAssignmentCommand } from '@aws-sdk/client-sso-admin';
import { IAMClient, GetRoleCommand } from '@aws-sdk/client-iam';
import { checkJsonInput, checkOutput, decodeQueryInput } from './models.js';
import { startAwsStandin, type AwsStandin } from './server.js';
import { INSTANCE_ARN } from './world.js';

/*
 * The stand-in is only as good as its checks: these show that it refuses what AWS's models
 * refuse, on the wire and in its own answers.
 */

let standin: AwsStandin;
beforeAll(async () => {
  standin = await startAwsStandin();
});
afterAll(async () => standin.close());

const sso = () =>
  new SSOAdminClient({
    region: 'eu-west-1',
    endpoint: standin.url,
    credentials: standin.clients.credentials,
    maxAttempts: 1,
  });

describe('the AWS stand-in checks requests against the service models', () => {
  it('refuses a JSON 1.1 request missing a required member, as AWS does, and records it', async () => {
    const ps = standin.world.addPermissionSet('X');
    standin.problems.length = 0;
    await expect(
      sso().send(
        // PrincipalId is required by the model; the SDK does not check, the stand-in must.
        new CreateAccountAssignmentCommand({
          InstanceArn: INSTANCE_ARN,
          TargetId: '111122223333',
          TargetType: 'AWS_ACCOUNT',
          PermissionSetArn: ps.arn,
          PrincipalType: 'USER',
        } as never),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(standin.problems).toEqual([
      'sso-admin CreateAccountAssignment: CreateAccountAssignment.PrincipalId: required',
    ]);
    expect(standin.world.assignments.size).toBe(0);
  });

  it('refuses a value outside an enum', async () => {
    standin.problems.length = 0;
    const ps = standin.world.addPermissionSet('Y');
    await expect(
      sso().send(
        new CreateAccountAssignmentCommand({
          InstanceArn: INSTANCE_ARN,
          TargetId: '111122223333',
          TargetType: 'AWS_ACCOUNT',
          PermissionSetArn: ps.arn,
          PrincipalType: 'ROBOT' as never,
          PrincipalId: 'x',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(standin.problems).toEqual([
      expect.stringContaining('"ROBOT" is not one of GROUP, USER'),
    ]);
  });

  it('refuses a query-protocol parameter the operation does not have, and an unsigned request', async () => {
    standin.problems.length = 0;
    const r = await fetch(standin.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetRole&Version=2010-05-08&RoleName=x&RoleNmae=y',
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('<Code>ValidationError</Code>');
    expect(standin.problems).toEqual([
      'iam GetRole: RoleNmae: not a member of GetRole',
      'iam GetRole: the request is not signed with SigV4',
    ]);
  });

  it('answers AWS errors in the protocol the SDK expects (NoSuchEntity from IAM)', async () => {
    standin.problems.length = 0;
    const iam = new IAMClient({
      region: 'eu-west-1',
      endpoint: standin.url,
      credentials: standin.clients.credentials,
    });
    await expect(iam.send(new GetRoleCommand({ RoleName: 'missing' }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
    expect(standin.problems).toEqual([]);
  });
});

describe('the model checks themselves', () => {
  it('find unknown members, wrong types, missing required members and broken unions', () => {
    expect(checkJsonInput('identitystore', 'GetUserId', { IdentityStoreId: 'd-1' })).toEqual([
      'GetUserId.AlternateIdentifier: required',
    ]);
    expect(
      checkJsonInput('identitystore', 'GetUserId', {
        IdentityStoreId: 'd-1',
        AlternateIdentifier: {
          ExternalId: { Issuer: 'a', Id: '1' },
          UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'x' },
        },
      }),
    ).toEqual(['GetUserId.AlternateIdentifier: a union must set exactly one member, got 2']);
    expect(
      checkJsonInput('sso-admin', 'ListAccountAssignments', {
        InstanceArn: 'i',
        AccountId: '1',
        PermissionSetArn: 'p',
        MaxResults: '10',
        Extra: 1,
      }),
    ).toEqual([
      'ListAccountAssignments.Extra: not a member of this shape',
      'ListAccountAssignments.MaxResults: expected an integer',
    ]);
    expect(
      decodeQueryInput(
        'sts',
        'AssumeRole',
        new URLSearchParams('RoleArn=a&RoleSessionName=b&DurationSeconds=soon'),
      ).problems,
    ).toEqual([
      'DurationSeconds: expected an integer, got soon',
      'AssumeRole.DurationSeconds: expected an integer',
    ]);
  });

  it('catch a stand-in answer that AWS would never give', () => {
    expect(
      checkOutput('sts', 'AssumeRole', {
        Credentials: { AccessKeyId: 'a', SecretAccessKey: 'b', Expiration: new Date() },
      }),
    ).toEqual(['AssumeRoleOutput.Credentials.SessionToken: required']);
    expect(
      checkOutput('sso-admin', 'DescribeAccountAssignmentCreationStatus', {
        AccountAssignmentCreationStatus: { Status: 'DONE' },
      }),
    ).toEqual([expect.stringContaining('"DONE" is not one of FAILED, IN_PROGRESS, SUCCEEDED')]);
  });
});
