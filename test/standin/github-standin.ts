/**
 * A TEST DOUBLE for GitHub, used by the demo and the end-to-end tests; never shipped with the
 * app. A local HTTP server on 127.0.0.1 speaking the part of GitHub's REST API gatepass uses,
 * with its repository a real bare git repo on disk, sending signed webhooks to the app. Every
 * request and reply is checked against GitHub's OpenAPI description: an operation GitHub does
 * not have, a body GitHub would reject or a reply GitHub would not send is a contract problem.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { checkRequest, checkResponse, findOperation } from '../helpers/openapi-contract.js';
import { GitBackend } from './git-backend.js';
import { actionRoutes, type DispatchRecord } from './routes/actions.js';
import { checkRoutes } from './routes/checks.js';
import { issueRoutes } from './routes/issues.js';
import { peopleRoutes } from './routes/people.js';
import { pullRoutes } from './routes/pulls.js';
import { gitPerson, repoRoutes } from './routes/repos.js';
import { settingsRoutes } from './routes/settings.js';
import { Shapes } from './shapes.js';
import { StandInState, type Actor } from './state.js';
import { WebhookSender, type Delivery, type InProcessDelivery } from './webhooks.js';
import {
  error,
  HttpError,
  notFound,
  type AppConfig,
  paginate,
  type Reply,
  type Route,
  type RouteContext,
  type World,
} from './world.js';

export type { Delivery, InProcessDelivery } from './webhooks.js';
export type { DispatchRecord } from './routes/actions.js';

export interface StandInUser {
  login: string;
  id: number;
  /** Public SSH keys (`GET /users/{username}/keys`). */
  keys?: string[];
}

export interface StandInOptions {
  owner: string;
  repo: string;
  users: StandInUser[];
  /** `org/slug` → member logins (all active members). */
  teams?: Record<string, string[]>;
  /** Direct collaborators of the repo: login → permission (pull, triage, push, maintain, admin). */
  collaborators?: Record<string, string>;
  app: {
    id: number;
    slug: string;
    botLogin?: string;
    botId: number;
    webhookSecret: string;
    /** Where webhooks are POSTed. Without it (and without `deliver`) they are only recorded. */
    webhookUrl?: string;
    installationId?: number;
  };
  /** In-process delivery instead of HTTP (faster; same payloads and signature). */
  deliver?: (d: InProcessDelivery) => Promise<unknown>;
  /** Files of the initial commit on the default branch (path → content). */
  files?: Record<string, string>;
  /** A local folder copied into the initial commit under `policies/`. */
  policiesDir?: string;
  defaultBranch?: string;
  /** The clock timestamps are taken from (default: the real one). */
  now?: () => Date;
  /** Where the bare repo goes (default: a new temp folder, removed by `stop`). */
  dir?: string;
  /** Called for each accepted `workflow_dispatch` (GitHub would queue a workflow run). */
  onWorkflowDispatch?: (d: DispatchRecord) => void;
  log?: (line: string) => void;
}

export interface ApiResult<T = unknown> {
  status: number;
  data: T;
  headers: Headers;
}

/** A person acting on the stand-in through its API (with their token), as they would on GitHub. */
export interface PersonClient {
  readonly login: string;
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ApiResult<T>>;
  openIssue(o: { title: string; body?: string; labels?: string[] }): Promise<number>;
  editIssue(
    n: number,
    o: { title?: string; body?: string; state?: 'open' | 'closed' },
  ): Promise<void>;
  comment(issue: number, body: string): Promise<number>;
  /** Commits `files` (path → content, null deletes) on `branch` and pushes it (created from `from`). */
  push(o: {
    branch: string;
    files: Record<string, string | null>;
    message?: string;
    from?: string;
  }): Promise<string>;
  /** Pushes `files` to a new branch `head` (when given) and opens a pull request for it. */
  openPullRequest(o: {
    title: string;
    head: string;
    body?: string;
    base?: string;
    files?: Record<string, string | null>;
    message?: string;
  }): Promise<number>;
  review(
    pr: number,
    event: 'APPROVE' | 'REQUEST_CHANGES' | 'COMMENT',
    o?: { body?: string; commitId?: string },
  ): Promise<number>;
  dismissReview(pr: number, reviewId: number, message: string): Promise<void>;
  requestReviewers(pr: number, reviewers: string[], teams?: string[]): Promise<void>;
  merge(
    pr: number,
    o?: { method?: 'merge' | 'squash' | 'rebase'; sha?: string; title?: string; message?: string },
  ): Promise<ApiResult<{ sha: string; merged: boolean; message: string }>>;
  rerequestCheckRun(id: number): Promise<void>;
  acceptInvitation(id: number): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId: string | null;
  status: number;
  actor: string | null;
  body: unknown;
}

