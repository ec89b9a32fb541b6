/**
 * Contract checks against GitHub's published OpenAPI description (@octokit/openapi), so a nock
 * mock cannot drift from the real API: every intercepted request and every mocked reply is
 * validated against the operation's schema. The checks themselves live in `openapi-contract.ts`.
 */
import nock from 'nock';
import { afterEach, beforeEach } from '@jest/globals';
import { checkRequest, checkResponse } from './openapi-contract.js';

export {
  checkRequest,
  checkResponse,
  checkWebhook,
  exampleResponse,
  findOperation,
  type FoundOperation,
} from './openapi-contract.js';

// ---------------------------------------------------------------------------------------------
// nock integration

export interface ContractCheckOptions {
  /** Hosts whose mocks are checked (default api.github.com). */
  hosts?: string[];
}

const problems: string[] = [];
let installed = false;
let checkedHosts = new Set(['api.github.com']);

interface NockReq {
  method?: string;
  path?: string;
  res?: { statusCode?: number };
}
interface NockInterceptor {
  scope: { urlParts?: { hostname?: string } };
  statusCode: number | null;
  body?: unknown;
  replyFunction?: (...args: unknown[]) => unknown;
  fullReplyFunction?: (...args: unknown[]) => unknown;
  req?: object;
}

/** Replies computed by reply functions, captured when nock calls them. */
const computed = new WeakMap<object, { status?: number; body: unknown }>();
const wrapped = new WeakSet<object>();

function wrapReplyFunctions(interceptor: NockInterceptor): void {
  const wrap = (fn: (...args: unknown[]) => unknown, full: boolean) => {
    // Callback-style reply functions (arity 3) are left alone: nock checks the arity.
    if (fn.length >= 3 || wrapped.has(fn)) return fn;
    const w = function (this: NockInterceptor, ...args: unknown[]) {
      const result = fn.apply(this, args);
      const req = this.req;
      void Promise.resolve(result).then(
        (value) => {
          if (!req) return;
          if (full && Array.isArray(value)) computed.set(req, { status: value[0], body: value[1] });
          else computed.set(req, { body: value });
        },
        () => {},
      );
      return result;
    };
    wrapped.add(w);
    return w;
  };
  if (interceptor.replyFunction) interceptor.replyFunction = wrap(interceptor.replyFunction, false);
  if (interceptor.fullReplyFunction) {
    interceptor.fullReplyFunction = wrap(interceptor.fullReplyFunction, true);
  }
}

const checked = (interceptor: NockInterceptor): boolean =>
  checkedHosts.has(interceptor.scope.urlParts?.hostname ?? '');

/** Hooks every nock scope's `request` and `replied` events. Idempotent. */
export function installContractChecks(options: ContractCheckOptions = {}): void {
  if (options.hosts) checkedHosts = new Set(options.hosts);
  if (installed) return;
  installed = true;
  const proto = Object.getPrototypeOf(nock('https://api.github.com')) as {
    emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean;
  };
  const originalEmit = proto.emit;
  proto.emit = function (event: string | symbol, ...args: unknown[]): boolean {
    try {
      const [req, interceptor, body] = args as [NockReq, NockInterceptor, unknown];
      if (event === 'request' && interceptor && checked(interceptor)) {
        problems.push(...checkRequest(req.method ?? 'GET', req.path ?? '/', body));
        wrapReplyFunctions(interceptor);
      } else if (event === 'replied' && interceptor && checked(interceptor)) {
        const reply = computed.get(req);
        const status = reply?.status ?? req.res?.statusCode ?? interceptor.statusCode ?? 200;
        const replyBody = reply ? reply.body : interceptor.body;
        if (
          typeof replyBody === 'string' ||
          Buffer.isBuffer(replyBody) ||
          replyBody == null ||
          typeof replyBody === 'object'
        ) {
          problems.push(...checkResponse(req.method ?? 'GET', req.path ?? '/', status, replyBody));
        }
      }
    } catch (e) {
      problems.push(`contract check crashed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return originalEmit.call(this, event, ...args);
  };
  // nock passes (options) or (request, options, body); options carry the host.
  type NoMatch = { method?: string; path?: string; hostname?: string };
  nock.emitter.on('no match', (first: NoMatch, second?: NoMatch) => {
    const req = second ?? first;
    if (checkedHosts.has(req.hostname ?? '')) {
      const why = checkRequest(req.method ?? 'GET', req.path ?? '/');
      problems.push(
        `${req.method ?? 'GET'} ${req.path ?? '/'}: no mock matched this request` +
          (why.length ? ` (and: ${why.join('; ')})` : ''),
      );
    }
  });
}

/** Problems found since the last reset. */
export const contractProblems = (): string[] => [...problems];
export const resetContractProblems = (): void => {
  problems.length = 0;
};

/** Throws one readable error listing every mock that drifted from GitHub's API. */
export function assertNoContractProblems(): void {
  if (problems.length === 0) return;
  const list = problems.map((p) => `  - ${p}`).join('\n');
  resetContractProblems();
  throw new Error(`nock mocks drift from GitHub's OpenAPI description:\n${list}`);
}

/** For a test file: check every mock in every test, failing the test that drifted. */
export function enableContractChecks(options: ContractCheckOptions = {}): void {
  installContractChecks(options);
  beforeEach(() => resetContractProblems());
  afterEach(() => assertNoContractProblems());
}
