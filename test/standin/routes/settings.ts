/**
 * Repository settings `gatepass doctor` reads: environments (their branch policy, secret names,
 * variables), repository variables, rulesets and workflows. Tests set them up in the state as
 * an administrator would in GitHub's settings pages.
 */
import { error, notFound, pageReply, requireActor, type Route } from '../world.js';

const env = (ctx: Parameters<Route>[0]) =>
  ctx.world.state.environments.get(ctx.params.environment_name ?? '');

const getEnvironment: Route = (ctx) => {
  requireActor(ctx);
  const e = env(ctx);
  return e ? { status: 200, body: ctx.world.shapes.environment(e) } : notFound();
};

const listBranchPolicies: Route = (ctx) => {
  requireActor(ctx);
  const e = env(ctx);
  if (!e) return notFound();
  if (!Array.isArray(e.branches))
    return error(404, 'Custom branch policies are not enabled for this environment');
  const policies = e.branches.map((name, i) => ({
    id: e.id * 100 + i,
    node_id: `MDE2OkdhdGVCcmFuY2hQb2xpY3k${e.id * 100 + i}`,
    name,
    type: 'branch',
  }));
  return { status: 200, body: { total_count: policies.length, branch_policies: policies } };
};

const listEnvironmentSecrets: Route = (ctx) => {
  requireActor(ctx);
  const e = env(ctx);
  if (!e) return notFound();
  const secrets = [...e.secrets].sort().map((name) => ({
    name,
    created_at: e.created_at,
    updated_at: e.created_at,
  }));
  return { status: 200, body: { total_count: secrets.length, secrets } };
};

const variable = (name: string, value: string, at: string) => ({
  name,
  value,
  created_at: at,
  updated_at: at,
});

const getRepoVariable: Route = (ctx) => {
  requireActor(ctx);
  const v = ctx.world.state.variables.get(ctx.params.name ?? '');
  return v === undefined
    ? notFound()
    : { status: 200, body: variable(ctx.params.name ?? '', v, '2020-01-01T00:00:00Z') };
};

const getEnvironmentVariable: Route = (ctx) => {
  requireActor(ctx);
  const e = env(ctx);
  const v = e?.variables.get(ctx.params.name ?? '');
  return e && v !== undefined
    ? { status: 200, body: variable(ctx.params.name ?? '', v, e.created_at) }
    : notFound();
};

const listRulesets: Route = (ctx) => {
  requireActor(ctx);
  // The list leaves out rules and bypass actors: read each ruleset for them, as on GitHub.
  return pageReply(ctx, [...ctx.world.state.rulesets.values()], (r) => {
    const full = ctx.world.shapes.ruleset(r);
    delete full.rules;
    delete full.bypass_actors;
    delete full.conditions;
    return full;
  });
};

const getRuleset: Route = (ctx) => {
  requireActor(ctx);
  const r = ctx.world.state.rulesets.get(Number(ctx.params.ruleset_id));
  return r ? { status: 200, body: ctx.world.shapes.ruleset(r) } : notFound();
};

const getWorkflow: Route = (ctx) => {
  requireActor(ctx);
  const id = ctx.params.workflow_id ?? '';
  const wf = [...ctx.world.state.workflows.entries()].find(
    ([file, w]) => file === id || String(w.id) === id,
  )?.[1];
  return wf ? { status: 200, body: ctx.world.shapes.workflow(wf) } : notFound();
};

export const settingsRoutes: Record<string, Route> = {
  'repos/get-environment': getEnvironment,
  'repos/list-deployment-branch-policies': listBranchPolicies,
  'actions/list-environment-secrets': listEnvironmentSecrets,
  'actions/get-repo-variable': getRepoVariable,
  'actions/get-environment-variable': getEnvironmentVariable,
  'repos/get-repo-rulesets': listRulesets,
  'repos/get-repo-ruleset': getRuleset,
  'actions/get-workflow': getWorkflow,
};
