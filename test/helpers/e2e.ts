import { afterEach, expect } from '@jest/globals';
import { failedDeliveries, startWorld, type World, type WorldOptions } from '../../demo/steps.js';
import { expectNoContractProblems } from '../standin/github-standin.js';

/**
 * One lifecycle world per test (stand-in, app on loopback, PostgreSQL), stopped after it. Every
 * test also ends by checking that GitHub would have accepted every call and webhook, and that
 * the app answered every delivery.
 */
export function useWorld(): { start(o?: WorldOptions): Promise<World> } {
  let current: World | undefined;
  afterEach(async () => {
    const w = current;
    current = undefined;
    if (!w) return;
    try {
      expectNoContractProblems(w.gh);
      expect(failedDeliveries(w)).toEqual([]);
    } finally {
      await w.stop();
    }
  });
  return {
    async start(o) {
      current = await startWorld(o);
      return current;
    },
  };
}

export const JUSTIFICATION = 'Checkout is slow since the deploy; reading the orders table';
