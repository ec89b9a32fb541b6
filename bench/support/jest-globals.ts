/**
 * Stands in for `@jest/globals` in the bench bundle. Test helpers (the fake GitHub, the
 * reconcile fixtures) import hooks from it at module load, and the real package refuses to load
 * outside Jest; the benches never register hooks, so doing nothing is right.
 */
const noop = (): void => undefined;
export const beforeAll = noop;
export const afterAll = noop;
export const beforeEach = noop;
export const afterEach = noop;
/** Imported by helpers that assert in hooks; a bench that reached it would be a bug. */
export const expect = (): never => {
  throw new Error('expect() is for tests; a bench called a test-only helper');
};
