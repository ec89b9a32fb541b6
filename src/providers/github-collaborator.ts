import type { Grant } from '../core/grant.js';
import type { Problem } from '../core/problem.js';
import { permissionRank, REPO_PERMISSIONS, type RepoPermission } from '../core/permission.js';
import {
  currentLogin,
  mustHaveLogin,
  loginToRevoke,
  requireGitHub,
  unknownKeys,
} from './github-shared.js';
import type { Issued, LiveAccess, Provider, ProviderContext } from './provider.js';

const KIND = 'github-collaborator';
const REPO_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9_.-]{1,100}$/;

interface CollaboratorTarget {
  repository: string;
  permission: RepoPermission;
}

const target = (ctx: ProviderContext): CollaboratorTarget => ({
  repository: String(ctx.resource.target.repository),
  permission: ctx.resource.target.permission as RepoPermission,
});

const isPermission = (p: unknown): p is RepoPermission =>
  typeof p === 'string' && (REPO_PERMISSIONS as readonly string[]).includes(p);

/**
 * Temporary permission on a repository as a direct collaborator. Someone outside the
 * organisation gets an invitation; revoking removes the collaborator and any invitation still
 * pending. Access someone had before the grant (directly, through a team or the organisation's
 * base permission) is never taken away.
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
    const { repository, permission } = target(ctx);
    const login = mustHaveLogin(await currentLogin(github, grant), grant, KIND);
    const effective = await github.collaboratorPermission(repository, login);
    const already = permissionRank(effective) >= permissionRank(permission);
    const direct = already
      ? undefined
      : (await github.directCollaborators(repository)).find((c) => c.id === grant.requester.id);
    return {
      repository,
      permission,
      login,
      already_member: already,
      ...(direct?.permission ? { previous_permission: direct.permission } : {}),
    };
  },

  async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
    const github = requireGitHub(ctx, KIND);
    const { repository, permission } = target(ctx);
    // What prepareIssue saw before any attempt of this grant; absent when called without it.
    const recorded =
      grant.issued && typeof grant.issued.already_member === 'boolean' ? grant.issued : null;
    const recordedPrevious = isPermission(recorded?.previous_permission)
      ? recorded.previous_permission
      : undefined;
    const login = mustHaveLogin(await currentLogin(github, grant), grant, KIND);
    const effective = await github.collaboratorPermission(repository, login);
    if (permissionRank(effective) >= permissionRank(permission)) {
      // Present now: from before the grant, or from an earlier attempt of this very grant that
      // died before its commit. Only the recorded pre-state can tell the two apart.
      const already = recorded ? recorded.already_member === true : true;
      ctx.log(
        already
          ? `${KIND}: ${login} already has ${effective} on ${repository}; nothing to add`
          : `${KIND}: ${login} has ${effective} on ${repository} from an earlier attempt of ${grant.id}`,
      );
      return {
        facts: {
          repository,
          permission,
          login,
          already_member: already,
          ...(!already && recordedPrevious ? { previous_permission: recordedPrevious } : {}),
        },
      };
    }
    // A lower direct permission is restored at revoke instead of removing the collaborator.
    const previous = recorded
      ? recordedPrevious
      : ((await github.directCollaborators(repository)).find((c) => c.id === grant.requester.id)
          ?.permission ?? undefined);
    const result = await github.addCollaborator(repository, login, permission);
    ctx.log(
      `${KIND}: ${result.kind === 'invited' ? 'invited' : 'gave'} ${login} ${permission} on ${repository}`,
    );
    return {
      facts: {
        repository,
        permission,
        login,
        already_member: false,
        invited: result.kind === 'invited',
        ...(result.kind === 'invited' ? { invitation_id: result.invitationId } : {}),
        ...(previous ? { previous_permission: previous } : {}),
      },
    };
  },

  async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    const { repository, permission } = target(ctx);
    const login = await loginToRevoke(github, grant, ctx, {
      kind: KIND,
      what: repository,
      hadItBefore: 'had this access before',
    });
    if (login === null) return;
    const previous = grant.issued?.previous_permission;
    // A grant only ever raises a permission, so what it restores is below what it gave; a
    // recorded "previous" at or above it was not written by gatepass, and ending the grant must
    // never leave more access than it gave.
    if (isPermission(previous) && permissionRank(previous) < permissionRank(permission)) {
      await github.addCollaborator(repository, login, previous);
      ctx.log(`${KIND}: ${login} is back to ${previous} on ${repository}`);
      return;
    }
    const removed = await github.removeCollaborator(repository, login);
    ctx.log(`${KIND}: ${removed ? 'removed' : 'already gone:'} ${login} from ${repository}`);
  },

  async list(ctx: ProviderContext): Promise<LiveAccess[]> {
    const github = requireGitHub(ctx, KIND);
    const { repository } = target(ctx);
    const [collaborators, invitations] = await Promise.all([
      github.directCollaborators(repository),
      github.invitations(repository),
    ]);
    return [
      ...collaborators.map((c) => ({
        key: c.login,
        description: `${repository}: ${c.login} (${c.permission ?? 'custom role'})`,
      })),
      ...invitations
        .filter((i) => i.invitee)
        .map((i) => ({
          key: i.invitee!.login,
          description: `${repository}: ${i.invitee!.login} (invited, ${i.permission})`,
        })),
    ];
  },

  async removeDrift(access: LiveAccess, ctx: ProviderContext): Promise<void> {
    const github = requireGitHub(ctx, KIND);
    await github.removeCollaborator(target(ctx).repository, access.key);
  },
};
