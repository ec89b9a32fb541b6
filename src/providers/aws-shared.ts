import type { Grant } from '../core/grant.js';
import { ProviderError } from '../core/errors.js';
import type { Problem } from '../core/problem.js';
import { problem } from './target-checks.js';

/*
 * What the two AWS providers share: how their SDK clients are configured, how they wait for
 * AWS's asynchronous operations, and how AWS errors become messages that are safe to print.
 *
 * Credentials and endpoints come from the standard AWS SDK configuration only (environment,
 * shared config/credentials files, web identity as set up by aws-actions/configure-aws-credentials,
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`): no policy key can carry a credential.
 * `AwsClientConfig` exists so tests (and the demo) can point the clients at the local stand-in
 * without touching the process environment; it is never read from a policy.
 */

export interface AwsClientConfig {
  /** An endpoint for every AWS client (the stand-in); unset means the SDK's own resolution. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface AwsProviderOptions {
  clients?: AwsClientConfig;
  /** How long to wait for an asynchronous Identity Center operation before giving up (ms). */
  waitTimeoutMs?: number;
  /** Injected so tests wait on the stand-in's poll count, not the wall clock. */
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_WAIT_MS = 60_000;

export const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** The constructor options every AWS SDK client of gatepass gets. */
export function clientOptions(region: string, config: AwsClientConfig = {}) {
  return {
    region,
    // The SDK's standard retry with backoff, a little more patient than its default of 3.
    maxAttempts: 5,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  };
}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

export function checkRegion(target: Record<string, unknown>): Problem[] {
  const r = target.region;
  return typeof r === 'string' && REGION.test(r)
    ? []
    : [problem('region', 'must be an AWS region such as eu-west-1')];
}

/** A string matching `pattern`, with a message that says what was expected. */
export function checkPattern(
  target: Record<string, unknown>,
  key: string,
  pattern: RegExp,
  expected: string,
): Problem[] {
  const v = target[key];
  if (typeof v === 'string' && pattern.test(v)) return [];
  if (typeof v === 'number' && key === 'account_id')
    return [problem(key, 'must be a quoted string of 12 digits (YAML drops leading zeros)')];
  return [problem(key, `must be ${expected}`)];
}

/**
 * AWS errors carry a name (the error code) and a message written by AWS; neither holds a
 * credential, but both are cut short so a surprising answer cannot flood a log.
 */
export function awsError(kind: string, what: string, e: unknown): ProviderError {
  if (e instanceof ProviderError) return e;
  const name = typeof e === 'object' && e !== null && 'name' in e ? String(e.name) : 'Error';
  const message =
    typeof e === 'object' && e !== null && 'message' in e ? String(e.message).slice(0, 300) : '';
  return new ProviderError(`${kind}: ${what} failed: ${name}${message ? `: ${message}` : ''}`);
}

export const errorName = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'name' in e ? String(e.name) : undefined;

/** A string fact recorded in `grant.issued`, or undefined. */
export function fact(grant: Grant, key: string): string | undefined {
  const v = grant.issued?.[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * Another grant of the same person that holds the same access now (threat #18 and issue #13):
 * active, recorded facts naming the same access, and not this grant. A grant that is only
 * approved has not been confirmed to hold anything, so it never keeps access alive.
 */
export function otherHolder(
  grant: Grant,
  live: readonly Grant[],
  same: (a: NonNullable<Grant['issued']>, b: NonNullable<Grant['issued']>) => boolean,
): Grant | undefined {
  const mine = grant.issued;
  if (!mine) return undefined;
  return live.find(
    (g) =>
      g.id !== grant.id &&
      g.status === 'active' &&
      g.requester.id === grant.requester.id &&
      g.issued !== undefined &&
      same(g.issued, mine),
  );
}
