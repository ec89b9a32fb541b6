import { createRequire } from 'node:module';
import { PrincipalType, StatusValues, TargetType } from '@aws-sdk/client-sso-admin';

/*
 * AWS's published service models (the `apis/*.min.json` files of the `aws-sdk` v2 package:
 * operations, shapes, member types, required members) and the checks the stand-in runs on every
 * request it receives and every response it sends, so the stand-in cannot drift from the real
 * API. The min models leave out enums; the few enum-typed members the providers use are checked
 * against the enum constants AWS's v3 clients export (generated from the same models).
 */

const require = createRequire(import.meta.url);

export interface ShapeRef {
  shape?: string;
  type?: string;
  members?: Record<string, ShapeRef>;
  required?: string[];
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  document?: boolean;
  union?: boolean;
  resultWrapper?: string;
  locationName?: string;
  flattened?: boolean;
}

export interface ServiceModel {
  metadata: {
    protocol: string;
    targetPrefix?: string;
    signingName?: string;
    endpointPrefix: string;
    apiVersion: string;
    xmlNamespace?: string;
  };
  operations: Record<string, { input?: ShapeRef; output?: ShapeRef }>;
  shapes: Record<string, ShapeRef>;
}

export type ServiceName = 'sso-admin' | 'identitystore' | 'sts' | 'iam';

const FILES: Record<ServiceName, string> = {
  'sso-admin': 'aws-sdk/apis/sso-admin-2020-07-20.min.json',
  identitystore: 'aws-sdk/apis/identitystore-2020-06-15.min.json',
  sts: 'aws-sdk/apis/sts-2011-06-15.min.json',
  iam: 'aws-sdk/apis/iam-2010-05-08.min.json',
};

const cache = new Map<ServiceName, ServiceModel>();
export function model(service: ServiceName): ServiceModel {
  let m = cache.get(service);
  if (!m) cache.set(service, (m = require(FILES[service]) as ServiceModel));
  return m;
}

/** Enum-typed members, by service and member name, with the values AWS defines. */
const ENUMS: Partial<Record<ServiceName, Record<string, readonly string[]>>> = {
  'sso-admin': {
    PrincipalType: Object.values(PrincipalType),
    TargetType: Object.values(TargetType),
    Status: Object.values(StatusValues),
  },
};

const resolve = (m: ServiceModel, ref: ShapeRef): ShapeRef =>
  ref.shape ? { ...m.shapes[ref.shape]!, ...withoutShape(ref) } : ref;
const withoutShape = (ref: ShapeRef): ShapeRef => {
  const { shape: _s, ...rest } = ref;
  return rest;
};
const typeOf = (ref: ShapeRef): string => ref.type ?? (ref.members ? 'structure' : 'string');

/**
 * Problems with `value` as an instance of `ref`. `timestamps` says how timestamps are carried:
 * `date` for values the stand-in builds (Date objects), `epoch` for JSON 1.1 on the wire.
 */
