import type { Ineligible } from '../../core/offboarding.js';
import { lookUpIneligible } from './offboarding-facts.js';
import { ConfigurationError } from '../../core/errors.js';
import { formatProblem, type Problem } from '../../core/problem.js';
import { describeStep, planReconcile } from '../../core/reconcile-plan.js';
import { getProvider } from '../../providers/index.js';
import { detectDrift } from './drift.js';
import { targetChanges } from '../../core/target-change.js';
import { applyWritten, readState, type State } from './state.js';
import { runStep, safeMessage } from './steps.js';
import type { CrashPoint, ReconcileOptions, ReconcileResult, RunContext } from './types.js';

/**
 * Live grants whose resource changed its target since they were issued: reported, while the
 * grants still end on the target they recorded (the providers revoke from `issued` facts).
 */
function targetProblems(state: State): Problem[] {
  const out: Problem[] = [];
  for (const { grant, path } of state.grants) {
    const resource = state.policies.resources.get(grant.resource);
    if (resource) for (const p of targetChanges(grant, resource)) out.push({ file: path, ...p });
  }
  return out;
}

/** Thrown from the hook: never swallowed as a per-grant failure. */
class RunAborted extends Error {}

/**
 * Brings the real world in line with the grant files on the default branch, one step at a
 * time, re-planning from the committed state after each: verify → approve (or refuse), issue,
 * revoke or expire, archive. Every state change is written after its effect, in its own
 * commit with trailers, pushed before the next step. An issue is two-phase: an `issuing`
 * commit (holding what the provider observed before acting) is pushed before the provider is
 * called, so a run that dies after the effect leaves a marker the next run resumes from — it
 * re-issues (idempotently) or revokes, and never mistakes access it gave for access the person
 * already had.
 *
 * Everything it touches comes through ports (src/core/ports.ts): the grant history, the grant
 * writer and GitHub; the entries wire git and the API in, tests wire memory in.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileResult> {
  const { history, clock, log } = options;
  const maxPush = options.maxPushAttempts ?? 5;
  const result: ReconcileResult = {
    plan: [],
    events: [],
    failures: [],
    problems: [],
    drift: [],
    residue: [],
  };

  if (!options.dryRun) {
    if (!options.github) throw new ConfigurationError('reconcile needs a GitHub token');
    if (!options.writer) throw new ConfigurationError('reconcile needs a place to write grants');
    if (!(await options.writer.isClean()))
      throw new ConfigurationError(
        `the checkout at ${options.writer.workdir} has uncommitted changes; reconcile commits, so it needs a clean one`,
      );
    await options.writer.refresh();
  }
  let state = await readState(history, 'HEAD');
  const seenProblems = new Set<string>();
  const report = (problems: Problem[]) => {
    for (const p of problems) {
      const key = formatProblem(p);
      if (seenProblems.has(key)) continue;
      seenProblems.add(key);
      result.problems.push(p);
      log(`problem: ${key}`);
    }
  };
  const first = planReconcile(state.grants, state.policies, clock.now());
  result.plan = first.steps;
  report([...state.problems, ...first.problems, ...targetProblems(state)]);
  for (const s of first.steps) log(`plan: ${describeStep(s)}`);
  if (options.dryRun) return result;
  const github = options.github!;
  const writer = options.writer!;

  const logins = new Map<number, Promise<string | null>>();
  const ctx: RunContext = {
    options,
    history,
    writer,
    github,
    clock,
    log,
    providerFor: options.provider ?? getProvider,
    result,
    async hook(point: CrashPoint, grantId: string) {
      if (!options.hook) return;
      try {
        await options.hook(point, grantId);
      } catch (e) {
        throw new RunAborted(`run aborted at ${point} of ${grantId}: ${safeMessage(e)}`);
      }
    },
    loginOf(id: number) {
      let p = logins.get(id);
      if (!p) logins.set(id, (p = github.loginForId(id)));
      return p;
    },
    confirmed: new Set(),
    written: [],
  };

  // Offboarding (#15): who may no longer hold their grants, looked up once per run.
  let ineligible: Ineligible | undefined;
  if (options.offboarding)
    try {
      ineligible = await lookUpIneligible(
        state.grants.map((g) => g.grant),
        state.policies,
        { github, loginOf: (id) => ctx.loginOf(id), log },
      );
    } catch (e) {
      result.failures.push({ grant: 'offboarding', step: 'offboarding', message: safeMessage(e) });
    }

  const failed = new Set<string>();
  let conflicts = 0;
  // Each grant takes at most 4 steps (verify, issue, revoke, archive) plus re-plans after conflicts.
  const limit = state.grants.length * 6 + maxPush + 10;
  for (let i = 0; i < limit; i++) {
    const plan = planReconcile(state.grants, state.policies, clock.now(), ineligible);
    report([...state.problems, ...plan.problems]);
    const step = plan.steps.find((s) => !failed.has(s.grant.id));
    if (!step) break;
    let outcome: 'ok' | 'rejected';
    try {
      await ctx.hook('before-step', step.grant.id);
      log(describeStep(step));
      outcome = await runStep(ctx, step, state, plan.live);
    } catch (e) {
      if (e instanceof RunAborted) throw e;
      failed.add(step.grant.id);
      // Commits the step made before failing (an `issuing` marker) are on the branch.
      state = applyWritten(state, ctx.written.splice(0));
      const message = safeMessage(e);
      result.failures.push({ grant: step.grant.id, step: step.kind, message });
      log(`FAILED ${step.kind} ${step.grant.resource}/${step.grant.id}: ${message}`);
      // Whatever the failed step left in the work tree must not ride along with the next commit.
      await writer.discard();
      continue;
    }
    if (outcome === 'rejected') {
      conflicts += 1;
      log(
        `push rejected (the branch moved); re-fetching and re-planning (${conflicts}/${maxPush})`,
      );
      if (conflicts >= maxPush) {
        result.failures.push({
          grant: step.grant.id,
          step: 'push',
          message: `gave up after ${conflicts} push conflicts; the next run continues`,
        });
        break;
      }
      await writer.refresh();
      // Someone else changed the branch: only a read tells what.
      ctx.written.length = 0;
      state = await readState(history, 'HEAD');
    } else {
      // The step changed only what it wrote: the state follows without reading every grant again.
      state = applyWritten(state, ctx.written.splice(0));
    }
  }

  if (options.checkDrift ?? true) await detectDrift(ctx, state);
  return result;
}
