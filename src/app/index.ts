import type { Context, Probot } from 'probot';
import { type Clock, systemClock } from '../core/clock.js';
import {
  GitHubClient,
  installationIdFor,
  pullRequestInfo,
  type OctokitLike,
} from '../github/github-client.js';
import { handleCommand } from './commands.js';
import { type AppConfig, isAccessRepo, loadConfig, loadDeadlineConfig } from './config.js';
import { DeadlineKeeper } from './deadlines.js';
import { systemScheduler } from './deadline-timer.js';
import { evaluatePullRequest } from './decision.js';
import { type Deps, OpenedByApp, PolicyCache } from './deps.js';
import { handleRequestIssue } from './request-issue.js';

export interface AppOptions {
  config: AppConfig;
  clock?: Clock;
  /** Server mode: the app keeps the grants' deadlines and starts the reconcile run at each. */
  deadlines?: DeadlineKeeper;
}

interface RepoPayload {
  repository?: { full_name: string; default_branch: string };
}

/** The gatepass Probot app with explicit settings (tests build it this way). */
export function createApp(options: AppOptions): (app: Probot) => void {
  const { config } = options;
  const policies = new PolicyCache();
  const opened = new OpenedByApp();
  const clock = options.clock ?? systemClock;
  const sameOwner = (org: string) => org.toLowerCase() === config.accessRepo.owner.toLowerCase();
  /** Deps for a delivery about the access repo; null for anything else (threat #6). */
  const deps = (context: Context): Deps | null => {
    const { repository } = context.payload as RepoPayload;
    if (!repository || !isAccessRepo(config, repository.full_name)) return null;
    return {
      client: new GitHubClient(context.octokit as unknown as OctokitLike, config.accessRepo),
      config,
      policies,
      clock,
      log: context.log,
      defaultBranch: repository.default_branch,
      opened,
    };
  };

  return (app: Probot) => {
    const keeper = options.deadlines;
    if (keeper)
      void keeper.start(async () => {
        const installation = await installationIdFor(
          (await app.auth()) as unknown as OctokitLike,
          config.accessRepo,
        );
        const octokit = (await app.auth(installation)) as unknown as OctokitLike;
        const client = new GitHubClient(octokit, config.accessRepo);
        return { client, branch: await client.defaultBranch() };
      });

    app.on('push', async (context) => {
      const d = deps(context);
      const { ref, commits, before, after, forced } = context.payload;
      // Policies unchanged by this push: the cached read at `before` serves `after`.
      if (d && ref === `refs/heads/${d.defaultBranch}`)
        policies.carry({ before, after, forced, commits });
      if (d && keeper)
        await keeper.onPush(d.client, d.defaultBranch, {
          ref,
          before,
          after,
          // GitHub lists at most 20 commits in a push payload.
          complete: !forced && commits.length < 20,
          paths: commits.flatMap((c) => [
            ...(c.added ?? []),
            ...(c.modified ?? []),
            ...(c.removed ?? []),
          ]),
        });
    });

    // Offboarding: the run that revokes starts now, not at the next deadline.
    app.on('organization.member_removed', async (context) => {
      const { organization, membership } = context.payload;
      if (keeper && sameOwner(organization.login) && membership.user)
        await keeper.onMemberRemoved(membership.user.id);
    });
    app.on('membership.removed', async (context) => {
      const { organization, member, team } = context.payload;
      if (keeper && sameOwner(organization.login) && member && 'slug' in team)
        await keeper.onMemberRemoved(member.id, `${organization.login}/${team.slug}`);
    });

    app.on(['issues.opened', 'issues.edited'], async (context) => {
      const d = deps(context);
      const { action, issue } = context.payload;
      if (d && issue.user)
        await handleRequestIssue(d, {
          action,
          number: issue.number,
          body: issue.body ?? null,
          author: { login: issue.user.login, id: issue.user.id, type: issue.user.type ?? 'User' },
          labels: (issue.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))),
        });
    });

    app.on(
      [
        'pull_request.opened',
        'pull_request.reopened',
        'pull_request.synchronize',
        'pull_request.edited',
      ],
      async (context) => {
        const d = deps(context);
        if (!d) return;
        const { action, pull_request, sender } = context.payload;
        // The request handler already judged and checked the head it committed: a re-read of
        // the PR it just opened would find what it wrote and no reviews (see `OpenedByApp`).
        if (action === 'opened' && d.opened?.alreadyChecked(pullRequestInfo(pull_request), sender))
          return;
        await evaluatePullRequest(d, pull_request.number);
      },
    );

    // A review event carries its PR (signed with the webhook secret): it is not read again.
    app.on(
      [
        'pull_request_review.submitted',
        'pull_request_review.edited',
        'pull_request_review.dismissed',
      ],
      async (context) => {
        const d = deps(context);
        const { pull_request } = context.payload;
        if (d) await evaluatePullRequest(d, pull_request.number, pullRequestInfo(pull_request));
      },
    );

    app.on('check_run.rerequested', async (context) => {
      const d = deps(context);
      const run = context.payload.check_run;
      if (!d || run.name !== config.checkName) return;
      for (const pr of run.pull_requests) await evaluatePullRequest(d, pr.number);
    });

    // `created` only: an edited comment never runs a command (threat #13).
    app.on('issue_comment.created', async (context) => {
      const d = deps(context);
      const { issue, comment, sender } = context.payload;
      if (d && issue.user)
        await handleCommand(d, {
          action: context.payload.action,
          issue: {
            number: issue.number,
            author: { login: issue.user.login, id: issue.user.id, type: issue.user.type },
            isPullRequest: Boolean(issue.pull_request),
            body: issue.body ?? null,
          },
          commentId: comment.id,
          body: comment.body,
          sender: { login: sender.login, id: sender.id, type: sender.type },
        });
    });
  };
}

/** `probot run ./lib/app/index.js`: settings from the environment (see .env.example). */
export default (app: Probot): void => {
  const config = loadConfig(process.env);
  const timer = loadDeadlineConfig(process.env);
  createApp({
    config,
    ...(timer.enabled
      ? {
          deadlines: new DeadlineKeeper({
            workflow: timer.workflow,
            clock: systemClock,
            scheduler: systemScheduler,
            policies: new PolicyCache(),
            log: { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m) },
          }),
        }
      : {}),
  })(app);
};
