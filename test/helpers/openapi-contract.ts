/**
 * Contract checks against GitHub's published OpenAPI description (@octokit/openapi): whether a
 * request is one GitHub would accept, a reply one GitHub would send, a webhook payload one
 * GitHub would deliver. No jest and no nock here, so the GitHub stand-in (test/standin) can use
 * it outside a test run (the demo); `openapi.ts` adds the nock integration.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';

const SPEC_ID = 'https://gatepass.invalid/api.github.com.json';

interface OpenApiSpec {
  paths: Record<string, Record<string, unknown>>;
  'x-webhooks'?: Record<string, { post?: OperationObject }>;
  components: Record<string, Record<string, unknown>>;
}

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Record<string, unknown>;
}

interface MediaObject {
  schema?: Record<string, unknown>;
  examples?: Record<string, { $ref?: string; value?: unknown }>;
  example?: unknown;
}

interface OperationObject {
  operationId: string;
  parameters?: ({ $ref: string } | ParameterObject)[];
  requestBody?: { required?: boolean; content?: Record<string, MediaObject> };
  responses: Record<string, { $ref?: string; content?: Record<string, MediaObject> }>;
}

export interface FoundOperation {
  method: string;
  /** The path template, e.g. `/repos/{owner}/{repo}/pulls/{pull_number}/reviews`. */
  template: string;
  operationId: string;
  operation: OperationObject;
  params: Record<string, string>;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];

let spec: OpenApiSpec | undefined;
let ajv: Ajv | undefined;
let templates: { template: string; segments: string[] }[] | undefined;
const validators = new Map<string, ValidateFunction>();

/** OpenAPI 3.0's `nullable` as JSON Schema, and `#/...` refs pointed at the shared document. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'nullable' || k === 'example' || k === 'examples') continue;
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) out[k] = SPEC_ID + v;
    // GitHub's description writes `oneOf` for alternatives that overlap (a 409 body is a
    // basic-error or a rule-violation error, and every basic error is both): no real answer
    // could pass "exactly one", so an alternative means "any of".
    else if (k === 'oneOf') out.anyOf = toJsonSchema(v);
    else if (k === 'properties' && v && typeof v === 'object') {
      // Property names are data, not keywords: never strip a property called `example`.
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, toJsonSchema(s)]));
    } else out[k] = toJsonSchema(v);
  }
  return (node as { nullable?: unknown }).nullable === true
    ? { anyOf: [{ type: 'null' }, out] }
    : out;
}

function load(): { spec: OpenApiSpec; ajv: Ajv } {
  if (!spec || !ajv) {
    const file = createRequire(import.meta.url).resolve(
      '@octokit/openapi/generated/api.github.com.json',
    );
    spec = JSON.parse(readFileSync(file, 'utf8')) as OpenApiSpec;
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    // Component schemas are registered once; each operation compiles only what it references.
    ajv.addSchema({
      $id: SPEC_ID,
      components: { schemas: toJsonSchema(spec.components.schemas) },
    });
    templates = Object.keys(spec.paths).map((template) => ({
      template,
      segments: template.split('/').slice(1),
    }));
  }
  return { spec, ajv };
}

/** Trailing parameters GitHub documents as holding slashes (file paths, refs). */
const GREEDY_PARAMS = new Set(['{path}', '{ref}', '{basehead}']);

const isParam = (segment: string): boolean => /^\{[^}]+\}$/.test(segment);

function resolveRef<T>(obj: T | { $ref: string }): T {
  const { spec: s } = load();
  let cur: unknown = obj;
  for (let i = 0; i < 10 && cur && typeof cur === 'object' && '$ref' in cur; i++) {
    const ref = (cur as { $ref: string }).$ref;
    cur = ref
      .replace(/^#\//, '')
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((o, key) => (o as Record<string, unknown>)?.[key], s);
  }
  return cur as T;
}

/** Strips the GHES prefix and the query string. */
const pathOnly = (url: string): string => {
  const p = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0] ?? '';
  return p.replace(/^\/api\/v3(?=\/)/, '') || '/';
};

