import { describe, expect, it } from '@jest/globals';
import type { Grant } from '../../src/core/grant.js';
import { grantPath } from '../../src/core/grant-file.js';
import {
  ineligibleRequesters,
  requesterTeams,
  type RequesterFacts,
} from '../../src/core/offboarding.js';
import type { PolicySet } from '../../src/core/policy.js';
import { planReconcile } from '../../src/core/reconcile-plan.js';
import { buildGrant, buildMemberships, buildResource, carol, dave } from '../helpers/build.js';

// prod-db: requesters acme/engineers (dave, carol) and dave by login; ops: acme/oncall only.
const policies: PolicySet = {
  resources: new Map([
    ['prod-db', buildResource()],
    ['ops', buildResource({ name: 'ops', requesters: ['acme/oncall'] })],
  ]),
};
const approval = {
  approved_at: '2030-01-01T10:05:00.000Z',
  rule: 'reviews',
  approvers: [{ login: 'alice', id: 101, review_id: 1 }],
};
const active = (o: Partial<Grant> = {}): Grant =>
  buildGrant({
    status: 'active',
    approval,
    issued_at: '2030-01-01T10:06:00.000Z',
    expires_at: '2030-01-01T11:06:00.000Z',
    ...o,
  });
const facts = (entries: [number, RequesterFacts][]) => new Map(entries);
const now = new Date('2030-01-01T10:30:00Z');
const plan = (grants: Grant[], ineligible: ReturnType<typeof ineligibleRequesters>) =>
  planReconcile(
    grants.map((grant) => ({ path: grantPath(grant.resource, grant.id), grant })),
    policies,
    now,
    ineligible,
  ).steps;

describe('offboarding', () => {
  const carolsGrant = active({ id: 'req-1', requester: carol });
  const davesDb = active({ id: 'req-2', requester: dave });
  const davesOps = active({ id: 'req-3', requester: dave, resource: 'ops' });

  it('ends every live grant of an account that is gone, with the reason', () => {
    const ineligible = ineligibleRequesters(
      [carolsGrant, davesDb],
      policies,
      facts([
        [carol.id, { login: null }],
        [dave.id, { login: 'dave' }],
      ]),
      buildMemberships(),
    );
    const steps = plan([carolsGrant, davesDb], ineligible);
    expect(steps).toEqual([
      expect.objectContaining({
        kind: 'revoke',
        to: 'revoked',
        effect: true,
        actor: 'offboarding',
        reason: 'offboarding: the account of @carol (103) is gone',
      }),
    ]);
    expect(steps[0]!.grant.id).toBe('req-1');
  });

  it('ends them when the organization says the person left, but not when it cannot tell', () => {
    const gone = ineligibleRequesters(
      [davesDb, davesOps],
      policies,
      facts([[dave.id, { login: 'dave', orgMember: false }]]),
      buildMemberships(),
    );
    expect(
      plan([davesDb, davesOps], gone)
        .map((s) => `${s.kind} ${s.grant.id}`)
        .sort(),
    ).toEqual(['revoke req-2', 'revoke req-3']);
    const unknown = ineligibleRequesters(
      [davesDb],
      policies,
      facts([[dave.id, { login: 'dave' }]]),
      buildMemberships(),
    );
    expect(plan([davesDb], unknown)).toEqual([]);
  });

  it('ends only the grants of resources whose requesters no longer name the person', () => {
    // dave left acme/oncall: his ops grant ends; prod-db still names him by login.
    const ineligible = ineligibleRequesters(
      [davesDb, davesOps],
      policies,
      facts([[dave.id, { login: 'dave' }]]),
      buildMemberships({ 'acme/oncall': [] }),
    );
    const steps = plan([davesDb, davesOps], ineligible);
    expect(steps.map((s) => `${s.kind} ${s.grant.id}`)).toEqual(['revoke req-3']);
    expect(steps[0]).toMatchObject({
      reason:
        'offboarding: @dave is no longer among the requesters of "ops" (directly or through a team)',
    });
  });

  it('judges a renamed account by its current login, as a new request would be', () => {
    // carol is in acme/engineers by id; dave's login entry does not follow a rename.
    const renamed = ineligibleRequesters(
      [carolsGrant, davesDb],
      policies,
      facts([
        [carol.id, { login: 'carol-new' }],
        [dave.id, { login: 'dave-new' }],
      ]),
      buildMemberships({ 'acme/engineers': [carol.id] }),
    );
    expect(plan([carolsGrant, davesDb], renamed).map((s) => s.grant.id)).toEqual(['req-2']);
  });

  it('an approved grant never issued ends without a provider call', () => {
    const g = buildGrant({ id: 'req-4', status: 'approved', approval, requester: carol });
    const steps = plan(
      [g],
      ineligibleRequesters([g], policies, facts([[carol.id, { login: null }]]), buildMemberships()),
    );
    expect(steps).toEqual([expect.objectContaining({ kind: 'revoke', effect: false })]);
  });

  it('lists the requester teams of resources with live grants, once each', () => {
    expect(requesterTeams([davesDb, davesOps, carolsGrant], policies).sort()).toEqual([
      'acme/engineers',
      'acme/oncall',
    ]);
    expect(
      requesterTeams([buildGrant({ status: 'expired', ended_at: now.toISOString() })], policies),
    ).toEqual([]);
  });
});
