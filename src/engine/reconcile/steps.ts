import { lateness } from '../../core/deadlines.js';
import { ConfigurationError } from '../../core/errors.js';
import type { Grant } from '../../core/grant.js';
import { transition } from '../../core/grant-lifecycle.js';
import type { PolicySet, Resource } from '../../core/policy.js';
import type { GitHubPort } from '../../core/ports.js';
import { ISSUE_STARTED_AT, type Step } from '../../core/reconcile-plan.js';
import { RESIDUE_FACT } from '../../core/residue.js';
import { archivePath } from '../../core/repo-layout.js';
import { redactTokens } from '../../core/redact.js';
import { StepReads, type ProviderContext } from '../../providers/provider.js';
import { approvedAt, confirmApproval } from './confirm-approval.js';
import { readPolicies, type State } from './state.js';
import type { RunContext } from './types.js';
import { must, record, save, trailers } from './writer.js';

/** An error's message as it may appear in a log or a job summary: no token, bounded. */
export const safeMessage = (e: unknown): string =>
  redactTokens(e instanceof Error ? e.message : String(e)).slice(0, 2000);

/** What a provider may touch for `resource`; secrets the target references are masked first. */
export function providerContext(
  ctx: RunContext,
  resource: Resource,
  live: readonly Grant[],
): ProviderContext {
  const { options, github } = ctx;
  for (const v of Object.values(resource.target))
    if (typeof v === 'string' && v.startsWith('env:')) {
      const secret = options.env[v.slice(4)];
      if (secret) options.mask(secret);
    }
  return {
    resource,
    env: options.env,
    clock: ctx.clock,
    mask: options.mask,
    liveGrants: live,
    log: (m) => ctx.log(`  ${m}`),
    publicKeys: async (person) => github.userKeys((await ctx.loginOf(person.id)) ?? person.login),
    // Borrowed only by a provider that asks for it (the SSH KRL, command scripts).
    get workdir() {
      return ctx.writer.lendWorkTree();
    },
    github: withRunLogins(github, ctx.loginOf),
    stepReads: new StepReads(),
  };
}

