import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';

/** The Octokit gatepass builds: REST methods, pagination, retry and throttling. */
const GatepassOctokit = Octokit.plugin(retry, throttling);
export type GitHubOctokit = InstanceType<typeof GatepassOctokit>;

/** How many times a rate-limited request is retried before the error reaches the caller. */
export const RATE_LIMIT_RETRIES = 3;

export interface OctokitOptions {
  token: string;
  /** `https://api.github.com` by default; `https://ghe.example.com/api/v3` for GHES. */
  baseUrl?: string;
  userAgent?: string;
  /** Retry 5xx and network errors (default true; tests turn it off). */
  retry?: boolean;
  /** Queue requests and wait out rate limits (default true; tests turn it off). */
  throttle?: boolean;
  log?: (message: string) => void;
  /**
   * Milliseconds per second of `retry-after`. 1000 in production; tests shrink it so a
   * rate-limit retry does not sleep.
   */
  retryAfterMs?: number;
}

/**
 * The only place an Octokit is constructed. Probot builds its own (`context.octokit`), which is
 * compatible with everything that takes a `GitHubOctokit`.
 */
export function createOctokit(options: OctokitOptions): GitHubOctokit {
  const log = options.log ?? (() => {});
  const onLimit =
    (kind: string) =>
    (retryAfter: number, req: { method: string; url: string }, _o: unknown, retryCount: number) => {
      // Method and path only: the URL carries no token, but query strings are noise here.
      const what = `${req.method} ${req.url.replace(/^https?:\/\/[^/]+/, '').split('?')[0]}`;
      if (retryCount < RATE_LIMIT_RETRIES) {
        log(`GitHub ${kind} on ${what}: retrying in ${retryAfter}s`);
        return true;
      }
      log(`GitHub ${kind} on ${what}: giving up after ${retryCount} retries`);
      return false;
    };
  return new GatepassOctokit({
    auth: options.token,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    userAgent: options.userAgent ?? 'gatepass',
    log: {
      debug: () => {},
      info: () => {},
      warn: (m: string) => log(m),
      error: (m: string) => log(m),
    },
    retry: { enabled: options.retry ?? true },
    throttle:
      options.throttle === false
        ? { enabled: false }
        : {
            enabled: true,
            retryAfterBaseValue: options.retryAfterMs ?? 1000,
            onRateLimit: onLimit('rate limit'),
            onSecondaryRateLimit: onLimit('secondary rate limit'),
          },
  });
}

/** Anything with Octokit's hook API: ours, Probot's `context.octokit`. */
interface Hookable {
  hook: {
    before(name: 'request', fn: (options: { method: string; url: string }) => void): void;
  };
}

export interface ApiCallCounter {
  /**
   * Requests made since the counter was attached. A request retried by the retry or
   * throttling plugin counts once: this measures what the code asks for, not the attempts.
   */
  calls(): number;
  /** Calls per `METHOD /path` (path parameters filled in, query string dropped). */
  byRoute(): Record<string, number>;
}

/**
 * Counts the API calls an octokit makes from now on, so an operation (one reconcile, one
 * webhook) can report and bound its cost.
 */
export function countApiCalls(octokit: Hookable): ApiCallCounter {
  let total = 0;
  const routes: Record<string, number> = {};
  octokit.hook.before('request', (options) => {
    total += 1;
    const path = options.url.replace(/^https?:\/\/[^/]+/, '').split('?')[0];
    const key = `${options.method} ${path}`;
    routes[key] = (routes[key] ?? 0) + 1;
  });
  return { calls: () => total, byRoute: () => ({ ...routes }) };
}
