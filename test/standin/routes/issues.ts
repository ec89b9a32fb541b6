/** Issues, comments and labels, with the webhooks GitHub sends for each change. */
import type { Actor, CommentRecord, IssueRecord } from '../state.js';
import {
  error,
  notFound,
  pageReply,
  requireActor,
  type Reply,
  type Route,
  type RouteContext,
  type World,
} from '../world.js';

const issueOf = (ctx: RouteContext): IssueRecord | undefined =>
  ctx.world.state.issues.get(Number(ctx.params.issue_number));

/** The event for a change to an issue, or to the pull request it is. */
export function emitIssueEvent(
  w: World,
  issue: IssueRecord,
  action: string,
  actor: Actor,
  extra: Record<string, unknown> = {},
): void {
  if (issue.pull) {
    w.emit(
      'pull_request',
      {
        action,
        number: issue.number,
        pull_request: w.shapes.pull(
          issue as IssueRecord & { pull: NonNullable<IssueRecord['pull']> },
        ),
        ...extra,
      },
      actor,
    );
  } else {
    w.emit('issues', { action, issue: w.shapes.issue(issue), ...extra }, actor);
  }
}

const labelNames = (labels: unknown): string[] =>
  Array.isArray(labels)
    ? labels
        .map((l) => (typeof l === 'string' ? l : (l as { name?: string })?.name))
        .filter((n): n is string => typeof n === 'string')
    : [];

const createIssue: Route = (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const now = w.state.timestamp();
  const issue: IssueRecord = {
    number: w.state.issueNumber(),
    id: w.state.id(),
    title: String(ctx.body.title),
    body: ctx.body.body ?? null,
    user: actor.login,
    state: 'open',
    state_reason: null,
    labels: labelNames(ctx.body.labels).map((n) => w.state.label(n).name),
    assignees: (ctx.body.assignees ?? []) as string[],
    created_at: now,
    updated_at: now,
    closed_at: null,
    closed_by: null,
  };
  w.state.issues.set(issue.number, issue);
  emitIssueEvent(w, issue, 'opened', actor);
  return {
    status: 201,
    body: w.shapes.issue(issue),
    headers: { location: `${w.url}/repos/${w.owner}/${w.repo}/issues/${issue.number}` },
  };
};

const getIssue: Route = (ctx) => {
  const issue = issueOf(ctx);
  return issue ? { status: 200, body: ctx.world.shapes.issue(issue) } : notFound();
};

const listIssues: Route = (ctx) => {
  const w = ctx.world;
  const state = ctx.query.get('state') ?? 'open';
  const labels = (ctx.query.get('labels') ?? '').split(',').filter(Boolean);
  const items = [...w.state.issues.values()]
    .filter((i) => state === 'all' || i.state === state)
    .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l.toLowerCase())))
    .sort((a, b) => b.number - a.number);
  return pageReply(ctx, items, (i) => w.shapes.issue(i));
};

/** Applies an issue update (title, body, state, labels) and sends its events. */
export function updateIssue(
  w: World,
  issue: IssueRecord,
  body: Record<string, unknown>,
  actor: Actor,
): void {
  const changes: Record<string, { from: unknown }> = {};
  if (typeof body.title === 'string' && body.title !== issue.title) {
    changes.title = { from: issue.title };
    issue.title = body.title;
  }
  if (body.body !== undefined && body.body !== issue.body) {
    changes.body = { from: issue.body ?? '' };
    issue.body = (body.body as string | null) ?? null;
  }
  if (body.labels !== undefined)
    issue.labels = labelNames(body.labels).map((n) => w.state.label(n).name);
  if (Array.isArray(body.assignees)) issue.assignees = body.assignees as string[];
  issue.updated_at = w.state.timestamp();
  if (Object.keys(changes).length) emitIssueEvent(w, issue, 'edited', actor, { changes });
  if (body.state === 'closed' && issue.state === 'open') {
    issue.state = 'closed';
    issue.state_reason = issue.pull
      ? null
      : ((body.state_reason as 'completed' | 'not_planned') ?? 'completed');
    issue.closed_at = issue.updated_at;
    issue.closed_by = actor.login;
    emitIssueEvent(w, issue, 'closed', actor);
  } else if (body.state === 'open' && issue.state === 'closed') {
    if (issue.pull?.merged) return;
    issue.state = 'open';
    issue.state_reason = issue.pull ? null : 'reopened';
    issue.closed_at = null;
    issue.closed_by = null;
    emitIssueEvent(w, issue, 'reopened', actor);
  }
}