/** `github` whose login lookups go through the run's cache (a provider asks in each phase). */
function withRunLogins(github: GitHubPort, loginOf: RunContext['loginOf']): GitHubPort {
  return new Proxy(github, {
    get(target, name, receiver) {
      if (name === 'loginForId') return loginOf;
      const v: unknown = Reflect.get(target, name, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function resourceFor(ctx: RunContext, grant: Grant, current: PolicySet): Promise<Resource> {
  const here = current.resources.get(grant.resource);
  if (here) return here;
  // A resource removed from policy must still be revocable: use the policy it was granted under.
  if (await ctx.history.revParse(grant.policy_commit)) {
    const then = (await readPolicies(ctx.history, grant.policy_commit)).policies.resources.get(
      grant.resource,
    );
    if (then) return then;
  }
  throw new ConfigurationError(`no policy defines resource "${grant.resource}"`);
}

/** Confirms through the API, remembering the grant for the rest of the run. */
async function confirm(ctx: RunContext, grant: Grant, path: string, s: State) {
  const c = await confirmApproval(
    {
      history: ctx.history,
      github: ctx.github,
      branch: ctx.options.branch,
      clock: ctx.clock,
      loginOf: ctx.loginOf,
      ...(ctx.options.appBotId !== undefined ? { appBotId: ctx.options.appBotId } : {}),
    },
    grant,
    path,
    s,
  );
  if (!('refused' in c)) ctx.confirmed.add(grant.id);
  return c;
}

/** Runs one planned step: its effect first, then its state change, committed and pushed. */
export async function runStep(
  ctx: RunContext,
  step: Step,
  s: State,
  live: Grant[],
): Promise<'ok' | 'rejected'> {
  const now = ctx.clock.now();
  const { grant, path } = step;
  switch (step.kind) {
    case 'archive': {
      const r = await save(
        ctx,
        path,
        grant,
        `gatepass: archive ${grant.resource}/${grant.id} (${grant.status})`,
        trailers(ctx, grant, 'archived'),
        step.to,
      );
      if (r === 'ok') record(ctx, grant, 'archived');
      return r;
    }
    case 'verify':
      return verify(ctx, grant, path, s, live);
    case 'extend':
      return extend(ctx, step, s, live);
    case 'revoke': {
      // The plan's `effect` and the rule here agree; either one is enough to take access back.
      const taken =
        step.effect || mayHaveActed(grant)
          ? await takeBack(ctx, grant, s, live, now.toISOString())
          : { residue: [], facts: undefined };
      const next = withResidue(
        must(
          transition(
            grant,
            step.to,
            {
              end_reason: step.reason,
              ...(taken.facts ? { issued: { ...grant.issued, ...taken.facts } } : {}),
            },
            now,
          ),
        ),
        taken.residue,
      );
      const late = lateness(next) ?? undefined;
      const r = await save(
        ctx,
        path,
        next,
        `gatepass: ${step.to === 'revoked' ? 'revoke' : 'expire'} ${grant.resource}/${grant.id}`,
        trailers(ctx, grant, step.to, {
          actor: step.actor,
          reason: step.reason,
          ...(late !== undefined ? { lateness: late } : {}),
        }),
        archivePath(next),
        undefined,
        await declaredFiles(ctx, grant, s),
      );
      if (r === 'ok') record(ctx, grant, step.to, undefined, late);
      return r;
    }
    case 'issue':
      return issue(ctx, step, s, live);
  }
}

/**
 * Two-phase: an `issuing` commit (holding what the provider observed before acting) is pushed
 * before the provider is called, so a run that dies after the effect leaves a marker the next
 * run resumes from.
 */
async function issue(
  ctx: RunContext,
  step: Extract<Step, { kind: 'issue' }>,
  s: State,
  live: Grant[],
): Promise<'ok' | 'rejected'> {
  const now = ctx.clock.now();
  const { grant, path } = step;
  // Approved in an earlier run (a scheduled start, a resumed crash) or written on the
  // branch by hand: the approval is confirmed again before any credential exists.
  if (!ctx.confirmed.has(grant.id)) {
    const c = await confirm(ctx, grant, path, s);
    if ('refused' in c) return refuse(ctx, grant, path, c.refused, s, live);
  }
  const resource = await resourceFor(ctx, grant, s.policies);
  const provider = ctx.providerFor(resource.provider);
  const pctx = providerContext(ctx, resource, live);
  let current = grant;
  if (!step.resume) {
    // Phase 1: record the pre-state and that an attempt began, before any effect.
    const pre = provider.prepareIssue ? await provider.prepareIssue(grant, pctx) : {};
    current = { ...grant, issued: { ...pre, [ISSUE_STARTED_AT]: step.issuedAt } };
    const r = await save(
      ctx,
      path,
      current,
      `gatepass: issuing ${grant.resource}/${grant.id} to @${grant.requester.login}`,
      trailers(ctx, grant, 'issuing', { expires: step.expiresAt }),
    );
    if (r === 'rejected') return r;
    await ctx.hook('after-marker', grant.id);
  }
  // Phase 2: the effect (idempotent by grant id), the delivery, then the state.
  const issued = await provider.issue(
    { ...current, issued_at: step.issuedAt, expires_at: step.expiresAt },
    pctx,
  );
  await ctx.hook('after-effect', grant.id);
  const where = grant.source.issue ?? grant.source.pull_request;
  if (issued.delivery && where !== undefined) {
    // Before the commit: a crash here re-issues and re-delivers, never loses the delivery.
    await ctx.github.createComment(
      where,
      `### ${issued.delivery.title}\n\n${issued.delivery.body}`,
    );
    await ctx.hook('after-delivery', grant.id);
  }
  const next = must(
    transition(
      current,
      'active',
      { issued_at: step.issuedAt, expires_at: step.expiresAt, issued: issued.facts },
      now,
    ),
  );
  const r = await save(
    ctx,
    path,
    next,
    `gatepass: issued ${grant.resource}/${grant.id} to @${grant.requester.login} until ${step.expiresAt}`,
    trailers(ctx, grant, 'issued', { at: step.issuedAt, expires: step.expiresAt }),
    undefined,
    undefined,
    await declaredFiles(ctx, grant, s),
  );
  if (r === 'ok') record(ctx, grant, 'issued', step.expiresAt);
  return r;
}

/**
 * Whether a provider may have acted for `grant`: it is active, or an issue attempt began (the
 * `issuing` marker recorded ISSUE_STARTED_AT before any effect). Whatever ends such a grant —
 * expiry, revoke, refusal, cancellation — calls the provider's (idempotent) revoke first.
 */
export const mayHaveActed = (grant: Grant): boolean =>
  grant.status === 'active' || grant.issued?.[ISSUE_STARTED_AT] !== undefined;

/**
 * Takes back what the provider may have given for `grant`, then looks for residue when the
 * resource allows lasting access. Returns the residue's descriptions (recorded in the end commit).
 */
async function takeBack(
  ctx: RunContext,
  grant: Grant,
  s: State,
  live: Grant[],
  endedAt: string,
): Promise<{ residue: string[]; facts: Grant['issued'] | void }> {
  const resource = await resourceFor(ctx, grant, s.policies);
  const provider = ctx.providerFor(resource.provider);
  const pctx = providerContext(ctx, resource, live);
  // What the provider did to end it (e.g. the AWS deny) goes into the commit that ends it.
  const facts = await provider.revoke(grant, pctx);
  await ctx.hook('after-effect', grant.id);
  if (!resource.allow_lasting_access || !provider.residue) return { residue: [], facts };
  // Looked for once, at the end of each grant: one list call per kind of residue per grant end,
  // never per run for live grants (see docs/providers.md, "Residue").
  try {
    const found = await provider.residue({ ...grant, ended_at: endedAt }, pctx);
    for (const r of found) {
      ctx.result.residue.push({ grant: grant.id, resource: grant.resource, residue: r });
      ctx.log(`  residue of ${grant.id} on ${resource.name}: ${r.description}`);
    }
    return { residue: found.map((r) => `${r.kind}: ${r.description}`), facts };
  } catch (e) {
    // The access is gone; what could not be looked at is said, and the end still recorded.
    const message = `residue not checked: ${safeMessage(e)}`;
    ctx.result.failures.push({ grant: grant.id, step: 'revoke', message });
    return { residue: [message], facts };
  }
}

/** The grant as ended, with the residue its end found kept in its facts for the audit. */
const withResidue = (g: Grant, residue: string[]): Grant =>
  residue.length > 0 ? { ...g, issued: { ...g.issued, [RESIDUE_FACT]: residue } } : g;

/** Files a provider keeps in the repo (the SSH KRL), committed with the step and nothing else. */
async function declaredFiles(ctx: RunContext, grant: Grant, s: State): Promise<string[]> {
  const resource = s.policies.resources.get(grant.resource);
  if (!resource) return [];
  const provider = ctx.providerFor(resource.provider);
  return provider.files ? provider.files(resource) : [];
}

/**
 * Ends a grant gatepass must not act on, with the reason, in one commit (event `refused`). When
 * an issue attempt began (a run died after the `issuing` marker), the provider revokes first.
 */
async function refuse(
  ctx: RunContext,
  grant: Grant,
  path: string,
  why: string,
  s: State,
  live: Grant[],
): Promise<'ok' | 'rejected'> {
  ctx.log(`  refused: ${why}`);
  const now = ctx.clock.now();
  const taken = mayHaveActed(grant)
    ? await takeBack(ctx, grant, s, live, now.toISOString())
    : { residue: [], facts: undefined };
  // A pending request is denied; an approved one (written on the branch without gatepass's
  // own confirmation) is revoked.
  const to = grant.status === 'pending' ? 'denied' : 'revoked';
  const next = withResidue(
    must(
      transition(
        grant,
        to,
        {
          end_reason: `refused: ${why}`,
          ...(taken.facts ? { issued: { ...grant.issued, ...taken.facts } } : {}),
        },
        now,
      ),
    ),
    taken.residue,
  );
  const r = await save(
    ctx,
    path,
    next,
    `gatepass: refuse ${grant.resource}/${grant.id}`,
    trailers(ctx, grant, 'refused'),
    archivePath(next),
    undefined,
    await declaredFiles(ctx, grant, s),
  );
  if (r === 'ok') record(ctx, grant, 'refused');
  return r;
}

async function verify(
  ctx: RunContext,
  grant: Grant,
  path: string,
  s: State,
  live: Grant[],
): Promise<'ok' | 'rejected'> {
  const now = ctx.clock.now();
  const c = await confirm(ctx, grant, path, s);
  if ('refused' in c) return refuse(ctx, grant, path, c.refused, s, live);
  const { number, added, pr, decision } = c;
  const next = must(
    transition(
      grant,
      'approved',
      {
        approval: {
          approved_at: approvedAt(pr.merged_at, grant.requested_at, now),
          rule: decision.rule!,
          approvers: decision.approvers,
          merge_commit: added,
        },
      },
      now,
    ),
  );
  const r = await save(
    ctx,
    path,
    next,
    `gatepass: approve ${grant.resource}/${grant.id} (#${number})`,
    trailers(ctx, grant, 'approved', {
      approvedBy: decision.approvers,
      rule: decision.rule!,
      pullRequest: number,
    }),
  );
  if (r === 'ok') record(ctx, grant, 'approved');
  return r;
}

/**
 * Applies an approved extension: the provider moves the native expiry of the same credential,
 * then one commit moves the extended grant's `expires_at` (event `extended`) and closes the
 * extension. Re-running after a crash recomputes the same window from the unchanged files,
 * and the provider call is idempotent.
 */
async function extend(
  ctx: RunContext,
  step: Extract<Step, { kind: 'extend' }>,
  s: State,
  live: Grant[],
): Promise<'ok' | 'rejected'> {
  const now = ctx.clock.now();
  const { grant, path, target } = step;
  // An extension is an approval like any grant: one written as `approved` straight onto the
  // branch (no PR, no reviews) is confirmed through the API first, exactly like a grant.
  if (!ctx.confirmed.has(grant.id)) {
    const c = await confirm(ctx, grant, path, s);
    if ('refused' in c) return refuse(ctx, grant, path, c.refused, s, live);
  }
  if (!step.expiresAt || !target) {
    const next = must(
      transition(
        grant,
        'expired',
        { end_reason: `not applied: ${step.why ?? 'no grant to extend'}` },
        now,
      ),
    );
    const r = await save(
      ctx,
      path,
      next,
      `gatepass: close extension ${grant.resource}/${grant.id} (not applied)`,
      trailers(ctx, grant, 'expired'),
      archivePath(next),
    );
    if (r === 'ok') record(ctx, grant, 'expired');
    return r;
  }
  const resource = await resourceFor(ctx, target.grant, s.policies);
  const provider = ctx.providerFor(resource.provider);
  const moved: Grant = { ...target.grant, expires_at: step.expiresAt };
  const effect = provider.extend
    ? await provider.extend(moved, providerContext(ctx, resource, live))
    : undefined;
  await ctx.hook('after-effect', grant.id);
  const where = target.grant.source.issue ?? target.grant.source.pull_request;
  if (effect && effect.delivery && where !== undefined) {
    await ctx.github.createComment(
      where,
      `### ${effect.delivery.title}\n\n${effect.delivery.body}`,
    );
    await ctx.hook('after-delivery', grant.id);
  }
  if (effect) moved.issued = { ...target.grant.issued, ...effect.facts };
  const closed = must(
    transition(
      grant,
      'expired',
      { end_reason: `applied: ${target.grant.id} now expires at ${step.expiresAt}` },
      now,
    ),
  );
  const r = await save(
    ctx,
    target.path,
    moved,
    `gatepass: extend ${target.grant.resource}/${target.grant.id} until ${step.expiresAt} (${grant.id})`,
    trailers(ctx, target.grant, 'extended', {
      expires: step.expiresAt,
      actor: 'schedule',
      ...(grant.source.pull_request ? { pullRequest: grant.source.pull_request } : {}),
    }),
    target.path,
    { from: path, grant: closed, to: archivePath(closed) },
    await declaredFiles(ctx, target.grant, s),
  );
  if (r === 'ok') record(ctx, target.grant, 'extended', step.expiresAt);
  return r;
}
