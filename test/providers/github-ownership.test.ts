/**
 * Finding 1 of issue #13: overlapping grants of the same access must not keep it forever. The
 * providers run against a small stateful GitHub (nock reply functions, contract-checked), the
 * grants flow as the reconcile engine passes them (live grants with their recorded facts).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import type { Grant } from '../../src/core/grant.js';
import { GitHubClient } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import { githubCollaboratorProvider } from '../../src/providers/github-collaborator.js';
import { grantRecords } from '../../src/providers/github-shared.js';
import { githubTeamProvider, teamAccess } from '../../src/providers/github-team.js';
import { unexplainedAccess } from '../../src/core/ownership.js';
import type { Provider } from '../../src/providers/provider.js';
import {
  account,
  collaborator,
  collaboratorPermission,
  teamMembership,
} from '../helpers/github-fixtures.js';
import { enableContractChecks } from '../helpers/openapi.js';
import {
  buildGrant,
  buildProviderContext,
  buildResource,
} from '../helpers/github-provider-context.js';

const API = 'https://api.github.com';
const github = () =>
  new GitHubClient(createOctokit({ token: 't', retry: false, throttle: false }), {
    owner: 'acme',
    repo: 'access',
  });

enableContractChecks();
beforeEach(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

/** alice's team role and direct repository permission, as GitHub holds them. */
interface World {
  team: 'member' | 'maintainer' | null;
  direct: string | null;
}

const API_ROLE: Record<string, string> = {
  pull: 'read',
  triage: 'triage',
  push: 'write',
  maintain: 'maintain',
  admin: 'admin',
};
const LEGACY: Record<string, string> = {
  read: 'read',
  triage: 'write',
  write: 'write',
  maintain: 'write',
  admin: 'admin',
};

function serve(world: World): void {
  nock(API)
    .persist()
    .get('/user/1')
    .reply(200, account('alice', 1))
    .get('/orgs/acme/teams/sre/memberships/alice')
    .reply(() =>
      world.team ? [200, teamMembership(world.team, 'active')] : [404, { message: 'Not Found' }],
    )
    .put('/orgs/acme/teams/sre/memberships/alice')
    .reply((_uri, body) => {
      world.team = (body as { role: 'member' | 'maintainer' }).role;
      return [200, teamMembership(world.team, 'active')];
    })
    .delete('/orgs/acme/teams/sre/memberships/alice')
    .reply(() => {
      const had = world.team !== null;
      world.team = null;
      return had ? [204, ''] : [404, { message: 'Not Found' }];
    })
    .get('/repos/acme/app/collaborators/alice/permission')
    .reply(() => {
      const role = world.direct ? API_ROLE[world.direct]! : 'none';
      return [
        200,
        collaboratorPermission(role === 'none' ? 'none' : LEGACY[role]!, role, {
          login: 'alice',
          id: 1,
        }),
      ];
    })
    .get('/repos/acme/app/collaborators')
    .query(true)
    .reply(() => [200, world.direct ? [collaborator('alice', 1, API_ROLE[world.direct]!)] : []])
    .put('/repos/acme/app/collaborators/alice')
    .reply((_uri, body) => {
      world.direct = (body as { permission: string }).permission;
      return [204, ''];
    })
    .delete('/repos/acme/app/collaborators/alice')
    .reply(() => {
      const had = world.direct !== null;
      world.direct = null;
      return had ? [204, ''] : [404, { message: 'Not Found' }];
    })
    .get('/repos/acme/app/invitations')
    .query(true)
    .reply(200, []);
}

/** Issues and ends grants the way the engine does: liveGrants are the others, with their facts. */
function engine(provider: Provider, target: (level: string) => Record<string, unknown>) {
  const live = new Map<string, Grant>();
  const ctx = (level: string, except?: string) =>
    buildProviderContext(buildResource({ provider: provider.kind, target: target(level) }), {
      github: github(),
      liveGrants: [...live.values()].filter((g) => g.id !== except),
    });
  return {
    live,
    async issue(id: string, level: string): Promise<Grant> {
      const grant = buildGrant({ id, status: 'approved' });
      const pre = await provider.prepareIssue!(grant, ctx(level, id));
      const issued = await provider.issue({ ...grant, issued: pre }, ctx(level, id));
      const active: Grant = { ...grant, status: 'active', issued: issued.facts };
      live.set(id, active);
      return active;
    },
    async end(id: string, level: string): Promise<string[]> {
      const grant = live.get(id)!;
      live.delete(id);
      const c = ctx(level, id);
      await provider.revoke({ ...grant, status: 'revoked' }, c);
      return c.logs;
    },
  };
}

