/** Pull requests, reviews and merges, the merge done with git plumbing on the bare repo. */
import { ownersOf } from '../../../src/core/codeowners.js';
import type { Actor, IssueRecord, PullRecord, ReviewRecord } from '../state.js';
import { emitIssueEvent, updateIssue } from './issues.js';
import { gitPerson } from './repos.js';
import {
  error,
  notFound,
  pageReply,
  requireActor,
  type Route,
  type RouteContext,
  type World,
} from '../world.js';

type Pull = IssueRecord & { pull: PullRecord };

const pullOf = (ctx: RouteContext): Pull | undefined =>
  ctx.world.state.pullByNumber(Number(ctx.params.pull_number));

const validation = (resource: string, field: string, code = 'invalid', message?: string) =>
  error(422, 'Validation Failed', [{ resource, field, code, ...(message ? { message } : {}) }]);

async function forkPoint(w: World, p: PullRecord): Promise<string> {
  return (await w.git.mergeBase(p.base_sha, p.head_sha)) ?? p.base_sha;
}

async function files(w: World, p: PullRecord) {
  return w.git.diff(await forkPoint(w, p), p.head_sha);
}

async function stats(w: World, i: Pull): Promise<Record<string, number>> {
  const f = await files(w, i.pull);
  const commits = await w.git.commitsBetween(await forkPoint(w, i.pull), i.pull.head_sha);
  return {
    commits: commits.length,
    additions: f.reduce((s, x) => s + x.additions, 0),
    deletions: f.reduce((s, x) => s + x.deletions, 0),
    changed_files: f.length,
    review_comments: 0,
  };
}

const fullPull = async (w: World, i: Pull) => w.shapes.pull(i, await stats(w, i));

/**
 * What GitHub does when a (non-draft) PR is opened: asks the code owners of its changed files
 * for a review, by the base branch's CODEOWNERS (`.github/`, the root or `docs/`, the first one
 * found; last matching line wins). The author is never asked. (GitHub also skips owners without
 * write access; the stand-in does not model that.)
 */
async function requestCodeOwners(w: World, p: PullRecord, author: string): Promise<void> {
  let text: string | null = null;
  for (const path of ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS']) {
    const e = await w.git.entry(p.base_sha, path);
    if (e) {
      text = (await w.git.readBlob(e.sha)).toString('utf8');
      break;
    }
  }
  if (text === null) return;
  for (const f of await w.git.diff(await w.git.mergeBase(p.base_sha, p.head_sha), p.head_sha))
    for (const owner of ownersOf(text, f.filename).map((o) => o.slice(1))) {
      if (owner.includes('/')) {
        const key = owner.toLowerCase();
        if (!p.requested_teams.includes(key)) p.requested_teams.push(key);
      } else if (
        owner.toLowerCase() !== author.toLowerCase() &&
        !p.requested_reviewers.includes(owner)
      )
        p.requested_reviewers.push(owner);
    }
}

const createPull: Route = async (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const head = String(ctx.body.head).replace(/^[^:]+:/, '');
  const base = String(ctx.body.base);
  const headSha = await w.git.resolveCommit(`refs/heads/${head}`);
  const baseSha = await w.git.resolveCommit(`refs/heads/${base}`);
  if (!headSha) return validation('PullRequest', 'head');
  if (!baseSha) return validation('PullRequest', 'base');
  const existing = [...w.state.issues.values()].find(
    (i) => i.pull && i.state === 'open' && i.pull.head === head && i.pull.base === base,
  );
  if (existing) {
    return validation(
      'PullRequest',
      'head',
      'custom',
      `A pull request already exists for ${w.owner}:${head}.`,
    );
  }
  if ((await w.git.commitsBetween(baseSha, headSha)).length === 0) {
    return validation('PullRequest', 'head', 'custom', `No commits between ${base} and ${head}`);
  }
  const now = w.state.timestamp();
  const issue: Pull = {
    number: w.state.issueNumber(),
    id: w.state.id(),
    title: String(ctx.body.title ?? head),
    body: ctx.body.body ?? null,
    user: actor.login,
    state: 'open',
    state_reason: null,
    labels: [],
    assignees: [],
    created_at: now,
    updated_at: now,
    closed_at: null,
    closed_by: null,
    pull: {
      id: w.state.id(),
      head,
      base,
      head_sha: headSha,
      base_sha: baseSha,
      draft: ctx.body.draft === true,
      merged: false,
      merged_at: null,
      merged_by: null,
      merge_commit_sha: null,
      requested_reviewers: [],
      requested_teams: [],
    },
  };
  if (!issue.pull!.draft) await requestCodeOwners(w, issue.pull!, actor.login);
  w.state.issues.set(issue.number, issue);
  emitIssueEvent(w, issue, 'opened', actor);
  return {
    status: 201,
    body: await fullPull(w, issue),
    headers: { location: `${w.url}/repos/${w.owner}/${w.repo}/pulls/${issue.number}` },
  };
};

