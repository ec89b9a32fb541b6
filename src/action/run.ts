import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as actionsCore from '@actions/core';
import { type Clock, systemClock } from '../core/clock.js';
import { ConfigurationError } from '../core/errors.js';
import { formatProblem } from '../core/problem.js';
import { describeStep } from '../core/reconcile-plan.js';
import { GitRepo } from '../git/git-repo.js';
import { GitHubClient } from '../github/github-client.js';
import { createOctokit } from '../github/octokit.js';
import { buildAuditReport } from '../engine/audit/build.js';
import { renderAuditMarkdown } from '../engine/audit/render.js';
import {
  readState,
  reconcile,
  type ReconcileOptions,
  type ReconcileResult,
} from '../engine/reconcile/index.js';
import { combineResults, waitForDeadline } from './deadline-wait.js';
import { parseDuration, MINUTE, type Seconds } from '../core/duration.js';
import { gitGrantWriter } from '../git/grant-store.js';

/** The part of `@actions/core` the action uses; injected so tests need no module mocking. */
export interface ActionCore {
  getInput(name: string, options?: { required?: boolean; trimWhitespace?: boolean }): string;
  setOutput(name: string, value: unknown): void;
  setFailed(message: string | Error): void;
  setSecret(secret: string): void;
  info(message: string): void;
  warning(message: string): void;
  summary: SummaryLike;
}

export interface SummaryLike {
  addRaw(text: string, addEOL?: boolean): SummaryLike;
  write(): Promise<unknown>;
}

export interface Inputs {
  token: string;
  workingDirectory: string;
  dryRun: boolean;
  /** List each provider's access for drift after the steps (input `check-drift`, default true). */
  checkDrift: boolean;
  removeDrift: boolean;
  /** Also verify the whole history (`gatepass audit --verify`) and put the report in the summary. */
  verifyAudit: boolean;
  /** The default branch the grants live on. */
  branch: string;
  /** `owner/name` of the access repo. */
  repository: string;
  apiUrl: string;
  /** The gatepass app's user id: its reviews never count. */
  appBotId?: number;
  /** Revoke the grants of requesters who may no longer hold them (offboarding). */
  offboarding: boolean;
  /** Who starts runs at grant deadlines: the gatepass app, or this action waiting for them. */
  deadlineTimer: 'app' | 'action';
  /** How long a run may stay up for a deadline due before the next scheduled run (0: never). */
  deadlineWait: Seconds;
  /** How long past its due time an end may come before the audit reports it. */
  lateBound: Seconds;
}

export interface RunDeps {
  core: ActionCore;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  /** How the deadline wait sleeps (tests move a fake clock instead). */
  sleep?: (ms: number) => Promise<void>;
}

const bool = (core: ActionCore, name: string): boolean => {
  const v = core.getInput(name).toLowerCase();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  throw new ConfigurationError(`input ${name} must be true or false, not ${JSON.stringify(v)}`);
};

