/**
 * `npm run demo`: the whole gatepass lifecycle, offline, on this machine. Each step says what
 * happens, does it with the real app, action and CLI, and checks it happened; the first step
 * that does not behave as described stops the demo with the reason and a non-zero exit.
 * `npm run demo -- --aws` (or `npm run demo:aws`) tells the AWS providers' story instead.
 */
import { runDemo } from './story.js';
import { runAwsDemo } from './aws-story.js';

const options = {
  out: (s: string) => process.stdout.write(s),
  verbose: process.argv.includes('--verbose'),
};
const code = process.argv.includes('--aws') ? await runAwsDemo(options) : await runDemo(options);
// Explicitly: with only `process.exitCode` set, a failed demo was seen to exit 0.
process.exit(code);