export interface GitHubStandIn {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Octokit's `baseUrl`. */
  apiUrl: string;
  /** The bare repository: usable as a git remote for clones and pushes. */
  gitDir: string;
  owner: string;
  repo: string;
  /** A token that acts as this person (`Authorization: token …`). */
  tokenFor(login: string): string;
  /** An installation token acting as the app's bot. */
  appToken: string;
  as(login: string): PersonClient;
  /** Webhook deliveries, in the order they were queued, with the app's answers. */
  events: Delivery[];
  /** Contract problems (requests GitHub would refuse, replies GitHub would not send…). */
  problems: string[];
  /** Every API request answered, in order. */
  requests: RecordedRequest[];
  /** Every accepted `workflow_dispatch`, in order. */
  dispatches: DispatchRecord[];
  /**
   * An organization owner removes `login` from a team (`membership.removed`), or from the
   * organization and so from all its teams (`organization.member_removed`).
   */
  removeFromTeam(team: string, login: string, by: string): Promise<void>;
  removeFromOrganization(login: string, by: string): Promise<void>;
  state: StandInState;
  git: GitBackend;
  /** Notices pushes made straight to `gitDir` and sends their `push`/`synchronize` events. */
  syncPushes(): Promise<void>;
  /** Resolves once every queued webhook has been answered. */
  settled(): Promise<void>;
  redeliver(id: string): Promise<Delivery>;
  stop(): Promise<void>;
}

/** Throws one readable error listing every contract problem the stand-in saw. */
export function expectNoContractProblems(standin: Pick<GitHubStandIn, 'problems'>): void {
  if (standin.problems.length === 0) return;
  throw new Error(
    `the GitHub stand-in saw calls or answers GitHub would not make:\n` +
      standin.problems.map((p) => `  - ${p}`).join('\n'),
  );
}

const token = (prefix: string): string => prefix + randomBytes(18).toString('hex');

/** GitHub Actions' bot: who a push straight to the repo comes from (the action's token). */
const ACTIONS_BOT: Actor = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