const patchIssue: Route = (ctx) => {
  const actor = requireActor(ctx);
  const issue = issueOf(ctx);
  if (!issue) return notFound();
  updateIssue(ctx.world, issue, ctx.body, actor);
  return { status: 200, body: ctx.world.shapes.issue(issue) };
};

const listComments: Route = (ctx) => {
  const w = ctx.world;
  const issue = issueOf(ctx);
  if (!issue) return notFound();
  const comments = [...w.state.comments.values()].filter((c) => c.issue === issue.number);
  return pageReply(ctx, comments, (c) => w.shapes.comment(c));
};

const listRepoComments: Route = (ctx) =>
  pageReply(ctx, [...ctx.world.state.comments.values()], (c) => ctx.world.shapes.comment(c));

const commentEvent = (w: World, c: CommentRecord, action: string, actor: Actor, extra = {}) => {
  const issue = w.state.issues.get(c.issue);
  if (!issue) return;
  w.emit(
    'issue_comment',
    { action, issue: w.shapes.issue(issue), comment: w.shapes.comment(c), ...extra },
    actor,
  );
};

const createComment: Route = (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const issue = issueOf(ctx);
  if (!issue) return notFound();
  const now = w.state.timestamp();
  const c: CommentRecord = {
    id: w.state.id(),
    issue: issue.number,
    user: actor.login,
    body: String(ctx.body.body),
    created_at: now,
    updated_at: now,
  };
  w.state.comments.set(c.id, c);
  issue.updated_at = now;
  commentEvent(w, c, 'created', actor);
  return {
    status: 201,
    body: w.shapes.comment(c),
    headers: { location: `${w.url}/repos/${w.owner}/${w.repo}/issues/comments/${c.id}` },
  };
};

const commentOf = (ctx: RouteContext): CommentRecord | undefined =>
  ctx.world.state.comments.get(Number(ctx.params.comment_id));

const getComment: Route = (ctx) => {
  const c = commentOf(ctx);
  return c ? { status: 200, body: ctx.world.shapes.comment(c) } : notFound();
};

const updateComment: Route = (ctx) => {
  const actor = requireActor(ctx);
  const c = commentOf(ctx);
  if (!c) return notFound();
  const from = c.body;
  c.body = String(ctx.body.body);
  c.updated_at = ctx.world.state.timestamp();
  commentEvent(ctx.world, c, 'edited', actor, { changes: { body: { from } } });
  return { status: 200, body: ctx.world.shapes.comment(c) };
};

const deleteComment: Route = (ctx) => {
  const actor = requireActor(ctx);
  const c = commentOf(ctx);
  if (!c) return notFound();
  ctx.world.state.comments.delete(c.id);
  commentEvent(ctx.world, c, 'deleted', actor);
  return { status: 204 };
};

const issueLabels = (ctx: RouteContext, issue: IssueRecord): Reply => ({
  status: 200,
  body: issue.labels.map((n) => ctx.world.shapes.label(ctx.world.state.label(n))),
});

const labelEvents = (
  w: World,
  issue: IssueRecord,
  names: string[],
  action: string,
  actor: Actor,
) => {
  for (const n of names) {
    emitIssueEvent(w, issue, action, actor, { label: w.shapes.label(w.state.label(n)) });
  }
};

