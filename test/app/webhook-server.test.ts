import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import nock from 'nock';
import { Probot, ProbotOctokit, createNodeMiddleware } from 'probot';
import { createApp } from '../../src/app/index.js';
import { fixedClock } from '../../src/core/clock.js';
import { enableContractChecks } from '../helpers/openapi.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { NOW, PRIVATE_KEY, buildAccessRepo, issueEvent, testConfig } from '../helpers/app.js';

const SECRET = 'webhook-secret-for-tests';
enableContractChecks();
let server: Server;
let url: string;
let gh: FakeGitHub;

beforeAll(async () => {
  const probot = new Probot({
    appId: 1,
    privateKey: PRIVATE_KEY,
    secret: SECRET,
    logLevel: 'fatal',
    Octokit: ProbotOctokit.defaults((options: object) => ({
      ...options,
      retry: { enabled: false },
      throttle: { enabled: false },
    })),
  });
  const middleware = await createNodeMiddleware(
    createApp({ config: testConfig(), clock: fixedClock(NOW) }),
    {
      probot,
      webhooksPath: '/api/github/webhooks',
    },
  );
  server = createServer((req, res) => {
    void middleware(req, res, () => {
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

function post(body: string, signature: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': `delivery-${Math.random()}`,
      'x-hub-signature-256': signature,
    },
    body,
  });
}
const sign = (body: string, secret = SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('the webhook endpoint', () => {
  it('accepts and handles a correctly signed delivery', async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    gh = buildAccessRepo();
    gh.install();
    const body = JSON.stringify(issueEvent({}).payload);
    const res = await post(body, sign(body));
    expect(res.status).toBe(200);
    expect(gh.pullFor('gatepass/req-42')).toBeDefined();
    expect(gh.unexpected).toEqual([]);
  });

  it('rejects a delivery with a bad signature and makes no API call', async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    gh = buildAccessRepo();
    gh.install();
    const body = JSON.stringify(issueEvent({}).payload);
    const forged = await post(body, sign(body, 'not-the-secret'));
    const unsigned = await post(body, 'sha256=' + '0'.repeat(64));
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    expect(unsigned.status).toBeGreaterThanOrEqual(400);
    expect(unsigned.status).toBeLessThan(500);
    expect(gh.calls).toEqual([]);
  });
});
