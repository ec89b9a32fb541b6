import { fixedClock } from '../../src/core/clock.js';
import type { Grant } from '../../src/core/grant.js';
import type { Person } from '../../src/core/identity.js';
import type { ProviderKind, Resource } from '../../src/core/policy.js';
import type { ProviderContext, StepReads } from '../../src/providers/provider.js';
import type { GitHubClient } from '../../src/github/github-client.js';

/** A resource as the policy loader would produce it, with the given provider target. */
export function buildResource(
  provider: ProviderKind,
  target: Record<string, unknown>,
  name = 'prod-db',
): Resource {
  return {
    name,
    description: `test resource ${name}`,
    provider,
    target,
    max_duration: 4 * 3600,
    default_duration: 3600,
    requesters: ['alice'],
    approvers: ['bob'],
    approvals_required: 1,
    request: { justification: { required: true, min_length: 10 }, ticket: { required: false } },
    auto_approve: [],
    request_ttl: 86400,
    max_total_duration: 8 * 3600,
    source: { file: 'policies/test.yaml', line: 1 },
  };
}

/** An active grant with its window filled in, as the reconcile engine passes it. */
export function buildGrant(overrides: Partial<Grant> = {}): Grant {
  const issued = new Date();
  const expires = new Date(issued.getTime() + 3600 * 1000);
  return {
    id: 'req-42',
    resource: 'prod-db',
    requester: { login: 'alice', id: 1001 },
    duration: 3600,
    justification: 'debugging the billing incident',
    source: { issue: 42 },
    policy_commit: '0'.repeat(40),
    status: 'approved',
    requested_at: issued.toISOString(),
    issued_at: issued.toISOString(),
    expires_at: expires.toISOString(),
    ...overrides,
  };
}

export interface RecordingContext extends ProviderContext {
  masked: string[];
  logs: string[];
  keyRequests: Person[];
}

/** A ProviderContext that records what the provider masked, logged and asked for. */
export function buildContext(opts: {
  resource: Resource;
  env?: Record<string, string | undefined>;
  keys?: string[] | ((p: Person) => string[]);
  workdir?: string;
  github?: GitHubClient;
  liveGrants?: Grant[];
  stepReads?: StepReads;
}): RecordingContext {
  const masked: string[] = [];
  const logs: string[] = [];
  const keyRequests: Person[] = [];
  return {
    resource: opts.resource,
    env: opts.env ?? {},
    clock: fixedClock(new Date()),
    mask: (s) => masked.push(s),
    liveGrants: opts.liveGrants ?? [],
    log: (m) => logs.push(m),
    publicKeys: async (p) => {
      keyRequests.push(p);
      const k = opts.keys ?? [];
      return typeof k === 'function' ? k(p) : k;
    },
    workdir: opts.workdir ?? '/nonexistent',
    ...(opts.github ? { github: opts.github } : {}),
    ...(opts.stepReads ? { stepReads: opts.stepReads } : {}),
    masked,
    logs,
    keyRequests,
  };
}