async function defaultBranch(env: RunDeps['env']): Promise<string | undefined> {
  if (!env.GITHUB_EVENT_PATH) return undefined;
  try {
    const event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) as {
      repository?: { default_branch?: unknown };
    };
    const b = event.repository?.default_branch;
    return typeof b === 'string' && b !== '' ? b : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The branch the run was started for: `schedule` payloads carry no repository, and a scheduled
 * run always starts on the default branch, which GITHUB_REF then names.
 */
function refBranch(env: RunDeps['env']): string | undefined {
  const ref = env.GITHUB_REF ?? '';
  if (ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length);
  return env.GITHUB_REF_TYPE === 'branch' && env.GITHUB_REF_NAME ? env.GITHUB_REF_NAME : undefined;
}

function noBranch(): never {
  throw new Error(
    'cannot tell the default branch (no repository in the event, no branch in GITHUB_REF): set input "branch"',
  );
}

/** Every input and the workflow's environment, checked, in one typed value. */
export async function readInputs(core: ActionCore, env: RunDeps['env']): Promise<Inputs> {
  const dryRun = bool(core, 'dry-run');
  const token = core.getInput('token');
  if (token === '' && !dryRun)
    throw new ConfigurationError(
      'input "token" is required (a token that may read pull requests and comment on issues)',
    );
  if (token) core.setSecret(token);
  const repository = core.getInput('repository') || env.GITHUB_REPOSITORY || '';
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9_.-]+$/.test(repository))
    throw new ConfigurationError(
      'cannot tell the access repository: set input "repository" (owner/name)',
    );
  const botId = core.getInput('app-bot-id');
  if (botId !== '' && !/^\d+$/.test(botId))
    throw new ConfigurationError('input app-bot-id must be a user id');
  const timer = core.getInput('deadline-timer') || 'action';
  if (timer !== 'app' && timer !== 'action')
    throw new ConfigurationError(
      `input deadline-timer must be app or action, not ${JSON.stringify(timer)}`,
    );
  const interval = durationInput(core, 'schedule-interval', 5 * MINUTE);
  // With the app keeping the deadlines no run waits, and ends are due within 2 minutes.
  const wait = timer === 'app' ? 0 : Math.min(durationInput(core, 'deadline-wait', 0), interval);
  const lateBound = durationInput(core, 'late-bound', timer === 'app' ? 2 * MINUTE : interval);
  return {
    token,
    workingDirectory: resolve(
      env.GITHUB_WORKSPACE ?? '.',
      core.getInput('working-directory') || '.',
    ),
    dryRun,
    checkDrift: core.getInput('check-drift') === '' || bool(core, 'check-drift'),
    removeDrift: bool(core, 'remove-drift'),
    verifyAudit: bool(core, 'verify-audit'),
    branch: core.getInput('branch') || (await defaultBranch(env)) || refBranch(env) || noBranch(),
    repository,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    ...(botId ? { appBotId: Number(botId) } : {}),
    offboarding: bool(core, 'offboarding'),
    deadlineTimer: timer,
    deadlineWait: wait,
    lateBound,
  };
}

function durationInput(core: ActionCore, name: string, fallback: Seconds): Seconds {
  const v = core.getInput(name);
  if (v === '') return fallback;
  if (v === '0') return 0;
  const d = parseDuration(v);
  if (!d.ok)
    throw new ConfigurationError(
      `input ${name} must be a duration like 5m, not ${JSON.stringify(v)}`,
    );
  return d.value;
}

const cell = (s: string): string => s.replace(/[|\n\r]/g, ' ');

/** The job summary: what changed, what failed, what needs a human. */
export function summaryMarkdown(result: ReconcileResult, inputs: Pick<Inputs, 'dryRun'>): string {
  const lines: string[] = [`## gatepass reconcile${inputs.dryRun ? ' (dry run)' : ''}`, ''];
  if (inputs.dryRun) {
    lines.push(result.plan.length ? 'Planned steps:' : 'Nothing to do.', '');
    for (const s of result.plan) lines.push(`- ${cell(describeStep(s))}`);
  } else if (result.events.length === 0) lines.push('No grant changed state.');
  else {
    lines.push(
      '| grant | requester | resource | event | expires | late by |',
      '|---|---|---|---|---|---|',
    );
    for (const e of result.events)
      lines.push(
        `| ${cell(e.grant)} | @${cell(e.requester)} | ${cell(e.resource)} | ${e.event} | ${e.expires ?? ''} | ${e.lateness !== undefined ? `${e.lateness} s` : ''} |`,
      );
  }
  if (result.failures.length) {
    lines.push('', '### Failures', '');
    for (const f of result.failures)
      lines.push(`- ${cell(f.grant)} (${f.step}): ${cell(f.message)}`);
  }
  if (result.problems.length) {
    lines.push('', '### Problems (skipped)', '');
    for (const p of result.problems) lines.push(`- ${cell(formatProblem(p))}`);
  }
  if (result.drift.length) {
    lines.push('', '### Drift', '');
    for (const d of result.drift)
      lines.push(
        `- ${cell(d.resource)}: ${cell(d.access.description)}${d.explained !== undefined ? ` — gatepass accounts for ${cell(d.explained)}` : ''}${d.removed ? ' (removed)' : ''}`,
      );
  }
  if (result.residue.length) {
    lines.push('', '### Residue (lasting access made during a grant)', '');
    for (const r of result.residue)
      lines.push(
        `- ${cell(r.resource)}/${cell(r.grant)}: ${r.residue.kind}: ${cell(r.residue.description)}`,
      );
  }
  return lines.join('\n') + '\n';
}

