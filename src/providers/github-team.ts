import type { Grant } from '../core/grant.js';
import { TEAM_PATTERN } from '../core/identity.js';
import type { Problem } from '../core/problem.js';
import type { TeamRole } from '../github/github-client.js';
import {
  currentLogin,
  mustHaveLogin,
  otherLiveGrant,
  requireGitHub,
  unknownKeys,
} from './github-shared.js';
import type { Issued, LiveAccess, Provider, ProviderContext } from './provider.js';

const KIND = 'github-team';

interface TeamTarget {
  team: string;
  role: TeamRole;
}

const target = (ctx: ProviderContext): TeamTarget => ({
  team: String(ctx.resource.target.team),
  role: ctx.resource.target.role === 'maintainer' ? 'maintainer' : 'member',
});

const roleRank = (r: TeamRole): number => (r === 'maintainer' ? 1 : 0);

/**
 * Temporary membership of a GitHub team. Team membership is shared state, not a per-grant
 * credential: gatepass never takes away a membership it did not give, and keeps one that
 * another live grant still needs.
 */
export const githubTeamProvider: Provider = {
  kind: KIND,

  validateTarget(t: Record<string, unknown>): Problem[] {
    const problems = unknownKeys(t, ['team', 'role']);
    if (typeof t.team !== 'string' || !TEAM_PATTERN.test(t.team)) {
      problems.push({ path: 'target.team', message: 'team must be "org/team-slug"' });
    }
    if (t.role !== undefined && t.role !== 'member' && t.role !== 'maintainer') {
      problems.push({ path: 'target.role', message: 'role must be "member" or "maintainer"' });
    }
    return problems;
  },

  async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
    const github = requireGitHub(ctx, KIND);
    const { team, role } = target(ctx);
    // A re-run after a crash that happened after the commit: the facts are already known.
    if (grant.issued && typeof grant.issued.already_member === 'boolean') {
      return { facts: grant.issued };
    }
    const login = mustHaveLogin(await currentLogin(github, grant), grant, KIND);
    const before = await github.teamMembershipInfo(team, login);
    if (before && roleRank(before.role) >= roleRank(role)) {
      ctx.log(`${KIND}: ${login} is already ${before.role} of ${team}; nothing to add`);
      return { facts: { team, role, login, state: before.state, already_member: true } };
    }
    const after = await github.addTeamMember(team, login, role);
    ctx.log(`${KIND}: added ${login} to ${team} as ${role} (${after.state})`);
    return {
      facts: {
        team,
        role,
        login,
        state: after.state,
        already_member: false,
        // Promoted from member: revoking demotes back instead of removing.
        ...(before ? { previous_role: before.role } : {}),
      },
    };
  },

  async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    const { team } = target(ctx);
    if (grant.issued?.already_member === true) {
      ctx.log(`${KIND}: ${grant.requester.login} was a member of ${team} before; left as is`);
      return;
    }
    const other = otherLiveGrant(grant, ctx);
    if (other) {
      ctx.log(`${KIND}: grant ${other.id} still gives ${grant.requester.login} ${team}; kept`);
      return;
    }
    const login = await currentLogin(github, grant);
    if (login === null) {
      ctx.log(`${KIND}: user ${grant.requester.id} no longer exists; nothing to remove`);
      return;
    }
    const previous = grant.issued?.previous_role;
    if (previous === 'member') {
      // Only demote if still a maintainer: never re-add someone who left the team meanwhile.
      const now = await github.teamMembershipInfo(team, login);
      if (now?.role === 'maintainer') await github.addTeamMember(team, login, 'member');
      ctx.log(`${KIND}: ${login} is back to member of ${team}`);
      return;
    }
    const removed = await github.removeTeamMember(team, login);
    ctx.log(`${KIND}: ${removed ? 'removed' : 'already gone:'} ${login} from ${team}`);
  },

  async list(ctx: ProviderContext): Promise<LiveAccess[]> {
    const github = requireGitHub(ctx, KIND);
    const { team } = target(ctx);
    const members = await github.teamMembers(team);
    return members.map((m) => ({ key: m.login, description: `team ${team}: ${m.login}` }));
  },

  async removeDrift(access: LiveAccess, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    await github.removeTeamMember(target(ctx).team, access.key);
  },
};