const getPull: Route = async (ctx) => {
  const i = pullOf(ctx);
  return i ? { status: 200, body: await fullPull(ctx.world, i) } : notFound();
};

const listPulls: Route = (ctx) => {
  const w = ctx.world;
  const state = ctx.query.get('state') ?? 'open';
  const head = ctx.query.get('head')?.replace(/^[^:]+:/, '');
  const base = ctx.query.get('base');
  const items = [...w.state.issues.values()]
    .filter((i): i is Pull => i.pull !== undefined)
    .filter((i) => state === 'all' || i.state === state)
    .filter((i) => !head || i.pull.head === head)
    .filter((i) => !base || i.pull.base === base)
    .sort((a, b) => b.number - a.number);
  return pageReply(ctx, items, (i) => w.shapes.pullSimple(i));
};

const updatePull: Route = async (ctx) => {
  const actor = requireActor(ctx);
  const i = pullOf(ctx);
  if (!i) return notFound();
  if (typeof ctx.body.base === 'string') {
    const sha = await ctx.world.git.resolveCommit(`refs/heads/${ctx.body.base}`);
    if (!sha) return validation('PullRequest', 'base');
    i.pull.base = ctx.body.base;
    i.pull.base_sha = sha;
  }
  updateIssue(ctx.world, i, ctx.body, actor);
  return { status: 200, body: await fullPull(ctx.world, i) };
};

const listFiles: Route = async (ctx) => {
  const w = ctx.world;
  const i = pullOf(ctx);
  if (!i) return notFound();
  return pageReply(ctx, await files(w, i.pull), (f) => w.shapes.diffEntry(f));
};

const listCommits: Route = async (ctx) => {
  const w = ctx.world;
  const i = pullOf(ctx);
  if (!i) return notFound();
  const shas = await w.git.commitsBetween(await forkPoint(w, i.pull), i.pull.head_sha);
  const commits = [];
  for (const sha of shas) {
    const c = await w.git.commit(sha);
    if (c) commits.push(w.shapes.commit(c));
  }
  return pageReply(ctx, commits, (c) => c);
};

const reviewEvent = (w: World, i: Pull, r: ReviewRecord, action: string, actor: Actor) =>
  w.emit(
    'pull_request_review',
    {
      action,
      // Webhooks spell review states in lower case, unlike the REST API.
      review: { ...w.shapes.review(r), state: r.state.toLowerCase() },
      pull_request: w.shapes.pullSimple(i),
    },
    actor,
  );

const EVENT_STATE = {
  APPROVE: 'APPROVED',
  REQUEST_CHANGES: 'CHANGES_REQUESTED',
  COMMENT: 'COMMENTED',
} as const;

const createReview: Route = async (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const i = pullOf(ctx);
  if (!i) return notFound();
  const event = ctx.body.event as keyof typeof EVENT_STATE | undefined;
  const own = actor.login.toLowerCase() === i.user.toLowerCase();
  if (own && event === 'APPROVE') {
    return error(422, 'Unprocessable Entity', ['Review Can not approve your own pull request']);
  }
  if (own && event === 'REQUEST_CHANGES') {
    return error(422, 'Unprocessable Entity', [
      'Review Can not request changes on your own pull request',
    ]);
  }
  if ((event === 'REQUEST_CHANGES' || event === 'COMMENT') && !ctx.body.body) {
    return error(422, 'Unprocessable Entity', [`Review body is required for ${event}`]);
  }
  if (i.state !== 'open' && event && event !== 'COMMENT') {
    return error(422, 'Unprocessable Entity', ['Pull request is closed']);
  }
  const commit = ctx.body.commit_id ?? i.pull.head_sha;
  if (!(await w.git.resolveCommit(commit)))
    return error(422, 'Unprocessable Entity', ['commit_id is not part of the pull request']);
  const r: ReviewRecord = {
    id: w.state.id(),
    pull: i.number,
    user: actor.login,
    body: ctx.body.body ?? '',
    state: event ? EVENT_STATE[event] : 'PENDING',
    commit_id: commit,
    submitted_at: w.state.timestamp(),
  };
  w.state.reviews.set(r.id, r);
  i.pull.requested_reviewers = i.pull.requested_reviewers.filter(
    (l) => l.toLowerCase() !== actor.login.toLowerCase(),
  );
  if (r.state !== 'PENDING') reviewEvent(w, i, r, 'submitted', actor);
  return { status: 200, body: w.shapes.review(r) };
};

