import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import nock from 'nock';
import { request as httpRequest } from 'node:http';
import { Probot, ProbotOctokit } from 'probot';
import { createApp } from '../../src/app/index.js';
import {
  createWebhookServer,
  main,
  serverSettings,
  INSECURE_DEV_ENV,
} from '../../src/app/server.js';
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
  // The production server (`npm start`): size guard in front of Probot's middleware.
  server = await createWebhookServer(
    probot,
    createApp({ config: testConfig(), clock: fixedClock(NOW) }),
    { webhookPath: '/api/github/webhooks', maxBodyBytes: 1024 * 1024 },
  );
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

/** Streams `total` bytes of an unsigned POST; resolves with the status and bytes sent. */
function flood(
  total: number,
  headers: Record<string, string>,
): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let status = 0;
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'x-github-event': 'issues', ...headers },
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (sent < total && status === 0) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (sent >= total) req.end();
    };
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.resume();
      res.on('end', () => resolve({ status, sent }));
      req.destroy();
    });
    req.on('error', (e) => (status ? resolve({ status, sent }) : reject(e)));
    pump();
  });
}

describe('the webhook server refuses oversized bodies before buffering them', () => {
  it('answers 413 to an unsigned 400 MiB POST long before the body is sent', async () => {
    nock.enableNetConnect('127.0.0.1');
    const total = 400 * 1024 * 1024;
    const r = await flood(total, { 'content-length': String(total) });
    expect(r.status).toBe(413);
    // The server answered from the header; the client stopped within a few MiB.
    expect(r.sent).toBeLessThan(64 * 1024 * 1024);
  });

  it('answers 411 to a chunked POST without Content-Length (GitHub always sends one)', async () => {
    nock.enableNetConnect('127.0.0.1');
    const r = await flood(2 * 1024 * 1024, { 'transfer-encoding': 'chunked' });
    expect(r.status).toBe(411);
  });

  it('still takes a signed delivery just under the cap', async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    gh = buildAccessRepo();
    gh.install();
    const payload = issueEvent({}).payload as Record<string, unknown>;
    const body = JSON.stringify({ ...payload, padding: 'x'.repeat(900 * 1024) });
    const res = await post(body, sign(body));
    expect(res.status).toBe(200);
  });
});

describe('server settings', () => {
  const base = { APP_ID: '1', PRIVATE_KEY_PATH: 'k.pem' };

  it('refuses to start without a webhook secret', () => {
    const r = serverSettings(base);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems[0]).toMatch(/WEBHOOK_SECRET is not set/);
  });

  it("refuses Probot's public default secret", () => {
    const r = serverSettings({ ...base, WEBHOOK_SECRET: 'development' });
    expect(!r.ok && r.problems[0]).toMatch(/public default "development"/);
  });

  it('starts without a secret only in the explicit development mode, with a warning', () => {
    const r = serverSettings({ ...base, [INSECURE_DEV_ENV]: '1' });
    expect(r.ok && r.value.warning).toMatch(/forge deliveries/);
  });

  it('caps bodies at 25 MB by default and refuses a nonsense cap', () => {
    const r = serverSettings({ ...base, WEBHOOK_SECRET: 's3cret-s3cret' });
    expect(r.ok && r.value.maxBodyBytes).toBe(25 * 1024 * 1024);
    const bad = serverSettings({
      ...base,
      WEBHOOK_SECRET: 's',
      GATEPASS_MAX_WEBHOOK_BYTES: 'lots',
    });
    expect(!bad.ok && bad.problems[0]).toMatch(/GATEPASS_MAX_WEBHOOK_BYTES/);
  });
});

describe('npm start', () => {
  it('exits 1 with the reason, and listens on nothing, when the secret is missing', async () => {
    const errors: string[] = [];
    const spy = jest
      .spyOn(console, 'error')
      .mockImplementation((m: unknown) => void errors.push(String(m)));
    try {
      const code = await main({
        APP_ID: '1',
        PRIVATE_KEY: PRIVATE_KEY,
        GATEPASS_ACCESS_REPO: 'acme/access',
      });
      expect(code).toBe(1);
      expect(errors.join('\n')).toMatch(/^gatepass: WEBHOOK_SECRET is not set/);
    } finally {
      spy.mockRestore();
    }
  });
});
