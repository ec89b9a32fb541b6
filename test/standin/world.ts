/**
 * What every route sees: the repository, the in-memory state, how to shape answers and how to
 * send webhooks.
 */
import type { GitBackend } from './git-backend.js';
import type { Shapes } from './shapes.js';
import type { Actor, StandInState } from './state.js';

export interface AppConfig {
  id: number;
  slug: string;
  /** `<slug>[bot]` by default. */
  botLogin: string;
  botId: number;
  webhookSecret: string;
  installationId: number;
}

export interface World {
  owner: string;
  repo: string;
  /** Base URL of the stand-in (API and "web" share it). */
  url: string;
  defaultBranch: string;
  app: AppConfig;
  state: StandInState;
  git: GitBackend;
  shapes: Shapes;
  bot: Actor;
  /** Queues a webhook delivery (sent in order after the current request). */
  emit(event: string, payload: Record<string, unknown>, sender: Actor): void;
  /** Re-reads open PR heads and branch tips from git, emitting the events a push would. */
  syncPushes(pusher?: Actor): Promise<void>;
}

export interface RouteContext {
  world: World;
  params: Record<string, string>;
  query: URLSearchParams;
  // The body was checked against GitHub's schema before the route runs.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** Null for an unauthenticated request. */
  actor: Actor | null;
  headers: Record<string, string | string[] | undefined>;
  /** The request path and query as received (for pagination links). */
  path: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** The body is not JSON (raw media type): only its status is contract-checked. */
  raw?: boolean;
}

export type Route = (ctx: RouteContext) => Promise<Reply> | Reply;

/** GitHub's error body. */
export const error = (status: number, message: string, errors?: unknown[]): Reply => ({
  status,
  body: {
    message,
    ...(errors ? { errors } : {}),
    documentation_url: 'https://docs.github.com/rest',
    status: String(status),
  },
});

export const notFound = (): Reply => error(404, 'Not Found');

export const requireActor = (ctx: RouteContext): Actor => {
  if (!ctx.actor) throw new HttpError(error(401, 'Requires authentication'));
  return ctx.actor;
};

/** Thrown by a route to answer with an error at once. */
export class HttpError extends Error {
  constructor(readonly reply: Reply) {
    super(String((reply.body as { message?: string } | undefined)?.message ?? reply.status));
  }
}

/** One page of `items` and GitHub's `Link` header, from `per_page`/`page`. */
export function paginate<T>(ctx: RouteContext, items: T[]): { page: T[]; link?: string } {
  const perPage = Math.min(Math.max(Number(ctx.query.get('per_page') ?? 30) || 30, 1), 100);
  const page = Math.max(Number(ctx.query.get('page') ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (p: number, rel: string) => {
    const q = new URLSearchParams(ctx.query);
    q.set('page', String(p));
    return `<${ctx.world.url}${ctx.path.split('?')[0]}?${q.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  return { page: slice, ...(links.length ? { link: links.join(', ') } : {}) };
}

export const pageReply = <T>(ctx: RouteContext, items: T[], shape: (t: T) => unknown): Reply => {
  const { page, link } = paginate(ctx, items);
  return { status: 200, body: page.map(shape), ...(link ? { headers: { link } } : {}) };
};
