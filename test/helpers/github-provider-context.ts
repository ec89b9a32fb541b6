import type { Grant } from '../../src/core/grant.js';
import type { Resource } from '../../src/core/policy.js';
import { buildContext } from './provider-context.js';
import type { GitHubClient } from '../../src/github/github-client.js';
import type { ProviderContext, StepReads } from '../../src/providers/provider.js';

export function buildResource(
  o: Partial<Resource> & Pick<Resource, 'provider' | 'target'>,
): Resource {
  return {
    name: 'res',
    description: 'a resource',
    max_duration: 3600,
    default_duration: 1800,
    requesters: ['acme/eng'],
    approvers: ['acme/sre'],
    approvals_required: 1,
    request: { justification: { required: true, min_length: 10 }, ticket: { required: false } },
    auto_approve: [],
    request_ttl: 86400,
    max_total_duration: 7200,
    source: { file: 'policies/test.yaml', line: 1 },
    ...o,
  };
}

export function buildGrant(o: Partial<Grant> = {}): Grant {
  return {
    id: 'g1',
    resource: 'res',
    requester: { login: 'alice', id: 1 },
    duration: 1800,
    justification: 'debugging the outage',
    source: { issue: 1 },
    policy_commit: 'c'.repeat(40),
    status: 'active',
    requested_at: '2025-01-01T00:00:00Z',
    ...o,
  };
}

/** A provider context with a GitHub client, recording its log lines. */
export function buildProviderContext(
  resource: Resource,
  o: { github?: GitHubClient; liveGrants?: Grant[]; stepReads?: StepReads } = {},
): ProviderContext & { logs: string[] } {
  return buildContext({ resource, ...o });
}