/**
 * The operation a request is for, matching templated paths; the most specific template wins
 * (literal segments beat parameters), and a trailing parameter may hold slashes (`{path}`).
 */
export function findOperation(method: string, url: string): FoundOperation | undefined {
  const { spec: s } = load();
  const segments = pathOnly(url).split('/').slice(1);
  let best: { template: string; score: string; params: Record<string, string> } | undefined;
  for (const t of templates ?? []) {
    const last = t.segments.length - 1;
    const greedy = segments.length > t.segments.length && GREEDY_PARAMS.has(t.segments[last] ?? '');
    if (t.segments.length !== segments.length && !greedy) continue;
    const params: Record<string, string> = {};
    let score = '';
    let matches = true;
    for (let i = 0; i < t.segments.length && matches; i++) {
      const ts = t.segments[i] ?? '';
      const us = i === last && greedy ? segments.slice(i).join('/') : (segments[i] ?? '');
      if (isParam(ts)) {
        if (us === '') matches = false;
        params[ts.slice(1, -1)] = decodeURIComponent(us);
        score += '0';
      } else {
        matches = ts === us;
        score += '1';
      }
    }
    if (!matches) continue;
    if (!greedy) score += '1';
    if (!best || score > best.score) best = { template: t.template, score, params };
  }
  if (!best) return undefined;
  const operation = s.paths[best.template]?.[method.toLowerCase()] as OperationObject | undefined;
  if (!operation || !METHODS.includes(method.toLowerCase())) return undefined;
  return {
    method: method.toUpperCase(),
    template: best.template,
    operationId: operation.operationId,
    operation,
    params: best.params,
  };
}

function validator(key: string, schema: Record<string, unknown>): ValidateFunction {
  let v = validators.get(key);
  if (!v) {
    v = load().ajv.compile(toJsonSchema(schema) as Record<string, unknown>);
    validators.set(key, v);
  }
  return v;
}

const formatErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? [])
    // anyOf wrappers from `nullable` only repeat the real error; keep the informative ones.
    .filter((e) => e.keyword !== 'anyOf' && !(e.keyword === 'type' && e.params.type === 'null'))
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? e.keyword}`)
    .join('; ');

const parseBody = (body: unknown): { value: unknown; json: boolean } => {
  if (body === undefined || body === null || body === '') return { value: undefined, json: true };
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return { value: text, json: true };
  if (text === '') return { value: undefined, json: true };
  try {
    return { value: JSON.parse(text), json: true };
  } catch {
    return { value: text, json: false };
  }
};

const jsonMedia = (content: Record<string, MediaObject> | undefined): MediaObject | undefined =>
  content?.['application/json'] ??
  Object.entries(content ?? {}).find(([type]) => type.includes('json'))?.[1];

function coerceQuery(value: string, schema: Record<string, unknown> | undefined): unknown {
  const type = schema?.type;
  if (type === 'integer' || type === 'number') return value === '' ? value : Number(value);
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

/** Problems GitHub would have with this request (empty when it is a valid call). */
export function checkRequest(method: string, url: string, body?: unknown): string[] {
  const label = `${method.toUpperCase()} ${pathOnly(url)}`;
  const op = findOperation(method, url);
  if (!op) return [`${label}: no such operation in GitHub's REST API`];
  const problems: string[] = [];
  const query = new URL(url, 'https://api.github.com').searchParams;
  const params = (op.operation.parameters ?? []).map((p) => resolveRef<ParameterObject>(p));
  for (const [name, value] of query) {
    const decl = params.find((p) => p.in === 'query' && p.name === name);
    if (!decl) {
      problems.push(`${label} (${op.operationId}): unknown query parameter "${name}"`);
      continue;
    }
    if (decl.schema) {
      const v = validator(`${op.operationId} query ${name}`, decl.schema);
      if (!v(coerceQuery(value, decl.schema))) {
        problems.push(`${label}: query parameter ${name}=${value}: ${formatErrors(v.errors)}`);
      }
    }
  }
  const parsed = parseBody(body);
  const media = jsonMedia(op.operation.requestBody?.content);
  if (parsed.value === undefined) {
    if (op.operation.requestBody?.required) {
      problems.push(`${label} (${op.operationId}): request body is required`);
    }
  } else if (!op.operation.requestBody) {
    problems.push(`${label} (${op.operationId}): sends a body but the operation takes none`);
  } else if (media?.schema) {
    if (!parsed.json) problems.push(`${label}: request body is not JSON`);
    else {
      const v = validator(`${op.operationId} request`, media.schema);
      if (!v(parsed.value)) {
        problems.push(`${label} (${op.operationId}): request body: ${formatErrors(v.errors)}`);
      }
    }
  }
  return problems;
}

