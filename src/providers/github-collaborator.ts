import type { Grant } from '../core/grant.js';
import type { PreState } from '../core/ownership.js';
import type { Problem } from '../core/problem.js';
import {
  permissionRank,
  REPO_PERMISSIONS,
  toRepoPermission,
  type RepoPermission,
} from '../core/permission.js';
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

const KIND = 'github-collaborator';
const REPO_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9_.-]{1,100}$/;

interface CollaboratorTarget {
  repository: string;
  permission: RepoPermission;
}

/** The policy's target now: used only when issuing. */
const currentTarget = (ctx: ProviderContext): CollaboratorTarget => ({
  repository: String(ctx.resource.target.repository),
  permission: ctx.resource.target.permission as RepoPermission,
});

const isPermission = (p: unknown): p is RepoPermission =>
  typeof p === 'string' && (REPO_PERMISSIONS as readonly string[]).includes(p);

const rankOrNone = (p: unknown): number | null | undefined =>
  p === 'none' ? null : isPermission(p) ? permissionRank(p) : undefined;

const recordedTarget = (facts: Grant['issued']): CollaboratorTarget | null =>
  typeof facts?.repository === 'string' && isPermission(facts.permission)
    ? { repository: facts.repository, permission: facts.permission }
    : null;

const nameOf = (level: number | null): string =>
  level === null ? 'none' : REPO_PERMISSIONS[level]!;

/**
 * Ownership of a repository permission. gatepass manages the direct collaborator permission
 * (`before_permission`); what the person had through a team or the organisation's base
 * permission (`before_effective`) only decides whether gatepass had to write anything.
 */
export const collaboratorAccess: SharedAccess = {
  kind: KIND,
  recorded(facts) {
    const t = recordedTarget(facts);
    return t ? { target: t.repository, level: permissionRank(t.permission) } : null;
  },
  before(facts) {
    const level = rankOrNone(facts?.before_permission);
    const effective = rankOrNone(facts?.before_effective);
    if (level === undefined || effective === undefined) return null;
    return { level, covered: effective };
  },
  legacyBefore(facts, level) {
    if (typeof facts?.already_member !== 'boolean') return null;
    if (facts.already_member) return { level: null, covered: level };
    // A legacy grant only ever recorded a lower permission it raised: one at or above what it
    // gave was not written by gatepass and is not honoured.
    const p = facts.previous_permission;
    const previous = isPermission(p) && permissionRank(p) < level ? permissionRank(p) : null;
    return { level: previous, covered: previous };
  },
  factsOf: (b: PreState) => ({
    before_permission: nameOf(b.level),
    before_effective: nameOf(b.covered),
  }),
};

/** The step-reads key of `login`'s effective permission on `repository`. */
const permissionKey = (repository: string, login: string): string =>
  `collaborator-permission ${repository.toLowerCase()} ${login.toLowerCase()}`;

const targetOf = (grant: Grant, ctx: ProviderContext): CollaboratorTarget =>
  recordedOr(grant, ctx, KIND, recordedTarget(grant.issued), () => currentTarget(ctx));

/**
 * Temporary permission on a repository as a direct collaborator. Someone outside the
 * organisation gets an invitation; revoking removes the collaborator and any invitation still
 * pending. The live grants giving the permission hold it together (core/ownership.ts); the
 * last to end restores exactly the direct permission the person had before any of them, and
 * access they had through a team or the organisation is never touched.
 */
