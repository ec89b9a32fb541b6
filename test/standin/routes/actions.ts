/** GitHub Actions: starting a workflow (the app's deadline timer and offboarding). */
import { error, notFound, requireActor, type Route } from '../world.js';

/** A `workflow_dispatch` request the stand-in accepted (GitHub would queue a run). */
export interface DispatchRecord {
  workflow: string;
  ref: string;
  inputs: Record<string, unknown>;
  actor: string;
  at: string;
}

/**
 * `POST …/actions/workflows/{workflow_id}/dispatches`: GitHub answers 204 and queues a run when
 * the workflow file exists on the ref; an unknown workflow is 404, a ref that is not a branch
 * 422. The stand-in records the dispatch (tests and the bench run the action for it).
 */
const dispatch =
  (records: DispatchRecord[], onDispatch?: (d: DispatchRecord) => void): Route =>
  async (ctx) => {
    const actor = requireActor(ctx);
    const workflow = ctx.params.workflow_id ?? '';
    const ref = String(ctx.body?.ref ?? '').replace(/^refs\/heads\//, '');
    const tip = (await ctx.world.git.refs('refs/heads/')).find(
      (r) => r.ref === `refs/heads/${ref}`,
    );
    if (!tip) return error(422, `No ref found for: ${ref}`);
    const file = await ctx.world.git.entry(tip.sha, `.github/workflows/${workflow}`);
    if (file === null) return notFound();
    const d: DispatchRecord = {
      workflow,
      ref,
      inputs: (ctx.body?.inputs ?? {}) as Record<string, unknown>,
      actor: actor.login,
      at: ctx.world.state.timestamp(),
    };
    records.push(d);
    onDispatch?.(d);
    return { status: 204 };
  };

export const actionRoutes = (
  records: DispatchRecord[],
  onDispatch?: (d: DispatchRecord) => void,
): Record<string, Route> => ({
  'actions/create-workflow-dispatch': dispatch(records, onDispatch),
});