/**
 * Problems with a reply GitHub would not send: a success status the operation does not
 * document, or a body not matching the documented schema. Undocumented error statuses
 * (401, 403, 404, 5xx, rate limits) are allowed: GitHub may answer any call with them.
 */
export function checkResponse(
  method: string,
  url: string,
  status: number,
  body?: unknown,
): string[] {
  const label = `${method.toUpperCase()} ${pathOnly(url)} → ${status}`;
  const op = findOperation(method, url);
  if (!op) return [`${label}: no such operation in GitHub's REST API`];
  const declared = op.operation.responses[String(status)];
  if (!declared) {
    if (status < 400) {
      const known = Object.keys(op.operation.responses).join(', ');
      return [`${label} (${op.operationId}): status not documented (documented: ${known})`];
    }
    return [];
  }
  const response = resolveRef<{ content?: Record<string, MediaObject> }>(declared);
  const parsed = parseBody(body);
  const media = jsonMedia(response.content);
  if (!media?.schema) {
    return parsed.value === undefined || status >= 400
      ? []
      : [`${label} (${op.operationId}): GitHub sends no body with this status`];
  }
  if (!parsed.json) return [`${label} (${op.operationId}): response body is not JSON`];
  const v = validator(`${op.operationId} ${status}`, media.schema);
  return v(parsed.value)
    ? []
    : [`${label} (${op.operationId}): response body: ${formatErrors(v.errors)}`];
}

/**
 * The example GitHub's description gives for a response, as a fixture base: real shapes,
 * real field names. Deep-copied, so a test may change it.
 */
export function exampleResponse(method: string, template: string, status = 200): unknown {
  const { spec: s } = load();
  const op = s.paths[template]?.[method.toLowerCase()] as OperationObject | undefined;
  const declared = op?.responses[String(status)];
  if (!declared) throw new Error(`no documented ${status} for ${method} ${template}`);
  const media = jsonMedia(resolveRef<{ content?: Record<string, MediaObject> }>(declared).content);
  const first = media?.examples ? Object.values(media.examples)[0] : undefined;
  let value = first ? resolveRef<{ value?: unknown }>(first).value : media?.example;
  // Some examples are a reference to a shared example (`issues/get` → components/examples/issue).
  if (value && typeof value === 'object' && '$ref' in value)
    value = resolveRef<{ value?: unknown }>(value as { $ref: string }).value;
  if (value === undefined) throw new Error(`no example for ${status} of ${method} ${template}`);
  return structuredClone(value);
}

/**
 * Problems with a webhook payload GitHub would not deliver: an event/action pair GitHub does
 * not have, or a payload not matching its documented schema (`x-webhooks`).
 */
export function checkWebhook(event: string, payload: unknown): string[] {
  const { spec: s } = load();
  const action =
    payload &&
    typeof payload === 'object' &&
    typeof (payload as { action?: unknown }).action === 'string'
      ? (payload as { action: string }).action
      : undefined;
  const name = event.replace(/_/g, '-');
  // Actions are spelled with underscores in payloads, with hyphens in the description's keys.
  const full = action ? `${name}-${action.replace(/_/g, '-')}` : undefined;
  const key = full && s['x-webhooks']?.[full] ? full : name;
  const label = `webhook ${event}${action ? `.${action}` : ''}`;
  const media = jsonMedia(s['x-webhooks']?.[key]?.post?.requestBody?.content);
  if (!media?.schema) return [`${label}: no such webhook in GitHub's description`];
  const v = validator(`webhook ${key}`, media.schema);
  return v(payload) ? [] : [`${label}: payload: ${formatErrors(v.errors)}`];
}
