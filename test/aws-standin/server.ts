import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  checkJsonInput,
  checkOutput,
  decodeQueryInput,
  model,
  queryError,
  queryResponse,
  toJsonWire,
  type ServiceName,
} from './models.js';
import { ADMIN_KEY, AwsFault, AwsWorld } from './world.js';

/*
 * A local AWS stand-in on loopback for the aws-identity-center and aws-iam-role providers
 * (tests and the demo only; never shipped). It speaks the wire protocols the official SDK v3
 * clients use: AWS JSON 1.1 for SSO Admin and the Identity Store (`X-Amz-Target`), the query
 * protocol with XML answers for STS and IAM. Every request is checked against AWS's published
 * service model before it is served (a malformed one is answered as AWS would, 400, and kept
 * in `problems`), and every answer is checked against the operation's output shape before it is
 * sent (a mismatch is a stand-in bug, kept in `violations`, answered 500).
 *
 * The SDK clients reach it through the standard endpoint configuration (an `endpoint` option,
 * or AWS_ENDPOINT_URL), with static credentials: the same code talks to a real account when
 * those point at AWS instead.
 */

type Handler = (input: Record<string, unknown>, accessKeyId: string) => Record<string, unknown>;

export interface AwsStandin {
  url: string;
  world: AwsWorld;
  /** Requests the model refused (what gatepass must never send). */
  problems: string[];
  /** Answers the model refused (stand-in bugs). */
  violations: string[];
  /** Every served call, in order. */
  calls: { service: ServiceName; operation: string; input: Record<string, unknown> }[];
  /** Client settings for the providers: this endpoint, gatepass's static test key. */
  clients: { endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  close(): Promise<void>;
}

const JSON_TARGETS: Record<string, ServiceName> = {
  SWBExternalService: 'sso-admin',
  AWSIdentityStore: 'identitystore',
};
const QUERY_VERSIONS: Record<string, ServiceName> = {
  '2011-06-15': 'sts',
  '2010-05-08': 'iam',
};
/** The SigV4 signing name each service's requests must carry. */
const SIGNING: Record<ServiceName, string> = {
  'sso-admin': 'sso',
  identitystore: 'identitystore',
  sts: 'sts',
  iam: 'iam',
};

function handlers(world: AwsWorld): Record<ServiceName, Record<string, Handler>> {
  return {
    'sso-admin': {
      CreateAccountAssignment: (i) => world.createAccountAssignment(i),
      DeleteAccountAssignment: (i) => world.deleteAccountAssignment(i),
      DescribeAccountAssignmentCreationStatus: (i) => world.describeCreation(i),
      DescribeAccountAssignmentDeletionStatus: (i) => world.describeDeletion(i),
      ListAccountAssignments: (i) => world.listAccountAssignments(i),
      DescribePermissionSet: (i) => world.describePermissionSet(i),
    },
    identitystore: {
      GetUserId: (i) => world.getUserId(i),
      DescribeUser: (i) => world.describeUser(i),
    },
    sts: {
      AssumeRole: (i, key) => world.assumeRole(i, key),
      GetCallerIdentity: (_i, key) => world.getCallerIdentity(key),
    },
    iam: {
      GetRole: (i) => world.getRole(i),
      GetRolePolicy: (i) => world.getRolePolicy(i),
      PutRolePolicy: (i) => world.putRolePolicy(i),
      DeleteRolePolicy: (i) => world.deleteRolePolicy(i),
    },
  };
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The access key and signing service named in a SigV4 Authorization header. */
function signer(req: IncomingMessage): { key: string; service: string } | undefined {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/\d{8}\/[a-z0-9-]+\/([a-z0-9-]+)\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/.exec(
      String(req.headers.authorization ?? ''),
    );
  return m ? { key: m[1]!, service: m[2]! } : undefined;
}

export async function startAwsStandin(world = new AwsWorld()): Promise<AwsStandin> {
  const table = handlers(world);
  const problems: string[] = [];
  const violations: string[] = [];
  const calls: AwsStandin['calls'] = [];

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await body(req);
    const requestId = randomUUID();
    const target = req.headers['x-amz-target'];
    let service: ServiceName;
    let operation: string;
    let input: Record<string, unknown>;
    let found: string[];
    const json = typeof target === 'string';
    if (json) {
      const [prefix, op] = target.split('.');
      service = JSON_TARGETS[prefix ?? ''] as ServiceName;
      operation = op ?? '';
      if (!service) return fail(404, 'UnknownOperationException', `unknown target ${target}`);
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
        return fail(
          400,
          'SerializationException',
          'Content-Type must be application/x-amz-json-1.1',
        );
      try {
        input = JSON.parse(text || '{}') as Record<string, unknown>;
      } catch {
        return fail(400, 'SerializationException', 'the body is not JSON');
      }
      found = checkJsonInput(service, operation, input);
    } else {
      const params = new URLSearchParams(text);
      service = QUERY_VERSIONS[params.get('Version') ?? ''] as ServiceName;
      operation = params.get('Action') ?? '';
      if (!service) return fail(400, 'InvalidAction', 'unknown Version');
      ({ input, problems: found } = decodeQueryInput(service, operation, params));
    }
    if (req.method !== 'POST' || (req.url ?? '/') !== '/')
      found.push(`${req.method} ${req.url}: AWS ${json ? 'JSON' : 'query'} requests are POST /`);
    const sig = signer(req);
    if (!sig) found.push('the request is not signed with SigV4');
    else if (sig.service !== SIGNING[service])
      found.push(`signed for service ${sig.service}, expected ${SIGNING[service]}`);
    const handler = table[service][operation];
    if (!handler) found.push(`${service} ${operation}: not an operation the stand-in serves`);
    if (found.length) {
      problems.push(...found.map((p) => `${service} ${operation}: ${p}`));
      return fail(400, json ? 'ValidationException' : 'ValidationError', found.join('; '));
    }
    const key = sig!.key;
    if (key !== ADMIN_KEY.accessKeyId && !world.sessions.has(key))
      return fail(
        403,
        json ? 'UnrecognizedClientException' : 'InvalidClientTokenId',
        'unknown access key',
      );
    calls.push({ service, operation, input });
    let out: Record<string, unknown>;
    try {
      out = handler!(input, key);
    } catch (e) {
      if (e instanceof AwsFault) return fail(e.status, e.code, e.message);
      throw e;
    }
    const bad = checkOutput(service, operation, out);
    if (bad.length) {
      violations.push(...bad.map((p) => `${service} ${operation}: ${p}`));
      return fail(
        500,
        'InternalFailure',
        `stand-in answer does not match the model: ${bad.join('; ')}`,
      );
    }
    if (json) {
      res.writeHead(200, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
      });
      res.end(JSON.stringify(toJsonWire(out)));
    } else {
      res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(queryResponse(service, operation, out, requestId));
    }

    function fail(status: number, code: string, message: string): void {
      if (json) {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': requestId,
          'x-amzn-errortype': code,
        });
        res.end(JSON.stringify({ __type: code, message }));
      } else {
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
        res.end(queryError(service ?? 'iam', code, message, requestId));
      }
    }
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((e: unknown) => {
      violations.push(`stand-in crashed: ${String(e)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Make sure the models load before the first request (a missing devDependency fails here).
  for (const s of ['sso-admin', 'identitystore', 'sts', 'iam'] as const) model(s);
  return {
    url,
    world,
    problems,
    violations,
    calls,
    clients: { endpoint: url, credentials: { ...ADMIN_KEY } },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
