import type { Grant } from '../core/grant.js';
import { TEAM_PATTERN } from '../core/identity.js';
import type { PreState } from '../core/ownership.js';
import type { Problem } from '../core/problem.js';
import type { TeamMembershipInfo, TeamRole } from '../core/ports.js';
import {
  currentLogin,
  endingFor,
  grantWindow,
  snapshotOf,
  within,
  mustHaveLogin,
  recordedOr,
  recordPreState,
  requireGitHub,
  unknownKeys,
  type SharedAccess,
} from './github-shared.js';
import type { Issued, LiveAccess, Provider, ProviderContext, Residue } from './provider.js';

const KIND = 'github-team';
const ROLES: readonly TeamRole[] = ['member', 'maintainer'];

interface TeamTarget {
  team: string;
  role: TeamRole;
}

/** The policy's target now: used only when issuing. */
const currentTarget = (ctx: ProviderContext): TeamTarget => ({
  team: String(ctx.resource.target.team),
  role: ctx.resource.target.role === 'maintainer' ? 'maintainer' : 'member',
});

const rankOf = (r: unknown): number | null => {
  const i = ROLES.indexOf(r as TeamRole);
  return i < 0 ? null : i;
};

const recordedTarget = (facts: Grant['issued']): TeamTarget | null =>
  typeof facts?.team === 'string' && rankOf(facts.role) !== null
    ? { team: facts.team, role: facts.role as TeamRole }
    : null;

/** Facts recorded by prepareIssue (or a first issue without it) describe the team's ownership. */
export const teamAccess: SharedAccess = {
  kind: KIND,
  recorded(facts) {
    const t = recordedTarget(facts);
    return t ? { target: t.team, level: rankOf(t.role)! } : null;
  },
  before(facts) {
    const b = facts?.before_role;
    if (b === 'none') return { level: null, covered: null };
    const r = rankOf(b);
    return r === null ? null : { level: r, covered: r };
  },
  legacyBefore(facts, level) {
    if (typeof facts?.already_member !== 'boolean') return null;
    // "Already had at least the role" (or was promoted from member): the grant gave nothing more.
    if (facts.already_member) return { level, covered: level };
    // A legacy grant only ever recorded a role it promoted from: one at or above what it gave
    // was not written by gatepass and is not honoured.
    const previous = rankOf(facts.previous_role);
    return previous === null || previous >= level
      ? { level: null, covered: null }
      : { level: previous, covered: previous };
  },
  factsOf: (b: PreState) => ({ before_role: b.level === null ? 'none' : ROLES[b.level]! }),
};

/** The step-reads key of `login`'s membership of `team`. */
const membershipKey = (team: string, login: string): string =>
  `team-membership ${team.toLowerCase()} ${login.toLowerCase()}`;

/** Where a grant acts: what it recorded at issue, or (for old grants) today's policy. */
const targetOf = (grant: Grant, ctx: ProviderContext): TeamTarget =>
  recordedOr(grant, ctx, KIND, recordedTarget(grant.issued), () => currentTarget(ctx));