function filesFrom(dir: string, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[`${prefix}/${relative(dir, p)}`] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

export async function startGitHubStandIn(options: StandInOptions): Promise<GitHubStandIn> {
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  const state = new StandInState(now);
  const problems: string[] = [];
  const requests: RecordedRequest[] = [];
  const dispatches: DispatchRecord[] = [];
  const root = options.dir ?? mkdtempSync(join(tmpdir(), 'gatepass-standin-'));
  const gitDir = join(root, `${options.repo}.git`);
  const defaultBranch = options.defaultBranch ?? 'main';
  const app: AppConfig = {
    id: options.app.id,
    slug: options.app.slug,
    botLogin: options.app.botLogin ?? `${options.app.slug}[bot]`,
    botId: options.app.botId,
    webhookSecret: options.app.webhookSecret,
    installationId: options.app.installationId ?? 4242,
  };
  const bot: Actor = { login: app.botLogin, id: app.botId, type: 'Bot' };

  for (const u of options.users) {
    state.addUser({
      login: u.login,
      id: u.id,
      type: 'User',
      keys: (u.keys ?? []).map((key, i) => ({ id: u.id * 100 + i, key })),
    });
  }
  for (const [key, members] of Object.entries(options.teams ?? {})) {
    const [org = '', slug = ''] = key.split('/');
    const team = state.addTeam(org, slug);
    for (const m of members) team.members.set(m.toLowerCase(), { role: 'member', state: 'active' });
  }
  state.installation.repositories = [`${options.owner}/${options.repo}`];
  for (const [login, perm] of Object.entries(options.collaborators ?? {})) {
    state.collaborators.set(login.toLowerCase(), perm);
  }

  const files = {
    ...(options.policiesDir ? filesFrom(options.policiesDir, 'policies') : {}),
    ...(options.files ?? { 'grants/.gitkeep': '' }),
  };
  const git = await GitBackend.create({
    dir: gitDir,
    defaultBranch,
    files,
    author: { name: options.owner, email: `${options.owner}@users.noreply.github.com` },
    now,
  });

  const webhooks = new WebhookSender(
    app.webhookSecret,
    {
      ...(options.app.webhookUrl ? { url: options.app.webhookUrl } : {}),
      ...(options.deliver ? { deliver: options.deliver } : {}),
    },
    app.id,
    (p) => problems.push(p),
  );

  let branchTips = new Map((await git.refs('refs/heads/')).map((r) => [r.ref, r.sha]));

  const world: World = {
    owner: options.owner,
    repo: options.repo,
    url: '',
    defaultBranch,
    app,
    state,
    git,
    shapes: undefined as unknown as Shapes,
    bot,
    emit(event, fields, sender) {
      const d = webhooks.enqueue(event, {
        ...fields,
        repository: world.shapes.repository(),
        sender: world.shapes.user(sender),
        installation: {
          id: app.installationId,
          node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u${app.installationId}`,
        },
      });
      log(`webhook ${event}${d.action ? `.${d.action}` : ''} (${d.id})`);
    },
    syncPushes: (pusher) => syncPushesNow(pusher ?? ACTIONS_BOT),
  };
  world.shapes = new Shapes(world);

  /** Compares branch tips with the last look and sends what GitHub sends for a push. */
  async function syncPushesNow(pusher: Actor): Promise<void> {
    const current = new Map((await git.refs('refs/heads/')).map((r) => [r.ref, r.sha]));
    const zero = '0'.repeat(40);
    for (const ref of new Set([...branchTips.keys(), ...current.keys()])) {
      const before = branchTips.get(ref) ?? zero;
      const after = current.get(ref) ?? zero;
      if (before === after) continue;
      world.emit('push', await pushPayload(ref, before, after, pusher), pusher);
    }
    branchTips = current;
    for (const issue of state.issues.values()) {
      const p = issue.pull;
      if (!p || issue.state !== 'open') continue;
      const base = current.get(`refs/heads/${p.base}`);
      if (base) p.base_sha = base;
      const head = current.get(`refs/heads/${p.head}`);
      if (head && head !== p.head_sha) {
        const before = p.head_sha;
        p.head_sha = head;
        issue.updated_at = state.timestamp();
        world.emit(
          'pull_request',
          {
            action: 'synchronize',
            number: issue.number,
            before,
            after: head,
            pull_request: world.shapes.pull(issue as typeof issue & { pull: typeof p }),
          },
          pusher,
        );
      }
    }
  }

  async function pushPayload(ref: string, before: string, after: string, pusher: Actor) {
    const zero = '0'.repeat(40);
    const shas =
      after === zero
        ? []
        : before === zero
          ? [after]
          : (await git.commitsBetween(before, after)).slice(-20);
    const commits = [];
    for (const sha of shas) {
      const c = await git.commit(sha);
      if (!c) continue;
      const diff = await git.diff(c.parents[0] ?? null, sha);
      commits.push({
        id: sha,
        tree_id: c.tree,
        distinct: true,
        message: c.message.replace(/\n$/, ''),
        timestamp: c.committer.date,
        url: `${world.url}/${options.owner}/${options.repo}/commit/${sha}`,
        author: { name: c.author.name, email: c.author.email },
        committer: { name: c.committer.name, email: c.committer.email },
        added: diff.filter((f) => f.status === 'added').map((f) => f.filename),
        removed: diff.filter((f) => f.status === 'removed').map((f) => f.filename),
        modified: diff.filter((f) => f.status === 'modified').map((f) => f.filename),
      });
    }
    const repository = world.shapes.repository();
    return {
      ref,
      before,
      after,
      created: before === zero,
      deleted: after === zero,
      forced: before !== zero && after !== zero && !(await git.isAncestor(before, after)),
      base_ref: null,
      compare: `${world.url}/${options.owner}/${options.repo}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
      commits,
      head_commit: commits[commits.length - 1] ?? null,
      pusher: { name: pusher.login, email: gitPerson(pusher).email },
      repository: {
        ...repository,
        created_at: Math.floor(Date.parse(String(repository.created_at)) / 1000),
        pushed_at: Math.floor(now().getTime() / 1000),
        stargazers: repository.stargazers_count,
        master_branch: defaultBranch,
      },
    };
  }

  // Tokens: people's, and installation tokens for the app's bot.
  const tokens = new Map<string, Actor>();
  const tokenFor = (login: string): string => {
    const user = state.user(login);
    if (!user) throw new Error(`the stand-in has no user ${login}`);
    for (const [t, a] of tokens) if (a.login === user.login && t.startsWith('ghu_')) return t;
    const t = token('ghu_');
    tokens.set(t, { login: user.login, id: user.id, type: 'User' });
    return t;
  };
  const appToken = token('ghs_');
  tokens.set(appToken, bot);

  /** A JWT signed by the app (Probot's app auth): its `iss` must be the app id. */
  const isAppJwt = (t: string): boolean => {
    const parts = t.split('.');
    if (parts.length !== 3) return false;
    try {
      const claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
      return String(claims.iss) === String(app.id);
    } catch {
      return false;
    }
  };

  const installation = () => ({
    ...world.shapes.app(),
    id: app.installationId,
    account: world.shapes.owner(),
    repository_selection: 'selected',
    access_tokens_url: `${world.url}/app/installations/${app.installationId}/access_tokens`,
    repositories_url: `${world.url}/installation/repositories`,
    html_url: `${world.url}/settings/installations/${app.installationId}`,
    app_id: app.id,
    app_slug: app.slug,
    target_id: 1,
    target_type: 'Organization',
    permissions: { ...state.installation.permissions, metadata: 'read' },
    events: [
      'issues',
      'issue_comment',
      'pull_request',
      'pull_request_review',
      'check_run',
      'push',
      'organization',
      'membership',
    ],
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2020-01-01T00:00:00Z',
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_at: null,
    suspended_by: null,
  });

  const appRoutes: Record<string, Route> = {
    'apps/get-authenticated': () => ({ status: 200, body: world.shapes.app() }),
    'apps/get-installation': (ctx) =>
      Number(ctx.params.installation_id) === app.installationId
        ? { status: 200, body: cleanInstallation(installation()) }
        : notFound(),
    'apps/get-repo-installation': () => ({ status: 200, body: cleanInstallation(installation()) }),
    'apps/create-installation-access-token': (ctx) => {
      if (Number(ctx.params.installation_id) !== app.installationId) return notFound();
      const t = token('ghs_');
      tokens.set(t, bot);
      return {
        status: 201,
        body: {
          token: t,
          expires_at: new Date(now().getTime() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: installation().permissions,
          repository_selection: 'selected',
        },
      };
    },
    // Answered for an installation token only (the app's bot): where the app is installed.
    'apps/list-repos-accessible-to-installation': (ctx) => {
      if (ctx.actor?.login !== bot.login)
        return error(403, 'You must authenticate with an installation access token');
      const repos = state.installation.repositories.map((full) =>
        world.shapes.otherRepository(full),
      );
      const { page, link } = paginate(ctx, repos);
      return {
        status: 200,
        body: { total_count: repos.length, repositories: page, repository_selection: 'selected' },
        ...(link ? { headers: { link } } : {}),
      };
    },
  };
  const routes: Record<string, Route> = {
    ...repoRoutes,
    ...issueRoutes,
    ...pullRoutes,
    ...checkRoutes,
    ...peopleRoutes,
    ...actionRoutes(dispatches, options.onWorkflowDispatch),
    ...settingsRoutes,
    ...appRoutes,
  };
  const APP_ONLY = new Set(
    Object.keys(appRoutes).filter(
      (k) =>
        k !== 'apps/get-repo-installation' && k !== 'apps/list-repos-accessible-to-installation',
    ),
  );

  // One request at a time: the stand-in's answers never interleave, so tests are deterministic.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  type Handled = Reply & { operationId: string | null; actor: Actor | null };
  async function handle(req: IncomingMessage, rawBody: string): Promise<Handled> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const op = findOperation(method, path);
    if (!op) {
      problems.push(`${method} ${path.split('?')[0]}: no such operation in GitHub's REST API`);
      return { ...notFound(), operationId: null, actor: null };
    }
    const requestProblems = checkRequest(method, path, rawBody);
    if (requestProblems.length) {
      problems.push(...requestProblems);
      return {
        ...error(
          422,
          'Validation Failed',
          requestProblems.map((message) => ({ code: 'invalid', message })),
        ),
        operationId: op.operationId,
        actor: null,
      };
    }
    const auth = String(req.headers.authorization ?? '');
    const presented = auth.replace(/^(token|bearer)\s+/i, '');
    let actor: Actor | null = null;
    const appAuth = presented !== '' && isAppJwt(presented);
    if (presented && !appAuth) {
      actor = tokens.get(presented) ?? null;
      if (!actor)
        return { ...error(401, 'Bad credentials'), operationId: op.operationId, actor: null };
    }
    if (
      APP_ONLY.has(op.operationId) !== appAuth &&
      !(op.operationId === 'apps/get-repo-installation' && appAuth)
    ) {
      const message = appAuth
        ? 'A JSON web token cannot be used to authenticate to this endpoint'
        : 'A JSON web token could not be decoded';
      return { ...error(401, message), operationId: op.operationId, actor };
    }
    const repoParam = op.params.owner !== undefined && op.params.repo !== undefined;
    if (
      repoParam &&
      (op.params.owner?.toLowerCase() !== options.owner.toLowerCase() ||
        op.params.repo?.toLowerCase() !== options.repo.toLowerCase())
    ) {
      return { ...notFound(), operationId: op.operationId, actor };
    }
    const route = routes[op.operationId];
    if (!route) {
      problems.push(
        `${method} ${op.template} (${op.operationId}): not implemented by the stand-in`,
      );
      return { ...notFound(), operationId: op.operationId, actor };
    }
    // Pushes made straight to the bare repo are noticed before anything reads it.
    await syncPushesNow(ACTIONS_BOT);
    const ctx: RouteContext = {
      world,
      params: op.params,
      query: new URL(path, 'http://x').searchParams,
      body: rawBody ? JSON.parse(rawBody) : undefined,
      actor,
      headers: req.headers,
      path,
    };
    try {
      return { ...(await route(ctx)), operationId: op.operationId, actor };
    } catch (e) {
      if (e instanceof HttpError) return { ...e.reply, operationId: op.operationId, actor };
      problems.push(
        `${method} ${path}: the stand-in failed: ${e instanceof Error ? e.stack : String(e)}`,
      );
      return { ...error(500, 'Server Error'), operationId: op.operationId, actor };
    }
  }

  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      void exclusive(async () => {
        const method = req.method ?? 'GET';
        const path = req.url ?? '/';
        const reply = await handle(req, rawBody);
        const text =
          reply.body === undefined
            ? ''
            : reply.raw
              ? String(reply.body)
              : JSON.stringify(reply.body);
        if (reply.operationId) {
          const bodyForCheck = reply.raw ? undefined : text;
          for (const p of checkResponse(method, path, reply.status, bodyForCheck)) problems.push(p);
        }
        requests.push({
          method,
          path,
          operationId: reply.operationId,
          status: reply.status,
          actor: reply.actor?.login ?? null,
          body: rawBody ? safeJson(rawBody) : undefined,
        });
        log(`${method} ${path} → ${reply.status}${reply.actor ? ` (${reply.actor.login})` : ''}`);
        res.writeHead(reply.status, {
          ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
          'x-github-media-type': 'github.v3; format=json',
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '4999',
          'x-ratelimit-reset': String(Math.floor(now().getTime() / 1000) + 3600),
          'x-ratelimit-resource': 'core',
          'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
          ...reply.headers,
        });
        res.end(text);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  world.url = url;

  const api = async <T>(
    tok: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ApiResult<T>> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `token ${tok}`,
        accept: 'application/vnd.github+json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      data: (text ? safeJson(text) : undefined) as T,
      headers: res.headers,
    };
  };

  const repoPath = `/repos/${options.owner}/${options.repo}`;

  function as(login: string): PersonClient {
    const tok = tokenFor(login);
    const user = state.user(login);
    const actor: Actor = { login: user?.login ?? login, id: user?.id ?? 0, type: 'User' };
    const call = async <T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
    ) => {
      const r = await api<T>(tok, method, path, body);
      await webhooks.settled();
      if (r.status >= 400) {
        const msg = (r.data as { message?: string } | undefined)?.message ?? '';
        throw Object.assign(new Error(`${login}: ${method} ${path} → ${r.status} ${msg}`), {
          status: r.status,
          data: r.data,
        });
      }
      return r;
    };
    const client: PersonClient = {
      login,
      request: async (method, path, body) => {
        const r = await api(tok, method, path, body);
        await webhooks.settled();
        return r as never;
      },
      openIssue: async (o) =>
        (await call<{ number: number }>('POST', `${repoPath}/issues`, o)).data.number,
      editIssue: async (n, o) => {
        await call('PATCH', `${repoPath}/issues/${n}`, o);
      },
      comment: async (n, body) =>
        (await call<{ id: number }>('POST', `${repoPath}/issues/${n}/comments`, { body })).data.id,
      push: (o) =>
        exclusive(async () => {
          const ref = `refs/heads/${o.branch}`;
          const tip = await git.resolveCommit(ref);
          const parent = tip ?? (await git.resolveCommit(`refs/heads/${o.from ?? defaultBranch}`));
          const changes = Object.entries(o.files).map(([path, content]) => ({ path, content }));
          const sha = await git.commitChanges(
            parent,
            changes,
            o.message ?? `Update ${o.branch}`,
            gitPerson(actor),
          );
          if (!(await git.updateRef(ref, sha, tip)))
            throw new Error(`push to ${o.branch} rejected`);
          await syncPushesNow(actor);
          return sha;
        }).then(async (sha) => {
          await webhooks.settled();
          return sha;
        }),
      openPullRequest: async (o) => {
        if (o.files) {
          await client.push({
            branch: o.head,
            files: o.files,
            ...(o.message ? { message: o.message } : {}),
            ...(o.base ? { from: o.base } : {}),
          });
        }
        const r = await call<{ number: number }>('POST', `${repoPath}/pulls`, {
          title: o.title,
          head: o.head,
          base: o.base ?? defaultBranch,
          ...(o.body !== undefined ? { body: o.body } : {}),
        });
        return r.data.number;
      },
      review: async (pr, event, o = {}) =>
        (
          await call<{ id: number }>('POST', `${repoPath}/pulls/${pr}/reviews`, {
            event,
            ...(o.body !== undefined ? { body: o.body } : {}),
            ...(o.commitId ? { commit_id: o.commitId } : {}),
          })
        ).data.id,
      dismissReview: async (pr, id, message) => {
        await call('PUT', `${repoPath}/pulls/${pr}/reviews/${id}/dismissals`, { message });
      },
      requestReviewers: async (pr, reviewers, teams = []) => {
        await call('POST', `${repoPath}/pulls/${pr}/requested_reviewers`, {
          reviewers,
          team_reviewers: teams,
        });
      },
      merge: async (pr, o = {}) =>
        client.request('PUT', `${repoPath}/pulls/${pr}/merge`, {
          ...(o.method ? { merge_method: o.method } : {}),
          ...(o.sha ? { sha: o.sha } : {}),
          ...(o.title ? { commit_title: o.title } : {}),
          ...(o.message !== undefined ? { commit_message: o.message } : {}),
        }) as never,
      rerequestCheckRun: async (id) => {
        await call('POST', `${repoPath}/check-runs/${id}/rerequest`);
      },
      acceptInvitation: async (id) => {
        await call('PATCH', `/user/repository_invitations/${id}`);
      },
    };
    return client;
  }

  const actorOf = (login: string): Actor => {
    const u = state.user(login);
    if (!u) throw new Error(`the stand-in has no user ${login}`);
    return { login: u.login, id: u.id, type: 'User' };
  };
  /** The organization as webhooks describe it (`organization-simple-webhooks`). */
  const organizationShape = () => {
    const o = `${url}/orgs/${options.owner}`;
    return {
      login: options.owner,
      id: 1,
      node_id: 'O_1',
      url: o,
      repos_url: `${o}/repos`,
      events_url: `${o}/events`,
      hooks_url: `${o}/hooks`,
      issues_url: `${o}/issues`,
      members_url: `${o}/members{/member}`,
      public_members_url: `${o}/public_members{/member}`,
      avatar_url: `${url}/avatars/${options.owner}`,
      description: null,
    };
  };
  /** An owner removes `login` from `org/slug`, and GitHub sends `membership.removed`. */
  function removeMember(team: string, login: string, by: string): void {
    const [org = '', slug = ''] = team.split('/');
    const t = state.team(org, slug);
    const user = state.user(login);
    if (!t || !user) throw new Error(`the stand-in has no team ${team} or no user ${login}`);
    t.members.delete(user.login.toLowerCase());
    const { members_count: _m, repos_count: _r, organization: _o, ...shape } = world.shapes.team(t);
    world.emit(
      'membership',
      {
        action: 'removed',
        scope: 'team',
        member: world.shapes.user(user),
        team: shape,
        organization: organizationShape(),
      },
      actorOf(by),
    );
  }

  log(`GitHub stand-in on ${url}, repo ${options.owner}/${options.repo} at ${gitDir}`);
  return {
    url,
    apiUrl: url,
    gitDir,
    owner: options.owner,
    repo: options.repo,
    tokenFor,
    appToken,
    as,
    events: webhooks.deliveries,
    problems,
    requests,
    state,
    git,
    syncPushes: async () => {
      await exclusive(() => syncPushesNow(ACTIONS_BOT));
      await webhooks.settled();
    },
    settled: () => webhooks.settled(),
    redeliver: (id) => webhooks.redeliver(id),
    dispatches,
    removeFromTeam: async (team, login, by) => {
      await exclusive(async () => removeMember(team, login, by));
      await webhooks.settled();
    },
    removeFromOrganization: async (login, by) => {
      await exclusive(async () => {
        const user = state.user(login);
        if (!user) throw new Error(`the stand-in has no user ${login}`);
        for (const t of state.teams.values())
          if (t.org.toLowerCase() === options.owner.toLowerCase())
            t.members.delete(user.login.toLowerCase());
        world.emit(
          'organization',
          {
            action: 'member_removed',
            membership: {
              url: `${url}/orgs/${options.owner}/memberships/${user.login}`,
              state: 'active',
              role: 'member',
              organization_url: `${url}/orgs/${options.owner}`,
              user: world.shapes.user(user),
            },
            organization: organizationShape(),
          },
          actorOf(by),
        );
      });
      await webhooks.settled();
    },
    stop: async () => {
      await webhooks.settled();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // A folder the caller chose is the caller's to remove.
      if (!options.dir) rmSync(root, { recursive: true, force: true });
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The installation object without the app-only fields the installation schema does not have. */
function cleanInstallation(i: Record<string, unknown>): Record<string, unknown> {
  const out = { ...i };
  for (const k of [
    'slug',
    'node_id',
    'owner',
    'name',
    'description',
    'external_url',
    'installations_count',
    'client_secret',
    'webhook_secret',
    'pem',
  ]) {
    delete out[k];
  }
  return out;
}
