import { expect } from '@jest/globals';
import type { Grant } from '../../src/core/grant.js';
import type { Resource } from '../../src/core/policy.js';
import { startAwsStandin, type AwsStandin } from '../aws-standin/server.js';
import { ACCOUNT, IDENTITY_STORE, INSTANCE_ARN, type PermissionSet } from '../aws-standin/world.js';
import { buildContext, buildGrant, buildResource } from './provider-context.js';
import type { ProviderContext } from '../../src/providers/provider.js';

export { startAwsStandin, type AwsStandin };

/** Each test ends with no request the model refused and no answer the stand-in got wrong. */
export function expectModelClean(s: AwsStandin): void {
  expect(s.problems).toEqual([]);
  expect(s.violations).toEqual([]);
}

export function identityCenterTarget(
  ps: PermissionSet,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    region: 'eu-west-1',
    instance_arn: INSTANCE_ARN,
    identity_store_id: IDENTITY_STORE,
    account_id: ACCOUNT,
    permission_set_arn: ps.arn,
    users: { '1001': 'alice@acme.example', '1002': 'bob@acme.example' },
    ...extra,
  };
}

export function awsResource(
  provider: 'aws-identity-center' | 'aws-iam-role',
  target: Record<string, unknown>,
  name = 'prod-aws',
): Resource {
  return buildResource(provider, target, name);
}

/** An active grant of `resource` for alice (GitHub id 1001) with a window from `now`. */
export function awsGrant(now: Date, o: Partial<Grant> = {}, hours = 1): Grant {
  return buildGrant({
    resource: 'prod-aws',
    issued_at: now.toISOString(),
    expires_at: new Date(now.getTime() + hours * 3600_000).toISOString(),
    ...o,
  });
}

export function awsContext(
  resource: Resource,
  o: { liveGrants?: Grant[]; keys?: string[]; now?: () => Date } = {},
): ProviderContext & { logs: string[]; masked: string[] } {
  const ctx = buildContext({
    resource,
    ...(o.liveGrants ? { liveGrants: o.liveGrants } : {}),
    ...(o.keys ? { keys: o.keys } : {}),
  });
  if (o.now) ctx.clock = { now: o.now };
  return ctx;
}