describe('github-team: access is held by every live grant that gives it', () => {
  const team = (role: string) => ({ team: 'acme/sre', role });

  it('an overlapping grant joins the first; the last to end removes the membership (finding 1)', async () => {
    const world: World = { team: null, direct: null };
    serve(world);
    const e = engine(githubTeamProvider, team);
    await e.issue('req-1', 'member');
    const second = await e.issue('req-2', 'member');
    expect(second.issued).toMatchObject({ joined: 'req-1', before_role: 'none' });
    expect(second.issued).not.toHaveProperty('already_member');

    expect(await e.end('req-1', 'member')).toEqual([
      'github-team: req-2 still give alice acme/sre; kept',
    ]);
    expect(world.team).toBe('member');
    await e.end('req-2', 'member');
    expect(world.team).toBeNull();
  });

  it('whichever ends first, a promoted member ends as a member again', async () => {
    for (const order of [
      ['req-1', 'req-2'],
      ['req-2', 'req-1'],
    ]) {
      const world: World = { team: 'member', direct: null };
      nock.cleanAll();
      serve(world);
      const e = engine(githubTeamProvider, team);
      await e.issue('req-1', 'maintainer');
      await e.issue('req-2', 'maintainer');
      await e.end(order[0]!, 'maintainer');
      expect(world.team).toBe('maintainer');
      await e.end(order[1]!, 'maintainer');
      expect(world.team).toBe('member');
    }
  });

  it('a member grant and a maintainer grant overlapping: back to nothing through member', async () => {
    const world: World = { team: null, direct: null };
    serve(world);
    const e = engine(githubTeamProvider, team);
    await e.issue('req-1', 'member');
    await e.issue('req-2', 'maintainer');
    expect(world.team).toBe('maintainer');
    await e.end('req-2', 'maintainer');
    expect(world.team).toBe('member');
    await e.end('req-1', 'member');
    expect(world.team).toBeNull();
  });

  it('a legacy pair (the second recorded already_member) is reported as drift once both ended', async () => {
    const world: World = { team: 'member', direct: null };
    serve(world);
    const legacy = (id: string, already: boolean, at: string): Grant =>
      buildGrant({
        id,
        status: 'active',
        issued_at: at,
        issued: { team: 'acme/sre', role: 'member', login: 'alice', already_member: already },
      });
    const first = legacy('req-1', false, '2030-01-01T10:00:00Z');
    const second = legacy('req-2', true, '2030-01-01T10:30:00Z');
    const ctx = (others: Grant[]) =>
      buildProviderContext(buildResource({ provider: 'github-team', target: team('member') }), {
        github: github(),
        liveGrants: others,
      });
    await githubTeamProvider.revoke(first, ctx([second]));
    expect(world.team).toBe('member');
    await githubTeamProvider.revoke(second, ctx([]));
    // Without req-1 live any more, req-2's "already a member" is all its revoke can see: grants
    // recorded before joining existed keep that membership, and drift detection reports it.
    expect(world.team).toBe('member');
    const ended = [
      { ...first, status: 'revoked' as const, ended_at: '2030-01-01T11:00:00Z' },
      { ...second, status: 'revoked' as const, ended_at: '2030-01-01T12:00:00Z' },
    ];
    const records = grantRecords(ended, teamAccess, 'acme/sre');
    expect(unexplainedAccess([{ person: 1, level: 0, key: 'alice' }], records)).toEqual([
      { person: 1, level: 0, key: 'alice', explained: null },
    ]);
  });
});

describe('github-collaborator: a permission is held by every live grant that gives it', () => {
  const repo = (permission: string) => ({ repository: 'acme/app', permission });

  it('an overlapping grant joins the first; the last to end removes push (finding 1)', async () => {
    const world: World = { team: null, direct: null };
    serve(world);
    const e = engine(githubCollaboratorProvider, repo);
    await e.issue('req-1', 'push');
    const second = await e.issue('req-2', 'push');
    expect(second.issued).toMatchObject({ joined: 'req-1', before_permission: 'none' });
    expect(second.issued).not.toHaveProperty('already_member');
    await e.end('req-1', 'push');
    expect(world.direct).toBe('push');
    await e.end('req-2', 'push');
    expect(world.direct).toBeNull();
  });

  it('restores a lower direct permission after overlapping raises, in any order', async () => {
    const world: World = { team: null, direct: 'pull' };
    serve(world);
    const e = engine(githubCollaboratorProvider, repo);
    await e.issue('req-1', 'push');
    await e.issue('req-2', 'admin');
    expect(world.direct).toBe('admin');
    await e.end('req-2', 'admin');
    expect(world.direct).toBe('push');
    await e.end('req-1', 'push');
    expect(world.direct).toBe('pull');
  });
});

describe('revoke acts on the target recorded at issue (finding 5)', () => {
  it('github-team: removes the old team membership after the policy moved to another team', async () => {
    const world: World = { team: null, direct: null };
    serve(world);
    const e = engine(githubTeamProvider, (role) => ({ team: 'acme/sre', role }));
    const grant = await e.issue('req-1', 'member');
    expect(grant.issued).toMatchObject({
      provider: 'github-team',
      team: 'acme/sre',
      role: 'member',
    });
    // The policy owners changed the target meanwhile: nothing may be asked of acme/other.
    const moved = buildProviderContext(
      buildResource({
        provider: 'github-team',
        target: { team: 'acme/other', role: 'maintainer' },
      }),
      { github: github() },
    );
    await githubTeamProvider.revoke(grant, moved);
    expect(world.team).toBeNull();
    expect(moved.logs).toEqual(['github-team: removed alice from acme/sre']);
  });

  it('github-collaborator: old grants without a recorded target fall back to the policy, saying so', async () => {
    const world: World = { team: null, direct: 'push' };
    serve(world);
    const ctx = buildProviderContext(
      buildResource({
        provider: 'github-collaborator',
        target: { repository: 'acme/app', permission: 'push' },
      }),
      { github: github() },
    );
    await githubCollaboratorProvider.revoke(buildGrant({ issued: { already_member: false } }), ctx);
    expect(world.direct).toBeNull();
    expect(ctx.logs[0]).toBe(
      "github-collaborator: grant g1 has no recorded target (issued before gatepass recorded it); using the policy's current target",
    );
  });
});
