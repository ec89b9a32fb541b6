/** Check runs: made and updated by the app, listed per commit, re-run on request. */
import type { CheckRunRecord } from '../state.js';
import { commitFor } from './repos.js';
import {
  error,
  notFound,
  paginate,
  requireActor,
  type Route,
  type RouteContext,
} from '../world.js';

const runOf = (ctx: RouteContext): CheckRunRecord | undefined =>
  ctx.world.state.checkRuns.get(Number(ctx.params.check_run_id));

function apply(run: CheckRunRecord, body: Record<string, unknown>, now: string): void {
  if (typeof body.name === 'string') run.name = body.name;
  if (typeof body.status === 'string') run.status = body.status as CheckRunRecord['status'];
  if (typeof body.details_url === 'string') run.details_url = body.details_url;
  if (typeof body.external_id === 'string') run.external_id = body.external_id;
  if (typeof body.started_at === 'string') run.started_at = body.started_at;
  if (typeof body.conclusion === 'string') {
    run.conclusion = body.conclusion;
    run.status = 'completed';
  }
  if (typeof body.completed_at === 'string') run.completed_at = body.completed_at;
  if (run.status === 'completed' && !run.completed_at) run.completed_at = now;
  if (run.status === 'in_progress' && !run.started_at) run.started_at = now;
  const output = body.output as Record<string, string | undefined> | undefined;
  if (output) {
    run.output = {
      title: output.title ?? run.output.title,
      summary: output.summary ?? run.output.summary,
      text: output.text ?? run.output.text,
    };
  }
}

const createRun: Route = async (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  if (actor.type !== 'Bot') return error(403, 'You must authenticate via a GitHub App.');
  const sha = await w.git.resolveCommit(String(ctx.body.head_sha));
  if (!sha || sha !== ctx.body.head_sha)
    return error(422, `No commit found for SHA: ${ctx.body.head_sha}`);
  const now = w.state.timestamp();
  const run: CheckRunRecord = {
    id: w.state.id(),
    name: String(ctx.body.name),
    head_sha: sha,
    status: 'queued',
    conclusion: null,
    started_at: now,
    completed_at: null,
    output: { title: null, summary: null, text: null },
    details_url: null,
    external_id: null,
    app_slug: w.app.slug,
  };
  apply(run, ctx.body, now);
  w.state.checkRuns.set(run.id, run);
  return { status: 201, body: w.shapes.checkRun(run) };
};

const updateRun: Route = (ctx) => {
  const actor = requireActor(ctx);
  if (actor.type !== 'Bot') return error(403, 'You must authenticate via a GitHub App.');
  const run = runOf(ctx);
  if (!run) return notFound();
  apply(run, ctx.body, ctx.world.state.timestamp());
  return { status: 200, body: ctx.world.shapes.checkRun(run) };
};

const getRun: Route = (ctx) => {
  const run = runOf(ctx);
  return run ? { status: 200, body: ctx.world.shapes.checkRun(run) } : notFound();
};

const listForRef: Route = async (ctx) => {
  const w = ctx.world;
  const sha = await commitFor(w, ctx.params.ref ?? '');
  const name = ctx.query.get('check_name');
  const status = ctx.query.get('status');
  let runs = [...w.state.checkRuns.values()]
    .filter((r) => r.head_sha === sha)
    .filter((r) => !name || r.name === name)
    .filter((r) => !status || r.status === status)
    .sort((a, b) => b.id - a.id);
  if ((ctx.query.get('filter') ?? 'latest') === 'latest') {
    const seen = new Set<string>();
    runs = runs.filter((r) => !seen.has(r.name) && seen.add(r.name));
  }
  const { page, link } = paginate(ctx, runs);
  return {
    status: 200,
    body: { total_count: runs.length, check_runs: page.map((r) => w.shapes.checkRun(r)) },
    ...(link ? { headers: { link } } : {}),
  };
};

const rerequest: Route = (ctx) => {
  const actor = requireActor(ctx);
  const run = runOf(ctx);
  if (!run) return notFound();
  ctx.world.emit(
    'check_run',
    { action: 'rerequested', check_run: ctx.world.shapes.checkRun(run) },
    actor,
  );
  return { status: 201, body: {} };
};

export const checkRoutes: Record<string, Route> = {
  'checks/create': createRun,
  'checks/update': updateRun,
  'checks/get': getRun,
  'checks/list-for-ref': listForRef,
  'checks/rerequest-run': rerequest,
};
