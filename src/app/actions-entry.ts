import { readFile } from 'node:fs/promises';
import * as actionsCore from '@actions/core';
import { Probot, ProbotOctokit } from 'probot';
import { type Clock, systemClock } from '../core/clock.js';
import { GitHubClient, type OctokitLike } from '../github/github-client.js';
import { loadConfig } from './config.js';
import { PolicyCache } from './deps.js';
import { createApp } from './index.js';
import { sweep } from './sweep.js';

/** Events that carry no delivery for the app: they start the sweep of pending requests. */
export const SWEEP_EVENTS: readonly string[] = ['schedule', 'workflow_dispatch'];

export interface ActionsDeps {
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  core: Pick<typeof actionsCore, 'info' | 'setFailed'>;
  /** Octokit class (tests turn retries and throttling off). */
  Octokit?: typeof ProbotOctokit;
}

/**
 * The app without a server: one workflow run handles the one event that started it. The token
 * is a GitHub App installation token made in the workflow (`actions/create-github-app-token`),
 * not `GITHUB_TOKEN`: merges pushed with `GITHUB_TOKEN` would not start the action's workflow.
 */
export async function runInActions(
  deps: ActionsDeps = { env: process.env, clock: systemClock, core: actionsCore },
): Promise<void> {
  const { env, core } = deps;
  try {
    const token = env.GATEPASS_APP_TOKEN?.trim();
    if (!token)
      throw new Error(
        'GATEPASS_APP_TOKEN is not set: create a GitHub App installation token in the workflow (actions/create-github-app-token) and pass it',
      );
    const name = env.GITHUB_EVENT_NAME ?? '';
    if (!env.GITHUB_EVENT_PATH) throw new Error('GITHUB_EVENT_PATH is not set');
    const payload = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) as Record<
      string,
      unknown
    >;
    const config = loadConfig({
      ...env,
      GATEPASS_ACCESS_REPO: env.GATEPASS_ACCESS_REPO || env.GITHUB_REPOSITORY,
    });
    const probot = new Probot({
      githubToken: token,
      ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}),
      ...(deps.Octokit ? { Octokit: deps.Octokit } : {}),
      logLevel: 'warn',
    });
    if (SWEEP_EVENTS.includes(name)) {
      const octokit = (await probot.auth()) as unknown as OctokitLike;
      const repository = payload.repository as { default_branch?: string } | undefined;
      const outcomes = await sweep({
        client: new GitHubClient(octokit, config.accessRepo),
        config,
        policies: new PolicyCache(),
        clock: deps.clock,
        log: { info: (m) => core.info(m), warn: (m) => core.info(`warning: ${m}`) },
        // A scheduled run runs on the default branch.
        defaultBranch: repository?.default_branch ?? env.GITHUB_REF_NAME ?? 'main',
      });
      core.info(
        `swept ${outcomes.size} open request(s): ${[...outcomes].map(([n, o]) => `#${n} ${o}`).join(', ') || 'none'}`,
      );
      return;
    }
    await probot.load(createApp({ config, clock: deps.clock }));
    await probot.receive({
      id: `${env.GITHUB_RUN_ID ?? 'run'}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`,
      name,
      payload,
    } as Parameters<Probot['receive']>[0]);
    core.info(`handled ${name}.${String(payload.action ?? '')}`);
  } catch (e) {
    core.setFailed(e instanceof Error ? e.message : String(e));
  }
}