/**
 * `gatepass audit --verify` over the checkout after the reconcile, so the summary shows the
 * timeline and any violation. Returns the number of error findings.
 */
async function verifyHistory(inputs: Inputs, core: ActionCore, clock: Clock): Promise<number> {
  const report = await buildAuditReport(await GitRepo.open(inputs.workingDirectory), {
    verify: true,
    now: clock.now(),
    sweepInterval: inputs.lateBound,
  });
  core.summary.addRaw('\n' + renderAuditMarkdown(report));
  const errors = (report.findings ?? []).filter((f) => f.severity === 'error');
  for (const f of errors)
    core.warning(`audit: ${f.message}${f.commit ? ` (${f.commit.slice(0, 12)})` : ''}`);
  core.setOutput('findings', errors.length);
  return errors.length;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The action: inputs → reconcile → outputs and summary. Fails the job on any failure. */
export async function run(
  deps: RunDeps = { core: actionsCore, env: process.env, clock: systemClock },
): Promise<void> {
  const { core, env, clock } = deps;
  try {
    const inputs = await readInputs(core, env);
    const [owner = '', repo = ''] = inputs.repository.split('/');
    const github = inputs.token
      ? new GitHubClient(
          createOctokit({
            token: inputs.token,
            baseUrl: inputs.apiUrl,
            log: (m) => core.warning(m),
          }),
          { owner, repo },
        )
      : undefined;
    // The checkout may (and should) keep no token: git is given it through its environment.
    const checkout = await GitRepo.open(
      inputs.workingDirectory,
      undefined,
      inputs.token
        ? {
            httpAuth: { url: env.GITHUB_SERVER_URL ?? 'https://github.com', token: inputs.token },
          }
        : {},
    );
    const options: ReconcileOptions = {
      history: checkout,
      writer: gitGrantWriter(checkout, 'origin', inputs.branch),
      branch: inputs.branch,
      ...(github ? { github } : {}),
      clock,
      env,
      mask: (s: string) => core.setSecret(s),
      log: (l: string) => core.info(l),
      dryRun: inputs.dryRun,
      checkDrift: inputs.checkDrift,
      removeDrift: inputs.removeDrift,
      offboarding: inputs.offboarding,
      ...(inputs.appBotId !== undefined ? { appBotId: inputs.appBotId } : {}),
    };
    let result = await reconcile(options);
    // Actions only (#15): stay up for a deadline due before the next scheduled run, once.
    if (!inputs.dryRun && inputs.deadlineWait > 0) {
      const waited = await waitForDeadline(
        await readState(checkout, 'HEAD'),
        inputs.deadlineWait * 1000,
        { clock, sleep: deps.sleep ?? sleep, log: (l) => core.info(l) },
      );
      if (waited) result = combineResults(result, await reconcile(options));
    }
    const count = (...events: string[]) =>
      result.events.filter((e) => events.includes(e.event)).length;
    core.setOutput('issued', count('issued'));
    core.setOutput('revoked', count('revoked', 'expired'));
    core.setOutput('failed', result.failures.length);
    for (const p of result.problems) core.warning(formatProblem(p));
    core.summary.addRaw(summaryMarkdown(result, inputs));
    const findings = inputs.verifyAudit ? await verifyHistory(inputs, core, clock) : 0;
    await core.summary.write();
    const failed: string[] = [];
    if (result.failures.length)
      failed.push(
        `${result.failures.length} step(s) failed: ${result.failures.map((f) => `${f.grant} (${f.step})`).join(', ')}`,
      );
    if (findings) failed.push(`the audit found ${findings} violation(s); see the job summary`);
    if (failed.length) core.setFailed(failed.join('; '));
  } catch (e) {
    core.setFailed(e instanceof Error ? e.message : String(e));
  }
}
