import { describe, expect, it } from '@jest/globals';
import { summarise, type Attempt } from '../../bench/support/expiry.js';
import { quantile } from '../../bench/support/stats.js';

const EXPIRY = 10_000;
/** Attempts as [start, end, ok] relative to expiry. */
const trial = (...a: [number, number, boolean][]) => ({
  expiry: EXPIRY,
  attempts: a.map(([s, e, ok]): Attempt => ({ start: EXPIRY + s, end: EXPIRY + e, ok })),
});

describe('the expiry-latency verdict', () => {
  it('is met when the first attempt after expiry is refused, and reports that latency', () => {
    const s = summarise([trial([-100, -90, true], [-40, -30, true], [20, 30, false])], 50);
    expect(s).toEqual({ latency: 20, lastAccepted: -40, resolution: 60, met: true });
  });

  it('accepts either outcome for an attempt that spans expiry', () => {
    expect(summarise([trial([-50, 100, true], [150, 300, false])], 50).met).toBe(true);
    expect(summarise([trial([-400, -100, true], [-50, 100, false])], 50)).toMatchObject({
      latency: -50,
      met: true,
    });
  });

  it('is missed when a login that began after expiry got in', () => {
    expect(summarise([trial([-40, -30, true], [5, 15, true], [60, 70, false])], 50).met).toBe(
      false,
    );
  });

  it('is missed when access ended before expiry, or never ended', () => {
    expect(summarise([trial([-300, -200, true], [-150, -100, false])], 50).met).toBe(false);
    expect(summarise([trial([-10, 0, true], [40, 50, true])], 50)).toMatchObject({
      latency: Infinity,
      met: false,
    });
  });

  it('takes the worst of several trials', () => {
    const s = summarise([trial([10, 20, false]), trial([-60, -50, true], [45, 55, false])], 50);
    expect(s.latency).toBe(45);
    expect(s.met).toBe(true);
  });
});

describe('quantile', () => {
  it('is the nearest-rank value', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(v, 0.5)).toBe(50);
    expect(quantile(v, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
