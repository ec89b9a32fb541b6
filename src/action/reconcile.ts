import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { decide } from '../core/decision.js';
import { ConfigurationError, GitHubApiError } from '../core/errors.js';
import type { Grant } from '../core/grant.js';
import {
  archivePath,
  GRANTS_DIR,
  ARCHIVE_DIR,
  parseGrant,
  serializeGrant,
} from '../core/grant-file.js';
import { sameRequest, transition } from '../core/grant-lifecycle.js';
import { isTeam, sameLogin } from '../core/identity.js';
import type { Decision } from '../core/review.js';
import { parseTimestamp } from '../core/timestamp.js';
import type { PolicySet, Resource } from '../core/policy.js';
import { loadPolicies } from '../core/policy-load.js';
import { formatProblem, type Problem } from '../core/problem.js';
import {
  describeStep,
  ISSUE_STARTED_AT,
  planReconcile,
  readGrantFiles,
  type LiveGrantFile,
  type Step,
} from '../core/reconcile-plan.js';
import {
  commitMessage,
  parseTrailers,
  type EventTrailers,
  type GrantEvent,
} from '../core/trailers.js';
import type { GitRepo } from '../git/git-repo.js';
import { redactTokens, type GitHubClient, type PullRequestInfo } from '../github/github-client.js';
import { getProvider } from '../providers/index.js';
import type { LiveAccess, Provider, ProviderContext } from '../providers/provider.js';

/**
 * Places where a run can die that matter for crash safety, in the order they happen within a
 * step. Tests throw from the hook at each of them and run again.
 */