const listReviews: Route = (ctx) => {
  const w = ctx.world;
  const i = pullOf(ctx);
  if (!i) return notFound();
  const viewer = ctx.actor?.login.toLowerCase();
  const reviews = [...w.state.reviews.values()].filter(
    (r) => r.pull === i.number && (r.state !== 'PENDING' || r.user.toLowerCase() === viewer),
  );
  return pageReply(ctx, reviews, (r) => w.shapes.review(r));
};

const reviewOf = (ctx: RouteContext): { i: Pull; r: ReviewRecord } | undefined => {
  const i = pullOf(ctx);
  const r = ctx.world.state.reviews.get(Number(ctx.params.review_id));
  return i && r && r.pull === i.number ? { i, r } : undefined;
};

const getReview: Route = (ctx) => {
  const found = reviewOf(ctx);
  return found ? { status: 200, body: ctx.world.shapes.review(found.r) } : notFound();
};

const dismissReview: Route = (ctx) => {
  const actor = requireActor(ctx);
  const found = reviewOf(ctx);
  if (!found) return notFound();
  const { i, r } = found;
  if (r.state !== 'APPROVED' && r.state !== 'CHANGES_REQUESTED') {
    return error(422, `Can not dismiss a ${r.state.toLowerCase()} pull request review`);
  }
  r.state = 'DISMISSED';
  r.body = String(ctx.body.message ?? r.body);
  reviewEvent(ctx.world, i, r, 'dismissed', actor);
  return { status: 200, body: ctx.world.shapes.review(r) };
};

const requestReviewers: Route = (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const i = pullOf(ctx);
  if (!i) return notFound();
  const users = (ctx.body.reviewers ?? []) as string[];
  const teams = (ctx.body.team_reviewers ?? []) as string[];
  if (users.some((u) => u.toLowerCase() === i.user.toLowerCase())) {
    return error(422, 'Review cannot be requested from pull request author.');
  }
  for (const u of users) {
    if (!w.state.user(u)) return error(422, 'Reviews may only be requested from collaborators.');
  }
  for (const u of users) {
    if (!i.pull.requested_reviewers.includes(u)) i.pull.requested_reviewers.push(u);
    emitIssueEvent(w, i, 'review_requested', actor, { requested_reviewer: w.shapes.user(u) });
  }
  for (const t of teams) {
    const key = `${w.owner}/${t}`;
    if (!i.pull.requested_teams.includes(key)) i.pull.requested_teams.push(key);
    emitIssueEvent(w, i, 'review_requested', actor, { requested_team: w.shapes.teamSimple(key) });
  }
  return { status: 201, body: w.shapes.pullSimple(i) };
};

const removeRequestedReviewers: Route = (ctx) => {
  requireActor(ctx);
  const i = pullOf(ctx);
  if (!i) return notFound();
  const users = ((ctx.body.reviewers ?? []) as string[]).map((u) => u.toLowerCase());
  const teams = ((ctx.body.team_reviewers ?? []) as string[]).map((t) => `${ctx.world.owner}/${t}`);
  i.pull.requested_reviewers = i.pull.requested_reviewers.filter(
    (u) => !users.includes(u.toLowerCase()),
  );
  i.pull.requested_teams = i.pull.requested_teams.filter((t) => !teams.includes(t));
  return { status: 200, body: ctx.world.shapes.pullSimple(i) };
};

