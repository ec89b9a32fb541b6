import type { Grant } from '../core/grant.js';
import { TEAM_PATTERN } from '../core/identity.js';
import type { Problem } from '../core/problem.js';
import type { TeamRole } from '../core/ports.js';
import {
  currentLogin,
  mustHaveLogin,
  loginToRevoke,
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

function preStateOf(grant: Grant): { already_member: boolean; previous_role?: TeamRole } | null {
  const facts = grant.issued;
  if (!facts || typeof facts.already_member !== 'boolean') return null;
  const previous = facts.previous_role;
  return {
    already_member: facts.already_member,
    ...(previous === 'member' || previous === 'maintainer' ? { previous_role: previous } : {}),
  };
}

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

  async prepareIssue(grant: Grant, ctx: ProviderContext): Promise<Issued['facts']> {
    const github = requireGitHub(ctx, KIND);
    const { team, role } = target(ctx);
    const login = mustHaveLogin(await currentLogin(github, grant), grant, KIND);
    const before = await github.teamMembershipInfo(team, login);
    const already = before !== null && roleRank(before.role) >= roleRank(role);
    return {
      team,
      role,
      login,
      already_member: already,
      ...(before && !already ? { previous_role: before.role } : {}),
    };
  },

  async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
    const github = requireGitHub(ctx, KIND);
    const { team, role } = target(ctx);
    // What prepareIssue saw before any attempt of this grant; absent when called without it.
    const recorded = preStateOf(grant);
    const login = mustHaveLogin(await currentLogin(github, grant), grant, KIND);
    const now = await github.teamMembershipInfo(team, login);
    if (now && roleRank(now.role) >= roleRank(role)) {
      // Present now: from before the grant, or from an earlier attempt of this very grant that
      // died before its commit. Only the recorded pre-state can tell the two apart.
      const already = recorded ? recorded.already_member : true;
      ctx.log(
        already
          ? `${KIND}: ${login} is already ${now.role} of ${team}; nothing to add`
          : `${KIND}: ${login} is ${now.role} of ${team} from an earlier attempt of ${grant.id}`,
      );
      return {
        facts: {
          team,
          role,
          login,
          state: now.state,
          already_member: already,
          ...(!already && recorded?.previous_role ? { previous_role: recorded.previous_role } : {}),
        },
      };
    }
    const after = await github.addTeamMember(team, login, role);
    ctx.log(`${KIND}: added ${login} to ${team} as ${role} (${after.state})`);
    const previous = recorded ? recorded.previous_role : now?.role;
    return {
      facts: {
        team,
        role,
        login,
        state: after.state,
        already_member: false,
        // Promoted from member: revoking demotes back instead of removing.
        ...(previous ? { previous_role: previous } : {}),
      },
    };
  },

  async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    const { team, role } = target(ctx);
    const login = await loginToRevoke(github, grant, ctx, {
      kind: KIND,
      what: team,
      hadItBefore: `was a member of ${team} before`,
    });
    if (login === null) return;
    const previous = grant.issued?.previous_role;
    // Only a maintainer grant can have promoted a member; anything else was not written by
    // gatepass, and the membership goes.
    if (previous === 'member' && role === 'maintainer') {
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