const addLabels: Route = (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const issue = issueOf(ctx);
  if (!issue) return notFound();
  const body = ctx.body;
  const names = labelNames(Array.isArray(body) ? body : body?.labels);
  const added = names.filter((n) => !issue.labels.some((l) => l.toLowerCase() === n.toLowerCase()));
  issue.labels.push(...added.map((n) => w.state.label(n).name));
  labelEvents(w, issue, added, 'labeled', actor);
  return issueLabels(ctx, issue);
};

const setLabels: Route = (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const issue = issueOf(ctx);
  if (!issue) return notFound();
  const body = ctx.body;
  const names = labelNames(Array.isArray(body) ? body : body?.labels).map(
    (n) => w.state.label(n).name,
  );
  const removed = issue.labels.filter((l) => !names.includes(l));
  const added = names.filter((n) => !issue.labels.includes(n));
  issue.labels = names;
  labelEvents(w, issue, removed, 'unlabeled', actor);
  labelEvents(w, issue, added, 'labeled', actor);
  return issueLabels(ctx, issue);
};

const removeLabel: Route = (ctx) => {
  const actor = requireActor(ctx);
  const issue = issueOf(ctx);
  if (!issue) return notFound();
  const name = ctx.params.name ?? '';
  const at = issue.labels.findIndex((l) => l.toLowerCase() === name.toLowerCase());
  if (at < 0) return error(404, 'Label does not exist');
  const [removed = name] = issue.labels.splice(at, 1);
  labelEvents(ctx.world, issue, [removed], 'unlabeled', actor);
  return issueLabels(ctx, issue);
};

const removeAllLabels: Route = (ctx) => {
  const actor = requireActor(ctx);
  const issue = issueOf(ctx);
  if (!issue) return notFound();
  const removed = issue.labels;
  issue.labels = [];
  labelEvents(ctx.world, issue, removed, 'unlabeled', actor);
  return { status: 204 };
};

const listRepoLabels: Route = (ctx) =>
  pageReply(ctx, [...ctx.world.state.labels.values()], (l) => ctx.world.shapes.label(l));

const createLabel: Route = (ctx) => {
  requireActor(ctx);
  const w = ctx.world;
  if (w.state.labels.has(String(ctx.body.name).toLowerCase())) {
    return error(422, 'Validation Failed', [
      { resource: 'Label', code: 'already_exists', field: 'name' },
    ]);
  }
  const l = w.state.label(String(ctx.body.name));
  if (ctx.body.color) l.color = String(ctx.body.color);
  if (ctx.body.description !== undefined) l.description = ctx.body.description;
  return { status: 201, body: w.shapes.label(l) };
};

const getLabel: Route = (ctx) => {
  const l = ctx.world.state.labels.get((ctx.params.name ?? '').toLowerCase());
  return l ? { status: 200, body: ctx.world.shapes.label(l) } : notFound();
};

export const issueRoutes: Record<string, Route> = {
  'issues/create': createIssue,
  'issues/get': getIssue,
  'issues/update': patchIssue,
  'issues/list-for-repo': listIssues,
  'issues/list-comments': listComments,
  'issues/list-comments-for-repo': listRepoComments,
  'issues/create-comment': createComment,
  'issues/get-comment': getComment,
  'issues/update-comment': updateComment,
  'issues/delete-comment': deleteComment,
  'issues/list-labels-on-issue': (ctx) => {
    const issue = issueOf(ctx);
    return issue ? issueLabels(ctx, issue) : notFound();
  },
  'issues/add-labels': addLabels,
  'issues/set-labels': setLabels,
  'issues/remove-label': removeLabel,
  'issues/remove-all-labels': removeAllLabels,
  'issues/list-labels-for-repo': listRepoLabels,
  'issues/create-label': createLabel,
  'issues/get-label': getLabel,
};