export const githubCollaboratorProvider: Provider = {
  kind: KIND,

  validateTarget(t: Record<string, unknown>): Problem[] {
    const problems = unknownKeys(t, ['repository', 'permission']);
    if (typeof t.repository !== 'string' || !REPO_PATTERN.test(t.repository)) {
      problems.push({ path: 'target.repository', message: 'repository must be "owner/name"' });
    }
    if (!isPermission(t.permission)) {
      problems.push({
        path: 'target.permission',
        message: `permission must be one of ${REPO_PERMISSIONS.join(', ')}`,
      });
    }
    return problems;
  },

  async prepareIssue(grant: Grant, ctx: ProviderContext): Promise<Issued['facts']> {
    const github = requireGitHub(ctx, KIND);
    const { repository, permission } = currentTarget(ctx);
    const login = mustHaveLogin(await currentLogin(github, grant), grant, KIND);
    const level = permissionRank(permission);
    const pre = await recordPreState(
      grant,
      ctx,
      collaboratorAccess,
      repository,
      level,
      async () => {
        const [effective, direct] = await Promise.all([
          github.collaboratorPermission(repository, login),
          github.directCollaborators(repository),
        ]);
        ctx.stepReads?.put(permissionKey(repository, login), effective);
        const mine = direct.find((c) => c.id === grant.requester.id)?.permission ?? null;
        return {
          before_permission: mine ?? 'none',
          before_effective: effective ?? 'none',
          already_member: permissionRank(effective) >= level,
        };
      },
    );
    // With lasting access allowed, who collaborated at the start: residue is measured against it.
    const snapshot: Issued['facts'] = ctx.resource.allow_lasting_access
      ? {
          collaborators_at_issue: (await github.directCollaborators(repository)).map((c) =>
            String(c.id),
          ),
        }
      : {};
    return { provider: KIND, repository, permission, login, ...pre, ...snapshot };
  },

  async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
    const github = requireGitHub(ctx, KIND);
    // What prepareIssue recorded before any attempt of this grant; without it, record it now.
    const recorded =
      collaboratorAccess.before(grant.issued) && recordedTarget(grant.issued)
        ? grant.issued!
        : null;
    const facts = recorded ?? (await this.prepareIssue!(grant, ctx));
    const login = recorded
      ? mustHaveLogin(await currentLogin(github, grant), grant, KIND)
      : String(facts.login);
    const { repository, permission } = recordedTarget(facts)!;
    const pre: Issued['facts'] = {};
    for (const k of [
      'before_permission',
      'before_effective',
      'already_member',
      'joined',
      'collaborators_at_issue',
    ] as const)
      if (facts[k] !== undefined) pre[k] = facts[k]!;
    const seenNow = ctx.stepReads?.take<Awaited<ReturnType<typeof github.collaboratorPermission>>>(
      permissionKey(repository, login),
    );
    const effective = seenNow
      ? seenNow.value
      : await github.collaboratorPermission(repository, login);
    // Someone took away access the first holder saw before gatepass acted: what gatepass
    // writes now must be undone down to what is there now.
    const seen = collaboratorAccess.before(pre);
    if (!pre.joined && seen && (seen.covered ?? -1) > permissionRank(effective)) {
      const direct = (await github.directCollaborators(repository)).find(
        (c) => c.id === grant.requester.id,
      );
      pre.before_permission = direct?.permission ?? 'none';
      pre.before_effective = effective ?? 'none';
      pre.already_member = false;
    }
    const base = { provider: KIND, repository, permission, login, ...pre };
    if (permissionRank(effective) >= permissionRank(permission)) {
      ctx.log(`${KIND}: ${login} has ${effective} on ${repository}; nothing to add`);
      return { facts: base };
    }
    const result = await github.addCollaborator(repository, login, permission);
    ctx.log(
      `${KIND}: ${result.kind === 'invited' ? 'invited' : 'gave'} ${login} ${permission} on ${repository}`,
    );
    return {
      facts: {
        ...base,
        invited: result.kind === 'invited',
        ...(result.kind === 'invited' ? { invitation_id: result.invitationId } : {}),
      },
    };
  },

  async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    const { repository, permission } = targetOf(grant, ctx);
    const end = await endingFor(github, grant, ctx, {
      kind: KIND,
      spec: collaboratorAccess,
      target: repository,
      level: permissionRank(permission),
      hadBefore: `this access to ${repository}`,
    });
    if (!end) return;
    const { outcome, login } = end;
    if (outcome.action === 'set') {
      const to = REPO_PERMISSIONS[outcome.level]!;
      await github.addCollaborator(repository, login, to);
      ctx.log(`${KIND}: ${login} is back to ${to} on ${repository}`);
      return;
    }
    const removed = await github.removeCollaborator(repository, login);
    ctx.log(`${KIND}: ${removed ? 'removed' : 'already gone:'} ${login} from ${repository}`);
  },

  async residue(grant: Grant, ctx: ProviderContext): Promise<Residue[]> {
    const github = requireGitHub(ctx, KIND);
    const { repository } = targetOf(grant, ctx);
    const window = grantWindow(grant, ctx);
    const out: Residue[] = [];
    const before = snapshotOf(grant.issued, 'collaborators_at_issue');
    const [collaborators, invitations, keys, hooks] = await Promise.all([
      before === null ? Promise.resolve([]) : github.directCollaborators(repository),
      github.invitations(repository),
      github.deployKeys(repository),
      github.webhooks(repository),
    ]);
    if (before === null)
      ctx.log(
        `${KIND}: grant ${grant.id} recorded no collaborator list at issue; collaborators added cannot be told`,
      );
    for (const c of collaborators)
      if (!before!.has(c.id) && c.id !== grant.requester.id)
        out.push({
          kind: 'collaborator',
          description: `${c.login} became a collaborator of ${repository} (${c.permission ?? 'custom role'})`,
        });
    for (const i of invitations)
      if (within(window, i.created_at) && i.invitee?.id !== grant.requester.id)
        out.push({
          kind: 'invitation',
          description: `${i.invitee?.login ?? 'someone'} was invited to ${repository} (${i.permission})${i.inviter ? ` by ${i.inviter}` : ''}`,
          created_at: i.created_at!,
        });
    for (const k of keys)
      if (within(window, k.created_at))
        out.push({
          kind: 'deploy-key',
          description: `deploy key "${k.name}" was added to ${repository}`,
          created_at: k.created_at,
        });
    for (const h of hooks)
      if (within(window, h.created_at))
        out.push({
          kind: 'webhook',
          description: `a webhook to ${h.name} was added to ${repository}`,
          created_at: h.created_at,
        });
    return out;
  },

  async list(ctx: ProviderContext): Promise<LiveAccess[]> {
    const github = requireGitHub(ctx, KIND);
    const { repository } = currentTarget(ctx);
    const [collaborators, invitations] = await Promise.all([
      github.directCollaborators(repository),
      github.invitations(repository),
    ]);
    return [
      ...collaborators.map((c) => ({
        key: c.login,
        description: `${repository}: ${c.login} (${c.permission ?? 'custom role'})`,
        person: { login: c.login, id: c.id },
        ...(c.permission ? { level: c.permission } : {}),
      })),
      ...invitations
        .filter((i) => i.invitee)
        .map((i) => ({
          key: i.invitee!.login,
          description: `${repository}: ${i.invitee!.login} (invited, ${i.permission})`,
          person: { login: i.invitee!.login, id: i.invitee!.id },
          ...(toRepoPermission(i.permission) ? { level: toRepoPermission(i.permission)! } : {}),
        })),
    ];
  },

  async removeDrift(access: LiveAccess, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    await github.removeCollaborator(currentTarget(ctx).repository, access.key);
  },
};
