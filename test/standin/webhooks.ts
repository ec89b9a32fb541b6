/**
 * Webhook deliveries as GitHub makes them: payloads built on GitHub's own examples
 * (@octokit/webhooks-examples), checked against GitHub's description, signed with the app's
 * secret, POSTed one at a time in order (or handed to an in-process callback).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { checkWebhook } from '../helpers/openapi-contract.js';

export interface Delivery {
  /** `X-GitHub-Delivery`. */
  id: string;
  /** `X-GitHub-Event`. */
  name: string;
  action: string | undefined;
  payload: Record<string, unknown>;
  /** The app's HTTP status; null until answered, 0 when it could not be reached. */
  status: number | null;
  response: string;
  /** How many times it was sent (redeliveries included). */
  attempts: number;
}

/** What an in-process receiver gets: the same as the HTTP endpoint would. */
export interface InProcessDelivery {
  id: string;
  name: string;
  payload: Record<string, unknown>;
  /** The exact body that was signed. */
  body: string;
  signature: string;
  headers: Record<string, string>;
}

export interface WebhookTarget {
  /** The app's webhook URL (e.g. `http://127.0.0.1:3000/api/github/webhooks`). */
  url?: string;
  /** In-process mode: called instead of an HTTP POST; resolve = 200, reject = 500. */
  deliver?: (d: InProcessDelivery) => Promise<unknown>;
}

interface ExampleSet {
  name: string;
  examples: Record<string, unknown>[];
}

let examples: ExampleSet[] | undefined;
function example(name: string, action: string | undefined): Record<string, unknown> {
  examples ??= createRequire(import.meta.url)('@octokit/webhooks-examples') as ExampleSet[];
  const set = examples.find((e) => e.name === name);
  const found =
    set?.examples.find((e) => e.action === action) ?? set?.examples.find((e) => !('action' in e));
  return found ? structuredClone(found) : {};
}

export const sign = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export class WebhookSender {
  readonly deliveries: Delivery[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly secret: string,
    private readonly target: WebhookTarget,
    private readonly appId: number,
    private readonly onProblem: (p: string) => void,
  ) {}

  /**
   * Queues a delivery: the example payload for the event with `fields` laid over it, without
   * the example's organisation and enterprise (they describe someone else's account).
   */
  enqueue(name: string, fields: Record<string, unknown>): Delivery {
    const action = typeof fields.action === 'string' ? fields.action : undefined;
    const payload = { ...example(name, action), ...fields };
    if (!('organization' in fields)) delete payload.organization;
    delete payload.enterprise;
    for (const p of checkWebhook(name, payload)) this.onProblem(p);
    const delivery: Delivery = {
      id: randomUUID(),
      name,
      action,
      payload,
      status: null,
      response: '',
      attempts: 0,
    };
    this.deliveries.push(delivery);
    if (this.target.url || this.target.deliver) this.schedule(delivery);
    return delivery;
  }

  /** Sends a delivery again with the same id, as GitHub's "Redeliver" does. */
  async redeliver(id: string): Promise<Delivery> {
    const d = this.deliveries.find((x) => x.id === id);
    if (!d) throw new Error(`no delivery ${id}`);
    this.schedule(d);
    await this.settled();
    return d;
  }

  /** Resolves when every queued delivery (and any they caused) has been answered. */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.tail;
      await seen;
    } while (seen !== this.tail);
  }

  private schedule(d: Delivery): void {
    this.tail = this.tail.then(() => this.send(d));
  }

  private async send(d: Delivery): Promise<void> {
    d.attempts += 1;
    const body = JSON.stringify(d.payload);
    const signature = sign(this.secret, body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/standin',
      'x-github-event': d.name,
      'x-github-delivery': d.id,
      'x-github-hook-id': '1',
      'x-github-hook-installation-target-type': 'integration',
      'x-github-hook-installation-target-id': String(this.appId),
      'x-hub-signature-256': signature,
    };
    try {
      if (this.target.deliver) {
        await this.target.deliver({
          id: d.id,
          name: d.name,
          payload: d.payload,
          body,
          signature,
          headers,
        });
        d.status = 200;
        d.response = '';
      } else if (this.target.url) {
        const res = await fetch(this.target.url, { method: 'POST', headers, body });
        d.status = res.status;
        d.response = await res.text();
      }
    } catch (e) {
      d.status = this.target.deliver ? 500 : 0;
      d.response = e instanceof Error ? e.message : String(e);
    }
  }
}
