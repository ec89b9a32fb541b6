import { median, sleep } from './stats.js';
import type { BenchRow } from '../types.js';

export interface Attempt {
  /** Epoch milliseconds when the login attempt began and ended. */
  start: number;
  end: number;
  ok: boolean;
}

export interface ExpiryTrial {
  attempts: Attempt[];
  /** When access should end, epoch ms. */
  expiry: number;
}

/**
 * Tries `login` every `intervalMs` until the first refusal (or until `giveUpMs` after expiry), so
 * the refusal is seen within one interval plus one login of when the server started refusing.
 */
export async function pollUntilRefused(
  login: () => Promise<boolean>,
  expiry: number,
  intervalMs = 50,
  giveUpMs = 10_000,
): Promise<ExpiryTrial> {
  const attempts: Attempt[] = [];
  for (;;) {
    const start = Date.now();
    const ok = await login();
    attempts.push({ start, end: Date.now(), ok });
    if (!ok || start > expiry + giveUpMs) return { attempts, expiry };
    await sleep(intervalMs);
  }
}

export interface ExpirySummary {
  /** First refused attempt's start − expiry, worst trial (ms; negative when it spanned expiry). */
  latency: number;
  /** Latest start of an accepted login relative to expiry, worst trial (ms). */
  lastAccepted: number;
  /** Poll interval plus the median duration of one login (ms). */
  resolution: number;
  /**
   * No login that began at or after expiry was let in, and none that ended before it was refused.
   * An attempt spanning expiry may go either way: the server checks somewhere inside it.
   */
  met: boolean;
}

export function summarise(trials: ExpiryTrial[], intervalMs: number): ExpirySummary {
  const durations = trials.flatMap((t) => t.attempts.map((a) => a.end - a.start));
  const resolution = intervalMs + median(durations);
  let latency = -Infinity;
  let lastAccepted = -Infinity;
  let met = true;
  for (const t of trials) {
    const refused = t.attempts.find((a) => !a.ok);
    const accepted = t.attempts.filter((a) => a.ok);
    if (!refused) {
      latency = Infinity;
      met = false;
      continue;
    }
    latency = Math.max(latency, refused.start - t.expiry);
    lastAccepted = Math.max(lastAccepted, ...accepted.map((a) => a.start - t.expiry));
    if (accepted.some((a) => a.start >= t.expiry) || refused.end < t.expiry) met = false;
  }
  return { latency, lastAccepted, resolution, met };
}

export function expiryRow(
  figure: string,
  s: ExpirySummary,
  trials: number,
  notes: string,
): BenchRow {
  const sec = (v: number) => `${(v / 1000).toFixed(3)} s`;
  return {
    figure,
    baseline: `the credential's end of validity; poll resolution ${s.resolution.toFixed(0)} ms (every 50 ms + one login)`,
    measured: `first refusal ${sec(s.latency)} after it, last accepted login began ${sec(-s.lastAccepted)} before (worst of ${trials})`,
    target: '0 s: refused from the first attempt after expiry',
    met: s.met,
    notes,
  };
}
