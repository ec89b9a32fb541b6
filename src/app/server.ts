import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createNodeMiddleware, createProbot, run, type Probot } from 'probot';
import app from './index.js';

/** GitHub caps webhook payloads at 25 MB; nothing larger is a real delivery. */
export const DEFAULT_MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;
/** Probot's fallback secret: a server using it accepts deliveries anyone can forge. */
const PROBOT_DEFAULT_SECRET = 'development';
/** The explicit switch for a local experiment without signatures. Never set in production. */
export const INSECURE_DEV_ENV = 'GATEPASS_INSECURE_DEV_WEBHOOKS';

export interface ServerSettings {
  secret: string;
  port: number;
  host: string | undefined;
  webhookPath: string;
  maxBodyBytes: number;
  /** Set when the operator opted out of signatures for local development. */
  warning?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The server's settings, or why it must not start. Without a secret Probot would check
 * signatures against the public word "development", so forged deliveries would be accepted and
 * commands would trust whatever sender a forger wrote (threat: forged webhooks).
 */
export function serverSettings(
  env: Env,
): { ok: true; value: ServerSettings } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const secret = env.WEBHOOK_SECRET ?? '';
  const insecure = env[INSECURE_DEV_ENV] === '1';
  let warning: string | undefined;
  if (secret === '' || secret === PROBOT_DEFAULT_SECRET) {
    if (!insecure)
      problems.push(
        `WEBHOOK_SECRET is ${secret === '' ? 'not set' : `Probot's public default "${PROBOT_DEFAULT_SECRET}"`}: ` +
          'every delivery would be accepted unsigned. Set it to the webhook secret of the GitHub App ' +
          `(a long random string), or set ${INSECURE_DEV_ENV}=1 for a local experiment only.`,
      );
    else
      warning = `${INSECURE_DEV_ENV}=1: webhook signatures are checked against a public secret; anyone who can reach this server can forge deliveries`;
  }
  const max = env.GATEPASS_MAX_WEBHOOK_BYTES;
  const maxBodyBytes = max === undefined || max === '' ? DEFAULT_MAX_WEBHOOK_BYTES : Number(max);
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024)
    problems.push(
      `GATEPASS_MAX_WEBHOOK_BYTES must be a whole number of bytes ≥ 1024, not "${max}"`,
    );
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    problems.push(`PORT must be a port number, not "${env.PORT}"`);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      secret: secret === '' ? PROBOT_DEFAULT_SECRET : secret,
      port,
      host: env.HOST || undefined,
      webhookPath: env.WEBHOOK_PATH || '/api/github/webhooks',
      maxBodyBytes,
      ...(warning ? { warning } : {}),
    },
  };
}

/**
 * Refuses a request body over the cap before anything buffers it: the webhook middleware reads
 * the whole body before it can check the signature, so an unsigned 400 MiB POST would otherwise
 * be held in memory. GitHub always sends Content-Length; a body without one is refused too.
 * Returns true when the request was answered here.
 */
export function refuseOversized(req: IncomingMessage, res: ServerResponse, max: number): boolean {
  if (req.method !== 'POST' && req.method !== 'PUT') return false;
  const length = req.headers['content-length'];
  const status =
    length === undefined ? 411 : !/^\d+$/.test(length) || Number(length) > max ? 413 : 0;
  if (status === 0) return false;
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
  res.end(status === 411 ? 'Content-Length required\n' : `payload larger than ${max} bytes\n`);
  // Stop reading: the rest of the body is never buffered.
  res.on('finish', () => req.destroy());
  return true;
}

/** The webhook server: size guard, then Probot's signature-checking middleware. */
export async function createWebhookServer(
  probot: Probot,
  appFn: (app: Probot) => void,
  settings: Pick<ServerSettings, 'webhookPath' | 'maxBodyBytes'>,
): Promise<Server> {
  const middleware = await createNodeMiddleware(appFn, {
    probot,
    webhooksPath: settings.webhookPath,
  });
  return createServer((req, res) => {
    if (refuseOversized(req, res, settings.maxBodyBytes)) return;
    void middleware(req, res, () => {
      res.writeHead(404).end();
    });
  });
}

/**
 * The app's server, configured from the environment (see .env.example); `npm start` runs it
 * through start.ts, which checks the settings first.
 */
export async function main(env: Env = process.env): Promise<number> {
  if (!env.APP_ID || !(env.PRIVATE_KEY || env.PRIVATE_KEY_PATH)) {
    // No app yet: Probot's setup mode registers one from app.yml (the manifest flow).
    await run(app);
    return 0;
  }
  const settings = serverSettings(env);
  if (!settings.ok) {
    for (const p of settings.problems) console.error(`gatepass: ${p}`);
    return 1;
  }
  const probot = createProbot({ env, overrides: { secret: settings.value.secret } });
  if (settings.value.warning) probot.log.warn(settings.value.warning);
  // The app as `probot run` would load it: settings and the deadline keeper from the environment.
  const server = await createWebhookServer(probot, app, settings.value);
  await new Promise<void>((resolve) =>
    server.listen(settings.value.port, settings.value.host, resolve),
  );
  probot.log.info(`gatepass listening on ${JSON.stringify(server.address())}`);
  return 0;
}