const listRequestedReviewers: Route = (ctx) => {
  const i = pullOf(ctx);
  if (!i) return notFound();
  return {
    status: 200,
    body: {
      users: i.pull.requested_reviewers.map((u) => ctx.world.shapes.user(u)),
      teams: i.pull.requested_teams.map((t) => ctx.world.shapes.teamSimple(t)),
    },
  };
};

const checkMerged: Route = (ctx) => {
  const i = pullOf(ctx);
  return i?.pull.merged ? { status: 204 } : notFound();
};

/**
 * Merges as GitHub does: refuses when the head moved past `sha` (409) or the branches
 * conflict (405); squash makes one commit on the base whose message is title + message.
 */
const mergePull: Route = async (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const i = pullOf(ctx);
  if (!i) return notFound();
  const p = i.pull;
  if (i.state !== 'open' || p.merged) return error(405, 'Pull Request is not mergeable');
  if (ctx.body?.sha && ctx.body.sha !== p.head_sha) {
    return error(409, 'Head branch was modified. Review and try the merge again.');
  }
  const method: 'merge' | 'squash' | 'rebase' = ctx.body?.merge_method ?? 'merge';
  const person = gitPerson(actor);
  const commits = await w.git.commitsBetween(await forkPoint(w, p), p.head_sha);
  for (let attempt = 0; attempt < 5; attempt++) {
    const baseSha = await w.git.resolveCommit(`refs/heads/${p.base}`);
    if (!baseSha) return error(405, 'Base branch is gone');
    const tree = await w.git.mergeTree(baseSha, p.head_sha);
    if (!tree) return error(405, 'Merge conflict');
    let sha: string;
    if (method === 'squash') {
      const title = ctx.body?.commit_title ?? `${i.title} (#${i.number})`;
      let message: string | undefined = ctx.body?.commit_message;
      if (message === undefined) {
        const lines = [];
        for (const c of commits) lines.push(`* ${(await w.git.commit(c))?.message.trim() ?? c}`);
        message = lines.join('\n\n');
      }
      const author = (await w.git.commit(p.head_sha))?.author ?? person;
      const text = message ? `${title}\n\n${message}\n` : `${title}\n`;
      sha = await w.git.commitTree(
        tree,
        [baseSha],
        text,
        { name: author.name, email: author.email },
        person,
      );
    } else if (method === 'merge') {
      const title =
        ctx.body?.commit_title ?? `Merge pull request #${i.number} from ${w.owner}/${p.head}`;
      const message = ctx.body?.commit_message ?? i.title;
      sha = await w.git.commitTree(tree, [baseSha, p.head_sha], `${title}\n\n${message}\n`, person);
    } else {
      if (!(await w.git.isAncestor(baseSha, p.head_sha))) {
        return error(
          405,
          'This branch can not be rebased (the stand-in rebases only fast-forwards)',
        );
      }
      sha = baseSha;
      for (const c of commits) {
        const info = await w.git.commit(c);
        if (!info) continue;
        sha = await w.git.commitTree(info.tree, [sha], info.message, info.author, person);
      }
    }
    if (!(await w.git.updateRef(`refs/heads/${p.base}`, sha, baseSha))) continue;
    const now = w.state.timestamp();
    p.merged = true;
    p.merged_at = now;
    p.merged_by = actor.login;
    p.merge_commit_sha = sha;
    p.base_sha = baseSha;
    i.state = 'closed';
    i.closed_at = now;
    i.updated_at = now;
    i.closed_by = actor.login;
    await w.syncPushes(actor);
    emitIssueEvent(w, i, 'closed', actor);
    return {
      status: 200,
      body: { sha, merged: true, message: 'Pull Request successfully merged' },
    };
  }
  return error(409, 'Base branch was modified. Review and try the merge again.');
};

export const pullRoutes: Record<string, Route> = {
  'pulls/create': createPull,
  'pulls/get': getPull,
  'pulls/list': listPulls,
  'pulls/update': updatePull,
  'pulls/list-files': listFiles,
  'pulls/list-commits': listCommits,
  'pulls/list-reviews': listReviews,
  'pulls/create-review': createReview,
  'pulls/get-review': getReview,
  'pulls/dismiss-review': dismissReview,
  'pulls/request-reviewers': requestReviewers,
  'pulls/remove-requested-reviewers': removeRequestedReviewers,
  'pulls/list-requested-reviewers': listRequestedReviewers,
  'pulls/check-if-merged': checkMerged,
  'pulls/merge': mergePull,
};
