import type { Grant } from '../../src/core/grant.js';
import type { Memberships, Person } from '../../src/core/identity.js';
import type { Resource } from '../../src/core/policy.js';
import type { Review } from '../../src/core/review.js';

export const HEAD = 'a'.repeat(40);
export const OLD_COMMIT = 'b'.repeat(40);

export const alice: Person = { login: 'alice', id: 101 };
export const bob: Person = { login: 'bob', id: 102 };
export const carol: Person = { login: 'carol', id: 103 };
/** Asks for access in most tests. */
export const dave: Person = { login: 'dave', id: 104 };
/** Member of no list at all. */
export const mallory: Person = { login: 'mallory', id: 666 };

/** A resource as loadPolicies would return it; approvers are alice, bob and the `acme/dba` team. */
export function buildResource(overrides: Partial<Resource> = {}): Resource {
  return {
    name: 'prod-db',
    description: 'Production PostgreSQL, read-only',
    provider: 'postgres',
    target: { admin_url: 'env:PROD_PG_ADMIN_URL', roles: ['readonly'] },
    max_duration: 4 * 3600,
    default_duration: 3600,
    requesters: ['acme/engineers', 'dave'],
    approvers: ['alice', 'bob', 'acme/dba'],
    approvals_required: 1,
    request: { justification: { required: true, min_length: 10 }, ticket: { required: false } },
    auto_approve: [],
    request_ttl: 24 * 3600,
    max_total_duration: 8 * 3600,
    source: { file: 'policies/prod.yaml', line: 3 },
    ...overrides,
  };
}

/** `acme/dba` has carol; `acme/engineers` has dave and carol; `acme/oncall` has dave. */
export function buildMemberships(
  extra: Record<string, number[]> = {},
): Map<string, ReadonlySet<number>> {
  const teams: Record<string, number[]> = {
    'acme/dba': [carol.id],
    'acme/engineers': [dave.id, carol.id],
    'acme/oncall': [dave.id],
    ...extra,
  };
  return new Map(Object.entries(teams).map(([k, v]) => [k, new Set(v)]));
}
export const memberships: Memberships = buildMemberships();

/** A pending grant for `prod-db` asked by dave from issue 42. */
export function buildGrant(overrides: Partial<Grant> = {}): Grant {
  return {
    id: 'req-42',
    resource: 'prod-db',
    requester: dave,
    duration: 3600,
    justification: 'Investigating slow checkout queries (INC-7)',
    source: { issue: 42 },
    policy_commit: 'c'.repeat(40),
    status: 'pending',
    requested_at: '2030-01-01T10:00:00.000Z',
    ...overrides,
  };
}

let nextReviewId = 9000;
/** An approval by alice on the head commit, unless told otherwise. */
export function buildReview(
  overrides: Partial<Review> & { by?: Person | null; bot?: boolean } = {},
): Review {
  const { by = alice, bot = false, ...rest } = overrides;
  return {
    id: nextReviewId++,
    user: by === null ? null : { login: by.login, id: by.id, type: bot ? 'Bot' : 'User' },
    state: 'APPROVED',
    commit_id: HEAD,
    submitted_at: '2030-01-01T10:30:00Z',
    ...rest,
  };
}