/**
 * Temporary membership of a GitHub team. Team membership is shared state, not a per-grant
 * credential: the live grants that give it hold it together (core/ownership.ts), and the last
 * one to end puts back exactly the role the person had before any of them.
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
    const { team, role } = currentTarget(ctx);
    const login = mustHaveLogin(await currentLogin(github, grant), grant, KIND);
    const pre = await recordPreState(grant, ctx, teamAccess, team, rankOf(role)!, async () => {
      const before = await github.teamMembershipInfo(team, login);
      ctx.stepReads?.put(membershipKey(team, login), before);
      return {
        before_role: before ? before.role : 'none',
        already_member: before !== null && rankOf(before.role)! >= rankOf(role)!,
      };
    });
    // With lasting access allowed, who was in the team at the start: residue is measured
    // against it at the end.
    const snapshot: Issued['facts'] = ctx.resource.allow_lasting_access
      ? { members_at_issue: (await github.teamMembers(team)).map((m) => String(m.id)) }
      : {};
    return { provider: KIND, team, role, login, ...pre, ...snapshot };
  },

  async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
    const github = requireGitHub(ctx, KIND);
    // What prepareIssue recorded before any attempt of this grant; without it (a direct call),
    // record it now, before acting.
    const recorded =
      teamAccess.before(grant.issued) && recordedTarget(grant.issued) ? grant.issued! : null;
    const facts = recorded ?? (await this.prepareIssue!(grant, ctx));
    const login = recorded
      ? mustHaveLogin(await currentLogin(github, grant), grant, KIND)
      : String(facts.login);
    const { team, role } = recordedTarget(facts)!;
    const pre: Issued['facts'] = {};
    for (const k of ['before_role', 'already_member', 'joined', 'members_at_issue'] as const)
      if (facts[k] !== undefined) pre[k] = facts[k]!;
    const seenNow = ctx.stepReads?.take<TeamMembershipInfo | null>(membershipKey(team, login));
    const now = seenNow ? seenNow.value : await github.teamMembershipInfo(team, login);
    // Someone took away (part of) what the first holder saw before gatepass acted: what
    // gatepass writes now must be undone down to what is there now.
    const seen = teamAccess.before(pre);
    const nowRank = now ? rankOf(now.role)! : null;
    if (!pre.joined && seen && seen.level !== null && (nowRank === null || nowRank < seen.level)) {
      pre.before_role = now ? now.role : 'none';
      pre.already_member = false;
    }
    if (now && rankOf(now.role)! >= rankOf(role)!) {
      ctx.log(`${KIND}: ${login} is ${now.role} of ${team}; nothing to add`);
      return { facts: { provider: KIND, team, role, login, state: now.state, ...pre } };
    }
    const after = await github.addTeamMember(team, login, role);
    ctx.log(`${KIND}: added ${login} to ${team} as ${role} (${after.state})`);
    return { facts: { provider: KIND, team, role, login, state: after.state, ...pre } };
  },

  async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    const { team, role } = targetOf(grant, ctx);
    const end = await endingFor(github, grant, ctx, {
      kind: KIND,
      spec: teamAccess,
      target: team,
      level: rankOf(role)!,
      hadBefore: `this role of ${team}`,
    });
    if (!end) return;
    const { outcome, login } = end;
    if (outcome.action === 'set') {
      const to = ROLES[outcome.level]!;
      // Only lower a role that is still higher: never re-add someone who left the team meanwhile.
      const now = await github.teamMembershipInfo(team, login);
      if (now && rankOf(now.role)! > outcome.level) await github.addTeamMember(team, login, to);
      ctx.log(`${KIND}: ${login} is back to ${to} of ${team}`);
      return;
    }
    const removed = await github.removeTeamMember(team, login);
    ctx.log(`${KIND}: ${removed ? 'removed' : 'already gone:'} ${login} from ${team}`);
  },

  async residue(grant: Grant, ctx: ProviderContext): Promise<Residue[]> {
    const github = requireGitHub(ctx, KIND);
    const { team } = targetOf(grant, ctx);
    const window = grantWindow(grant, ctx);
    const out: Residue[] = [];
    const before = snapshotOf(grant.issued, 'members_at_issue');
    if (before === null)
      ctx.log(
        `${KIND}: grant ${grant.id} recorded no member list at issue; members added cannot be told`,
      );
    else
      for (const m of await github.teamMembers(team))
        if (!before.has(m.id) && m.id !== grant.requester.id)
          out.push({ kind: 'team-member', description: `${m.login} joined ${team}` });
    for (const i of await github.teamInvitations(team))
      if (within(window, i.created_at))
        out.push({
          kind: 'team-invitation',
          description: `${i.name} was invited to ${team}`,
          created_at: i.created_at,
        });
    return out;
  },

  async list(ctx: ProviderContext): Promise<LiveAccess[]> {
    const github = requireGitHub(ctx, KIND);
    const { team } = currentTarget(ctx);
    const [members, maintainers] = await Promise.all([
      github.teamMembers(team),
      github.teamMembers(team, 'maintainer'),
    ]);
    const maintainerIds = new Set(maintainers.map((m) => m.id));
    return members.map((m) => {
      const level: TeamRole = maintainerIds.has(m.id) ? 'maintainer' : 'member';
      return {
        key: m.login,
        description: `team ${team}: ${m.login} (${level})`,
        person: { login: m.login, id: m.id },
        level,
      };
    });
  },

  async removeDrift(access: LiveAccess, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    await github.removeTeamMember(currentTarget(ctx).team, access.key);
  },
};
