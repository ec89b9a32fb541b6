/**
 * `npm run demo`: the whole gatepass lifecycle, offline, on this machine. Each step says what
 * happens, does it with the real app, action and CLI, and checks it happened; the first step
 * that does not behave as described stops the demo with the reason and a non-zero exit.
 */
import { runDemo } from './story.js';

const code = await runDemo({
  out: (s) => process.stdout.write(s),
  verbose: process.argv.includes('--verbose'),
});
// Explicitly: with only `process.exitCode` set, a failed demo was seen to exit 0.
process.exit(code);