export function checkValue(
  service: ServiceName,
  ref: ShapeRef,
  value: unknown,
  path: string,
  timestamps: 'date' | 'epoch',
  member = '',
): string[] {
  const m = model(service);
  const shape = resolve(m, ref);
  const type = typeOf(shape);
  const out: string[] = [];
  if (shape.document) return out; // any JSON value
  switch (type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return [`${path}: expected a structure`];
      const members = shape.members ?? {};
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj))
        if (!(k in members)) out.push(`${path}.${k}: not a member of this shape`);
      for (const r of shape.required ?? [])
        if (obj[r] === undefined || obj[r] === null) out.push(`${path}.${r}: required`);
      const present = Object.keys(obj).filter((k) => obj[k] !== undefined && k in members);
      if (shape.union && present.length !== 1)
        out.push(`${path}: a union must set exactly one member, got ${present.length}`);
      for (const k of present)
        out.push(...checkValue(service, members[k]!, obj[k], `${path}.${k}`, timestamps, k));
      return out;
    }
    case 'list':
      if (!Array.isArray(value)) return [`${path}: expected a list`];
      value.forEach((v, i) =>
        out.push(
          ...checkValue(service, shape.member ?? {}, v, `${path}[${i}]`, timestamps, member),
        ),
      );
      return out;
    case 'map':
      if (typeof value !== 'object' || value === null) return [`${path}: expected a map`];
      for (const [k, v] of Object.entries(value))
        out.push(...checkValue(service, shape.value ?? {}, v, `${path}.${k}`, timestamps));
      return out;
    case 'string': {
      if (typeof value !== 'string') return [`${path}: expected a string`];
      const allowed = ENUMS[service]?.[member];
      if (allowed && !allowed.includes(value))
        out.push(`${path}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
      return out;
    }
    case 'integer':
    case 'long':
      return Number.isInteger(value) ? [] : [`${path}: expected an integer`];
    case 'float':
    case 'double':
      return typeof value === 'number' ? [] : [`${path}: expected a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected a boolean`];
    case 'timestamp':
      if (timestamps === 'date')
        return value instanceof Date && !Number.isNaN(value.getTime())
          ? []
          : [`${path}: expected a timestamp`];
      return typeof value === 'number' ? [] : [`${path}: expected epoch seconds`];
    case 'blob':
      return typeof value === 'string' ? [] : [`${path}: expected base64`];
    default:
      return [`${path}: unknown shape type ${type}`];
  }
}

/** A JSON 1.1 request body checked against the operation's input shape. */
export function checkJsonInput(service: ServiceName, op: string, body: unknown): string[] {
  const o = model(service).operations[op];
  if (!o) return [`${op}: no such operation in ${service}`];
  return checkValue(service, o.input ?? { type: 'structure', members: {} }, body, op, 'epoch');
}

/** A response object (Dates for timestamps) checked against the operation's output shape. */
export function checkOutput(service: ServiceName, op: string, out: unknown): string[] {
  const o = model(service).operations[op];
  if (!o) return [`${op}: no such operation in ${service}`];
  return checkValue(
    service,
    o.output ?? { type: 'structure', members: {} },
    out,
    `${op}Output`,
    'date',
  );
}

/** JSON 1.1 wire form of an output object: timestamps as epoch seconds. */
export function toJsonWire(v: unknown): unknown {
  if (v instanceof Date) return v.getTime() / 1000;
  if (Array.isArray(v)) return v.map(toJsonWire);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, toJsonWire(x)]),
    );
  return v;
}

/**
 * Decodes query-protocol parameters (`Name`, `Name.Sub`, `Name.member.N`) into an input
 * object, guided by the operation's input shape. Parameters the shape does not have, and
 * values of the wrong type, are problems.
 */
export function decodeQueryInput(
  service: ServiceName,
  op: string,
  params: URLSearchParams,
): { input: Record<string, unknown>; problems: string[] } {
  const m = model(service);
  const o = m.operations[op];
  if (!o) return { input: {}, problems: [`${op}: no such operation in ${service}`] };
  const problems: string[] = [];
  const used = new Set(['Action', 'Version']);
  const decode = (ref: ShapeRef, prefix: string): unknown => {
    const shape = resolve(m, ref);
    const type = typeOf(shape);
    if (type === 'structure') {
      const obj: Record<string, unknown> = {};
      for (const [k, r] of Object.entries(shape.members ?? {})) {
        const v = decode(r, prefix ? `${prefix}.${k}` : k);
        if (v !== undefined) obj[k] = v;
      }
      return prefix && Object.keys(obj).length === 0 ? undefined : obj;
    }
    if (type === 'list') {
      const items: unknown[] = [];
      for (let i = 1; ; i++) {
        const v = decode(shape.member ?? {}, `${prefix}.member.${i}`);
        if (v === undefined) break;
        items.push(v);
      }
      if (params.has(prefix) && params.get(prefix) === '') used.add(prefix); // empty list
      return items.length ? items : undefined;
    }
    const raw = params.get(prefix);
    if (raw === null) return undefined;
    used.add(prefix);
    switch (type) {
      case 'integer':
      case 'long':
        if (!/^-?\d+$/.test(raw)) problems.push(`${prefix}: expected an integer, got ${raw}`);
        return Number(raw);
      case 'boolean':
        if (raw !== 'true' && raw !== 'false') problems.push(`${prefix}: expected true or false`);
        return raw === 'true';
      case 'timestamp':
        if (Number.isNaN(Date.parse(raw))) problems.push(`${prefix}: expected a timestamp`);
        return new Date(raw);
      default:
        return raw;
    }
  };
  const input = (decode(o.input ?? { type: 'structure', members: {} }, '') ?? {}) as Record<
    string,
    unknown
  >;
  for (const k of params.keys()) if (!used.has(k)) problems.push(`${k}: not a member of ${op}`);
  problems.push(...checkValue(service, o.input ?? { members: {} }, input, op, 'date'));
  return { input, problems };
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function xmlOf(service: ServiceName, ref: ShapeRef, value: unknown, name: string): string {
  const m = model(service);
  const shape = resolve(m, ref);
  const type = typeOf(shape);
  if (value === undefined) return '';
  if (type === 'structure') {
    const inner = Object.entries(shape.members ?? {})
      .map(([k, r]) =>
        xmlOf(service, r, (value as Record<string, unknown>)[k], r.locationName ?? k),
      )
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  if (type === 'list') {
    const items = (value as unknown[])
      .map((v) => xmlOf(service, shape.member ?? {}, v, 'member'))
      .join('');
    return `<${name}>${items}</${name}>`;
  }
  if (type === 'timestamp') return `<${name}>${(value as Date).toISOString()}</${name}>`;
  return `<${name}>${esc(String(value))}</${name}>`;
}

/** The query protocol's XML response for `op`, built member by member from the output shape. */
export function queryResponse(
  service: ServiceName,
  op: string,
  out: Record<string, unknown>,
  requestId: string,
): string {
  const m = model(service);
  const o = m.operations[op]!;
  const ns = m.metadata.xmlNamespace ?? '';
  const result = o.output
    ? xmlOf(service, o.output, out, o.output.resultWrapper ?? `${op}Result`)
    : '';
  return (
    `<${op}Response xmlns="${ns}">${result}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${op}Response>`
  );
}

export function queryError(
  service: ServiceName,
  code: string,
  message: string,
  requestId: string,
): string {
  const ns = model(service).metadata.xmlNamespace ?? '';
  return (
    `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${esc(code)}</Code>` +
    `<Message>${esc(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
