// `npm start`: the app on Probot's server, after checking the settings (.env) so a mistake is
// a sentence, not a stack trace. No logic here beyond the wiring.
import { existsSync } from 'node:fs';
import { main } from './server.js';
import { startupProblems } from './start-check.js';

if (existsSync('.env')) process.loadEnvFile('.env');
const problems = startupProblems(process.env, existsSync);
if (problems.length) {
  process.stderr.write(
    `gatepass: cannot start the app:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSettings: .env (from .env.example); docs/app.md.\n`,
  );
  process.exit(2);
}
process.exitCode = await main(process.env);