export const CRASH_POINTS = [
  'before-step',
  'after-marker',
  'after-effect',
  'after-delivery',
  'after-commit',
  'after-push',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface ReconcileOptions {
  repo: GitRepo;
  /** Remote and branch the grants live on (the default branch). */
  remote?: string;
  branch: string;
  /** Required unless `dryRun`. */
  github?: GitHubClient;
  clock: Clock;
  /** Where providers resolve `env:NAME` secret references. */
  env: Readonly<Record<string, string | undefined>>;
  /** Masks a value in logs (the Action's `core.setSecret`). */
  mask(secret: string): void;
  log(line: string): void;
  dryRun?: boolean;
  removeDrift?: boolean;
  /** Push conflicts tolerated in one run before giving up (each re-fetches and re-plans). */
  maxPushAttempts?: number;
  /** The gatepass app's user id, whose reviews never count. */
  appBotId?: number;
  /** Provider lookup (the registry by default). */
  provider?: (kind: string) => Provider;
  /** Test seam: throwing here simulates the process dying at that point. */
  hook?: (point: CrashPoint, grantId: string) => void | Promise<void>;
}

export interface ReconcileEvent {
  grant: string;
  resource: string;
  requester: string;
  event: GrantEvent;
  expires?: string;
}

export interface ReconcileFailure {
  grant: string;
  step: Step['kind'] | 'drift' | 'push';
  message: string;
}

export interface DriftReport {
  resource: string;
  access: LiveAccess;
  removed: boolean;
}

export interface ReconcileResult {
  /** The plan computed from the state at the start of the run. */
  plan: Step[];
  events: ReconcileEvent[];
  failures: ReconcileFailure[];
  /** Corrupt grant files, policy problems: reported, never acted on. */
  problems: Problem[];
  drift: DriftReport[];
}

interface State {
  grants: LiveGrantFile[];
  problems: Problem[];
  policies: PolicySet;
}

/**
 * When the approval took effect: the merge. GitHub's timestamps have whole seconds, so a merge
 * in the same second as the request (auto-approval) reads as up to 999 ms before it; the
 * request time is then the truthful bound, not a grant approved before it was requested.
 */
export function approvedAt(mergedAt: string | null, requestedAt: string, now: Date): string {
  if (!mergedAt) return now.toISOString();
  const merged = Date.parse(mergedAt);
  const requested = Date.parse(requestedAt);
  return merged < requested && requested - merged < 1000 ? requestedAt : mergedAt;
}

/** Thrown from the hook: never swallowed as a per-grant failure. */
class RunAborted extends Error {}

const POLICIES_DIR = 'policies';
const isPolicyFile = (p: string): boolean => /\.ya?ml$/.test(p);
const safeMessage = (e: unknown): string =>
  redactTokens(e instanceof Error ? e.message : String(e)).slice(0, 2000);

/** The grant files of the hot path and the policies, both read from git at `rev`. */
export async function readState(repo: GitRepo, rev: string): Promise<State> {
  const dirs = (await repo.listDir(rev, GRANTS_DIR)).filter(
    (e) => e.type === 'tree' && e.name !== ARCHIVE_DIR,
  );
  const paths: string[] = [];
  for (const d of dirs)
    for (const e of await repo.listDir(rev, `${GRANTS_DIR}/${d.name}`))
      if (e.type === 'blob' && e.name.endsWith('.yaml'))
        paths.push(`${GRANTS_DIR}/${d.name}/${e.name}`);
  const texts = await repo.readFiles(rev, paths);
  const { grants, problems } = readGrantFiles(
    paths.map((path) => ({ path, text: texts.get(path) ?? '' })),
  );
  const policies = await readPolicies(repo, rev);
  return { grants, problems: [...policies.problems, ...problems], policies: policies.policies };
}

async function readPolicies(repo: GitRepo, rev: string) {
  const paths = (await repo.listFiles(rev, POLICIES_DIR)).filter(isPolicyFile);
  const texts = await repo.readFiles(rev, paths);
  return loadPolicies(paths.map((path) => ({ path, text: texts.get(path) ?? '' })));
}

/**
 * Brings the real world in line with the grant files on the default branch, one step at a
 * time, re-planning from the committed state after each: verify → approve (or refuse), issue,
 * revoke or expire, archive. Every state change is written after its effect, in its own
 * commit with trailers, pushed before the next step. An issue is two-phase: an `issuing`
 * commit (holding what the provider observed before acting) is pushed before the provider is
 * called, so a run that dies after the effect leaves a marker the next run resumes from — it
 * re-issues (idempotently) or revokes, and never mistakes access it gave for access the person
 * already had.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileResult> {
  const { repo, branch, clock, log } = options;
  const remote = options.remote ?? 'origin';
  const maxPush = options.maxPushAttempts ?? 5;
  const providerFor = options.provider ?? getProvider;
  const result: ReconcileResult = { plan: [], events: [], failures: [], problems: [], drift: [] };

  if (!options.dryRun) {
    if (!options.github) throw new ConfigurationError('reconcile needs a GitHub token');
    if (!(await repo.isClean()))
      throw new ConfigurationError(
        `the checkout at ${repo.dir} has uncommitted changes; reconcile commits, so it needs a clean one`,
      );
    await refresh();
  }
  let state = await readState(repo, 'HEAD');
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
  report([...state.problems, ...first.problems]);
  for (const s of first.steps) log(`plan: ${describeStep(s)}`);
  if (options.dryRun) return result;
  const github = options.github!;

  const hook = async (point: CrashPoint, grantId: string) => {
    if (!options.hook) return;
    try {
      await options.hook(point, grantId);
    } catch (e) {
      throw new RunAborted(`run aborted at ${point} of ${grantId}: ${safeMessage(e)}`);
    }
  };

  async function refresh(): Promise<void> {
    await repo.fetch(remote, branch);
    await repo.resetHard(`refs/remotes/${remote}/${branch}`);
  }

  const failed = new Set<string>();
  /** Current logins by user id, asked once per run (confirmation and key lookup both need it). */
  const logins = new Map<number, Promise<string | null>>();
  const loginOf = (id: number): Promise<string | null> => {
    let p = logins.get(id);
    if (!p) logins.set(id, (p = github.loginForId(id)));
    return p;
  };
  /** Grants whose approval this run confirmed through the API (a later step may rely on it). */
  const confirmed = new Set<string>();
  let conflicts = 0;
  // Each grant takes at most 4 steps (verify, issue, revoke, archive) plus re-plans after conflicts.
  const limit = state.grants.length * 6 + maxPush + 10;
  for (let i = 0; i < limit; i++) {
    const plan = planReconcile(state.grants, state.policies, clock.now());
    report([...state.problems, ...plan.problems]);
    const step = plan.steps.find((s) => !failed.has(s.grant.id));
    if (!step) break;
    let outcome: 'ok' | 'rejected';
    try {
      await hook('before-step', step.grant.id);
      log(describeStep(step));
      outcome = await runStep(step, state, plan.live);
    } catch (e) {
      if (e instanceof RunAborted) throw e;
      failed.add(step.grant.id);
      const message = safeMessage(e);
      result.failures.push({ grant: step.grant.id, step: step.kind, message });
      log(`FAILED ${step.kind} ${step.grant.resource}/${step.grant.id}: ${message}`);
      // Whatever the failed step left in the work tree must not ride along with the next commit.
      await repo.resetHard('HEAD');
      await repo.clean();
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
      await refresh();
    }
    state = await readState(repo, 'HEAD');
  }

  await detectDrift(state);
  return result;

  // ---------------------------------------------------------------------------------------

  function context(resource: Resource, live: readonly Grant[]): ProviderContext {
    // Secrets the target references are masked before a provider could print them.
    for (const v of Object.values(resource.target))
      if (typeof v === 'string' && v.startsWith('env:')) {
        const secret = options.env[v.slice(4)];
        if (secret) options.mask(secret);
      }
    return {
      resource,
      env: options.env,
      clock,
      mask: options.mask,
      liveGrants: live,
      log: (m) => log(`  ${m}`),
      publicKeys: async (person) => github.userKeys((await loginOf(person.id)) ?? person.login),
      workdir: repo.dir,
      github,
    };
  }

  async function resourceFor(grant: Grant, current: PolicySet): Promise<Resource> {
    const here = current.resources.get(grant.resource);
    if (here) return here;
    // A resource removed from policy must still be revocable: use the policy it was granted under.
    if (await repo.revParse(grant.policy_commit)) {
      const then = (await readPolicies(repo, grant.policy_commit)).policies.resources.get(
        grant.resource,
      );
      if (then) return then;
    }
    throw new ConfigurationError(`no policy defines resource "${grant.resource}"`);
  }

  function trailers(grant: Grant, event: GrantEvent, extra: Partial<EventTrailers> = {}) {
    return {
      grant: grant.id,
      event,
      resource: grant.resource,
      requestedBy: grant.requester,
      policy: grant.policy_commit,
      actor: 'schedule',
      at: clock.now().toISOString(),
      ...(grant.source.pull_request ? { pullRequest: grant.source.pull_request } : {}),
      ...extra,
    } satisfies EventTrailers;
  }

  /**
   * Writes `grant` (moved to `to` when it differs from `from`), and `also` when given (a second
   * grant changed by the same event), commits and pushes.
   */
  async function save(
    from: string,
    grant: Grant,
    subject: string,
    t: EventTrailers,
    to: string = from,
    also?: { from: string; grant: Grant; to: string },
  ): Promise<'ok' | 'rejected'> {
    for (const w of [{ from, grant, to }, ...(also ? [also] : [])]) {
      const text = serializeGrant(w.grant);
      const check = parseGrant(text, w.to);
      if (!check.ok)
        throw new Error(
          `refusing to commit an invalid grant: ${check.problems.map(formatProblem).join('; ')}`,
        );
      if (w.to !== w.from) await rm(join(repo.dir, w.from), { force: true });
      await mkdir(dirname(join(repo.dir, w.to)), { recursive: true });
      await writeFile(join(repo.dir, w.to), text);
    }
    // Everything in the work tree: the grant, and files a provider keeps in the repo (the KRL).
    await repo.add(['.']);
    await repo.commit(commitMessage(subject, t));
    await hook('after-commit', grant.id);
    const pushed = await repo.push(remote, branch);
    if (pushed === 'ok') await hook('after-push', grant.id);
    return pushed;
  }

  function record(grant: Grant, event: GrantEvent, expires?: string) {
    result.events.push({
      grant: grant.id,
      resource: grant.resource,
      requester: grant.requester.login,
      event,
      ...(expires ? { expires } : {}),
    });
  }

  function must<T>(r: { ok: true; value: T } | { ok: false; problems: Problem[] }): T {
    if (!r.ok) throw new Error(r.problems.map(formatProblem).join('; '));
    return r.value;
  }

  async function runStep(step: Step, s: State, live: Grant[]): Promise<'ok' | 'rejected'> {
    const now = clock.now();
    const { grant, path } = step;
    switch (step.kind) {
      case 'archive': {
        const r = await save(
          path,
          grant,
          `gatepass: archive ${grant.resource}/${grant.id} (${grant.status})`,
          trailers(grant, 'archived'),
          step.to,
        );
        if (r === 'ok') record(grant, 'archived');
        return r;
      }
      case 'verify':
        return verify(grant, path, s);
      case 'extend':
        return extend(step, s, live);
      case 'revoke': {
        let facts: Grant['issued'] | void;
        if (step.effect) {
          const resource = await resourceFor(grant, s.policies);
          facts = await providerFor(resource.provider).revoke(grant, context(resource, live));
          await hook('after-effect', grant.id);
        }
        const next = must(
          transition(
            grant,
            step.to,
            {
              end_reason: step.reason,
              ...(facts ? { issued: { ...grant.issued, ...facts } } : {}),
            },
            now,
          ),
        );
        const r = await save(
          path,
          next,
          `gatepass: ${step.to === 'revoked' ? 'revoke' : 'expire'} ${grant.resource}/${grant.id}`,
          trailers(grant, step.to, { actor: step.actor }),
          archivePath(next),
        );
        if (r === 'ok') record(grant, step.to);
        return r;
      }
      case 'issue': {
        // Approved in an earlier run (a scheduled start, a resumed crash) or written on the
        // branch by hand: the approval is confirmed again before any credential exists.
        if (!confirmed.has(grant.id)) {
          const c = await confirmApproval(grant, path, s);
          if ('refused' in c) return refuse(grant, path, c.refused);
        }
        const resource = await resourceFor(grant, s.policies);
        const provider = providerFor(resource.provider);
        const ctx = context(resource, live);
        let current = grant;
        if (!step.resume) {
          // Phase 1: record the pre-state and that an attempt began, before any effect.
          const pre = provider.prepareIssue ? await provider.prepareIssue(grant, ctx) : {};
          current = { ...grant, issued: { ...pre, [ISSUE_STARTED_AT]: step.issuedAt } };
          const r = await save(
            path,
            current,
            `gatepass: issuing ${grant.resource}/${grant.id} to @${grant.requester.login}`,
            trailers(grant, 'issuing', { expires: step.expiresAt }),
          );
          if (r === 'rejected') return r;
          await hook('after-marker', grant.id);
        }
        // Phase 2: the effect (idempotent by grant id), the delivery, then the state.
        const issued = await provider.issue(
          { ...current, issued_at: step.issuedAt, expires_at: step.expiresAt },
          ctx,
        );
        await hook('after-effect', grant.id);
        const issue = grant.source.issue ?? grant.source.pull_request;
        if (issued.delivery && issue !== undefined) {
          // Before the commit: a crash here re-issues and re-delivers, never loses the delivery.
          await github.createComment(
            issue,
            `### ${issued.delivery.title}\n\n${issued.delivery.body}`,
          );
          await hook('after-delivery', grant.id);
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
          path,
          next,
          `gatepass: issued ${grant.resource}/${grant.id} to @${grant.requester.login} until ${step.expiresAt}`,
          trailers(grant, 'issued', { at: step.issuedAt, expires: step.expiresAt }),
        );
        if (r === 'ok') record(grant, 'issued', step.expiresAt);
        return r;
      }
    }
  }

  /**
   * Threat #5: a grant on the default branch is trusted only if it arrived through a merged pull
   * request that changed exactly that file, whose reviews on its final head satisfy the policy
   * of the default branch it was merged into, with team memberships looked up now (threat #8),
   * whose request is still what was merged (nothing widened by a later push), and whose
   * requester login really is the account its id names (policy matches logins, providers act on
   * ids). Returns the reason to refuse, or the confirmed approval.
   */
  async function confirmApproval(
    grant: Grant,
    path: string,
    s: State,
  ): Promise<
    { refused: string } | { number: number; added: string; pr: PullRequestInfo; decision: Decision }
  > {
    const no = (refused: string) => ({ refused });
    const added = await repo.addedIn('HEAD', path);
    if (!added) return no('no commit on the default branch adds this file');
    const merged = parseGrant((await repo.showFile(added, path)) ?? '', path);
    if (!merged.ok || !sameRequest(merged.value, grant))
      return no(`the request is no longer what commit ${added.slice(0, 7)} merged`);
    const message = await repo.commitMessage(added);
    const number = parseTrailers(message)?.pullRequest ?? grant.source.pull_request;
    if (number === undefined)
      return no(`commit ${added.slice(0, 7)} added it without a pull request`);
    let pr: PullRequestInfo;
    try {
      pr = await github.pullRequest(number);
    } catch (e) {
      if (e instanceof GitHubApiError && e.status === 404)
        return no(`pull request #${number} does not exist`);
      throw e;
    }
    if (!pr.merged) return no(`pull request #${number} was not merged`);
    if (pr.merge_commit_sha !== added)
      return no(`commit ${added.slice(0, 7)} that added the file is not the merge of #${number}`);
    if (pr.base_ref !== branch) return no(`#${number} was merged into ${pr.base_ref}`);
    if (
      !(await repo.revParse(grant.policy_commit)) ||
      !(await repo.isAncestor(grant.policy_commit, 'HEAD'))
    )
      return no(
        `its policy commit ${grant.policy_commit.slice(0, 7)} is not on the default branch`,
      );
    // The policy the branch had when the request was merged, not one the request names: a
    // hand-made grant file could name an older, looser policy commit.
    const policyAt = `${added}^1`;
    const [files, login, policies] = await Promise.all([
      github.pullRequestFiles(number),
      loginOf(grant.requester.id),
      readPolicies(repo, policyAt),
    ]);
    if (files.length !== 1 || files[0]!.filename !== path)
      return no(`#${number} must change exactly this grant file, it changed ${files.length}`);
    if (login === null || !sameLogin(login, grant.requester.login))
      return no(
        `the requester's account ${grant.requester.id} is ${login === null ? 'gone' : `@${login}`}, not @${grant.requester.login}`,
      );
    const resource = policies.policies.resources.get(grant.resource);
    if (!resource) return no(`no valid policy for "${grant.resource}" when it was merged`);
    const teams = [
      ...resource.approvers,
      ...resource.requesters,
      ...resource.auto_approve.flatMap((r) => r.requester_in),
      ...(resource.break_glass?.allowed ?? []),
    ].filter(isTeam);
    const [memberships, reviews] = await Promise.all([
      github.memberships(teams),
      github.reviews(number),
    ]);
    const decision = decide({
      resource,
      grant: merged.value,
      reviews,
      memberships,
      headSha: pr.head_sha,
      // Judged as at the merge, when the approval took effect: the request's TTL and any
      // auto-approve rule are about that moment, not about when this run happens to start.
      now: parseTimestamp(pr.merged_at ?? '') ?? clock.now(),
      ...(grant.extends
        ? {
            extending:
              s.grants.find(
                (g) => g.grant.id === grant.extends && g.grant.resource === grant.resource,
              )?.grant ?? null,
          }
        : {}),
      ...(options.appBotId !== undefined ? { appBotId: options.appBotId } : {}),
    });
    if (decision.outcome !== 'approved')
      return no(`approval not confirmed: ${decision.reasons.join('; ')}`);
    confirmed.add(grant.id);
    return { number, added, pr, decision };
  }

  /** Ends a grant gatepass must not act on, with the reason, in one commit (event `refused`). */
  async function refuse(grant: Grant, path: string, why: string): Promise<'ok' | 'rejected'> {
    log(`  refused: ${why}`);
    // A pending request is denied; an approved one (written on the branch without gatepass's
    // own confirmation) is revoked before anything is issued.
    const to = grant.status === 'pending' ? 'denied' : 'revoked';
    const next = must(transition(grant, to, { end_reason: `refused: ${why}` }, clock.now()));
    const r = await save(
      path,
      next,
      `gatepass: refuse ${grant.resource}/${grant.id}`,
      trailers(grant, 'refused'),
      archivePath(next),
    );
    if (r === 'ok') record(grant, 'refused');
    return r;
  }

  async function verify(grant: Grant, path: string, s: State): Promise<'ok' | 'rejected'> {
    const now = clock.now();
    const c = await confirmApproval(grant, path, s);
    if ('refused' in c) return refuse(grant, path, c.refused);
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
      path,
      next,
      `gatepass: approve ${grant.resource}/${grant.id} (#${number})`,
      trailers(grant, 'approved', {
        approvedBy: decision.approvers,
        rule: decision.rule!,
        pullRequest: number,
      }),
    );
    if (r === 'ok') record(grant, 'approved');
    return r;
  }

  /**
   * Applies an approved extension: the provider moves the native expiry of the same credential,
   * then one commit moves the extended grant's `expires_at` (event `extended`) and closes the
   * extension. Re-running after a crash recomputes the same window from the unchanged files,
   * and the provider call is idempotent.
   */
  async function extend(
    step: Extract<Step, { kind: 'extend' }>,
    s: State,
    live: Grant[],
  ): Promise<'ok' | 'rejected'> {
    const now = clock.now();
    const { grant, path, target } = step;
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
        path,
        next,
        `gatepass: close extension ${grant.resource}/${grant.id} (not applied)`,
        trailers(grant, 'expired'),
        archivePath(next),
      );
      if (r === 'ok') record(grant, 'expired');
      return r;
    }
    const resource = await resourceFor(target.grant, s.policies);
    const provider = providerFor(resource.provider);
    const moved: Grant = { ...target.grant, expires_at: step.expiresAt };
    const effect = provider.extend
      ? await provider.extend(moved, context(resource, live))
      : undefined;
    await hook('after-effect', grant.id);
    const issue = target.grant.source.issue ?? target.grant.source.pull_request;
    if (effect && effect.delivery && issue !== undefined) {
      await github.createComment(issue, `### ${effect.delivery.title}\n\n${effect.delivery.body}`);
      await hook('after-delivery', grant.id);
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
      target.path,
      moved,
      `gatepass: extend ${target.grant.resource}/${target.grant.id} until ${step.expiresAt} (${grant.id})`,
      trailers(target.grant, 'extended', {
        expires: step.expiresAt,
        actor: 'schedule',
        ...(grant.source.pull_request ? { pullRequest: grant.source.pull_request } : {}),
      }),
      target.path,
      { from: path, grant: closed, to: archivePath(closed) },
    );
    if (r === 'ok') record(target.grant, 'extended', step.expiresAt);
    return r;
  }

  async function detectDrift(s: State): Promise<void> {
    const live = new Set(
      s.grants
        .filter((g) => g.grant.status === 'active' || g.grant.status === 'approved')
        .map((g) => g.grant.id),
    );
    const liveGrants = s.grants.map((g) => g.grant).filter((g) => live.has(g.id));
    for (const resource of s.policies.resources.values()) {
      const provider = providerFor(resource.provider);
      if (!provider.list) continue;
      try {
        const ctx = context(resource, liveGrants);
        for (const access of await provider.list(ctx)) {
          // Access the provider cannot attribute to a grant (a team's permanent members) is
          // not ours to judge, and never removed.
          if (!access.unexplained && (access.grantId === undefined || live.has(access.grantId)))
            continue;
          let removed = false;
          if (options.removeDrift && provider.removeDrift) {
            await provider.removeDrift(access, ctx);
            removed = true;
          }
          result.drift.push({ resource: resource.name, access, removed });
          log(
            `drift on ${resource.name}: ${access.description} has no live grant${removed ? ' (removed)' : ''}`,
          );
        }
      } catch (e) {
        result.failures.push({ grant: resource.name, step: 'drift', message: safeMessage(e) });
      }
    }
  }
}
