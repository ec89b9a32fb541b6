/**
 * `npm run bench -- --quick` (or GATEPASS_BENCH_QUICK=1): every bench at small sizes, in
 * seconds, so `npm test` runs the whole bench code and a bench that throws fails the suite. The
 * figures of a quick run are not the published ones; only the full run's are.
 */
export const QUICK = process.argv.includes('--quick') || process.env.GATEPASS_BENCH_QUICK === '1';

/** `full` in a real run, `quick` in the quick mode. */
export const scale = (full: number, quick: number): number => (QUICK ? quick : full);
