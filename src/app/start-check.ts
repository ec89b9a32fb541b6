import { ConfigurationError } from '../core/errors.js';
import { loadConfig } from './config.js';

/**
 * What would stop `npm start` from working, in words: Probot alone answers a missing key file
 * or a registration without an organisation with a stack trace or a user-owned app.
 */
export function startupProblems(
  env: Readonly<Record<string, string | undefined>>,
  fileExists: (path: string) => boolean,
): string[] {
  const problems: string[] = [];
  const set = (k: string) => (env[k] ?? '').trim() !== '';
  const keyPath = env.PRIVATE_KEY_PATH?.trim();
  if (keyPath && !fileExists(keyPath))
    problems.push(
      `PRIVATE_KEY_PATH=${keyPath}: no such file. Save the private key from the app's settings page there (it is in .gitignore), or leave PRIVATE_KEY_PATH empty to register a new app.`,
    );
  if (!set('APP_ID')) {
    if (!set('GH_ORG'))
      problems.push(
        "APP_ID is empty, so `npm start` would register a new GitHub App from app.yml: set GH_ORG=<your organisation> first, or the app belongs to your own account and cannot be installed on the organisation's access repo. (With an existing app, fill APP_ID, PRIVATE_KEY_PATH and WEBHOOK_SECRET instead.)",
      );
    return problems;
  }
  if (!set('PRIVATE_KEY') && !keyPath)
    problems.push('APP_ID is set but neither PRIVATE_KEY nor PRIVATE_KEY_PATH is.');
  if (!set('WEBHOOK_SECRET'))
    problems.push('WEBHOOK_SECRET is empty: deliveries could not be verified (threat #6).');
  try {
    loadConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    problems.push(e.message);
  }
  return problems;
}
