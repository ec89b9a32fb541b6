/** Users, teams, collaborators and invitations. */
import type { UserRecord } from '../state.js';
import { notFound, pageReply, requireActor, type Route, type RouteContext } from '../world.js';

const teamOf = (ctx: RouteContext) =>
  ctx.world.state.team(ctx.params.org ?? '', ctx.params.team_slug ?? '');

const userOf = (ctx: RouteContext): UserRecord | undefined =>
  ctx.world.state.user(ctx.params.username ?? '');

const getTeam: Route = (ctx) => {
  const t = teamOf(ctx);
  return t ? { status: 200, body: ctx.world.shapes.team(t) } : notFound();
};

const listMembers: Route = (ctx) => {
  const t = teamOf(ctx);
  if (!t) return notFound();
  const role = ctx.query.get('role') ?? 'all';
  const logins = [...t.members.entries()]
    .filter(([, m]) => m.state === 'active' && (role === 'all' || m.role === role))
    .map(([login]) => login);
  return pageReply(ctx, logins, (l) => ctx.world.shapes.user(l));
};

const membershipBody = (ctx: RouteContext, m: { role: string; state: string }) => ({
  url: `${ctx.world.url}/teams/${teamOf(ctx)?.id}/memberships/${ctx.params.username}`,
  role: m.role,
  state: m.state,
});

const getMembership: Route = (ctx) => {
  const m = teamOf(ctx)?.members.get((ctx.params.username ?? '').toLowerCase());
  return m ? { status: 200, body: membershipBody(ctx, m) } : notFound();
};

const putMembership: Route = (ctx) => {
  requireActor(ctx);
  const t = teamOf(ctx);
  const user = userOf(ctx);
  if (!t || !user) return notFound();
  const key = user.login.toLowerCase();
  const m = t.members.get(key) ?? { role: 'member' as const, state: 'active' as const };
  if (ctx.body?.role === 'maintainer' || ctx.body?.role === 'member') m.role = ctx.body.role;
  t.members.set(key, m);
  return { status: 200, body: membershipBody(ctx, m) };
};

const deleteMembership: Route = (ctx) => {
  requireActor(ctx);
  const t = teamOf(ctx);
  if (!t || !t.members.delete((ctx.params.username ?? '').toLowerCase())) return notFound();
  return { status: 204 };
};

const listCollaborators: Route = (ctx) => {
  const items = [...ctx.world.state.collaborators.entries()];
  return pageReply(ctx, items, ([login, perm]) => ctx.world.shapes.collaborator(login, perm));
};

const checkCollaborator: Route = (ctx) =>
  ctx.world.state.collaborators.has((ctx.params.username ?? '').toLowerCase())
    ? { status: 204 }
    : notFound();

/** New people get an invitation (201); existing collaborators a new permission (204). */
const addCollaborator: Route = (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const user = userOf(ctx);
  if (!user) return notFound();
  const key = user.login.toLowerCase();
  const permission: string = ctx.body?.permission ?? 'push';
  if (w.state.collaborators.has(key)) {
    w.state.collaborators.set(key, permission);
    return { status: 204 };
  }
  let inv = [...w.state.invitations.values()].find((i) => i.invitee.toLowerCase() === key);
  if (inv) inv.permission = permission;
  else {
    inv = {
      id: w.state.id(),
      invitee: user.login,
      inviter: actor.login,
      permission,
      created_at: w.state.timestamp(),
    };
    w.state.invitations.set(inv.id, inv);
  }
  return { status: 201, body: w.shapes.invitation(inv) };
};

const removeCollaborator: Route = (ctx) => {
  requireActor(ctx);
  // GitHub answers 204 whether or not the person was a collaborator.
  ctx.world.state.collaborators.delete((ctx.params.username ?? '').toLowerCase());
  return { status: 204 };
};

const permissionLevel: Route = (ctx) => {
  const user = userOf(ctx);
  if (!user) return notFound();
  const perm = ctx.world.state.collaborators.get(user.login.toLowerCase()) ?? null;
  return { status: 200, body: ctx.world.shapes.collaboratorPermission(user.login, perm) };
};

const listInvitations: Route = (ctx) =>
  pageReply(ctx, [...ctx.world.state.invitations.values()], (i) => ctx.world.shapes.invitation(i));

const deleteInvitation: Route = (ctx) => {
  requireActor(ctx);
  return ctx.world.state.invitations.delete(Number(ctx.params.invitation_id))
    ? { status: 204 }
    : notFound();
};

const acceptInvitation: Route = (ctx) => {
  const actor = requireActor(ctx);
  const inv = ctx.world.state.invitations.get(Number(ctx.params.invitation_id));
  if (!inv || inv.invitee.toLowerCase() !== actor.login.toLowerCase()) return notFound();
  ctx.world.state.invitations.delete(inv.id);
  ctx.world.state.collaborators.set(actor.login.toLowerCase(), inv.permission);
  return { status: 204 };
};

const getUser: Route = (ctx) => {
  const user = userOf(ctx);
  return user ? { status: 200, body: ctx.world.shapes.publicUser(user) } : notFound();
};

const getUserById: Route = (ctx) => {
  const user = ctx.world.state.userById(Number(ctx.params.account_id));
  return user ? { status: 200, body: ctx.world.shapes.publicUser(user) } : notFound();
};

const listKeys: Route = (ctx) => {
  const user = userOf(ctx);
  if (!user) return notFound();
  return pageReply(ctx, user.keys, (k) => ({ id: k.id, key: k.key }));
};

export const peopleRoutes: Record<string, Route> = {
  'teams/get-by-name': getTeam,
  'teams/list-members-in-org': listMembers,
  'teams/get-membership-for-user-in-org': getMembership,
  'teams/add-or-update-membership-for-user-in-org': putMembership,
  'teams/remove-membership-for-user-in-org': deleteMembership,
  'repos/list-collaborators': listCollaborators,
  'repos/check-collaborator': checkCollaborator,
  'repos/add-collaborator': addCollaborator,
  'repos/remove-collaborator': removeCollaborator,
  'repos/get-collaborator-permission-level': permissionLevel,
  'repos/list-invitations': listInvitations,
  'repos/delete-invitation': deleteInvitation,
  'repos/accept-invitation-for-authenticated-user': acceptInvitation,
  'users/get-by-username': getUser,
  'users/get-by-id': getUserById,
  'users/list-public-keys-for-user': listKeys,
};
