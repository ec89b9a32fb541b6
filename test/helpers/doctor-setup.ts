/**
 * An access repo as `gatepass init` writes it, on the GitHub stand-in, and the GitHub settings
 * init's checklist asks for, applied to the stand-in as an administrator would in the settings
 * pages. Each doctor test breaks one of them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { DEFAULT_LABEL_NAMES } from '../../src/core/github-names.js';
import { startGitHubStandIn, type GitHubStandIn } from '../standin/github-standin.js';
import { runCli, type CliRun } from './cli.js';

export const CREDENTIALS_APP_ID = 7;
export const OTHER_APP_ID = 8;

/** What the access repo's files are (init's output), small ones only: the bundles stay out. */
function textFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name === '.git' || (d === dir && name === 'action')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = '';
    }
  };
  walk(dir);
  return out;
}

export interface DoctorWorld {
  dir: string;
  gh: GitHubStandIn;
  keyFile: string;
  token: string;
  doctor(...args: string[]): Promise<CliRun>;
  cleanup(): Promise<void>;
}

/** Every setting the checklist of `gatepass init` asks for, done right. */
export function applyHealthySetup(
  gh: GitHubStandIn,
  branch: string,
  secrets: readonly string[],
): void {
  const s = gh.state;
  for (const name of Object.values(DEFAULT_LABEL_NAMES)) s.label(name);
  s.workflows.set('gatepass.yml', {
    id: 161335,
    name: 'gatepass',
    path: '.github/workflows/gatepass.yml',
    state: 'active',
  });
  s.workflows.set('gatepass-app.yml', {
    id: 161336,
    name: 'gatepass-app',
    path: '.github/workflows/gatepass-app.yml',
    state: 'active',
  });
  const env = (name: string, names: readonly string[]) =>
    s.environments.set(name, {
      id: s.id(),
      name,
      branches: [branch],
      reviewers: [],
      secrets: new Set(names),
      variables: new Map(),
      created_at: '2026-01-01T00:00:00Z',
    });
  env('gatepass', ['GATEPASS_CREDENTIALS_APP_PRIVATE_KEY', ...secrets]);
  env('gatepass-app', ['GATEPASS_APP_PRIVATE_KEY']);
  s.variables.set('GATEPASS_CREDENTIALS_APP_ID', String(CREDENTIALS_APP_ID));
  s.variables.set('GATEPASS_APP_ID', String(OTHER_APP_ID));
  s.rulesets.set(42, {
    id: 42,
    name: 'gatepass',
    enforcement: 'active',
    include: ['~DEFAULT_BRANCH'],
    rules: [
      {
        type: 'pull_request',
        parameters: {
          dismiss_stale_reviews_on_push: true,
          require_code_owner_review: true,
          require_last_push_approval: true,
          required_approving_review_count: 0,
          required_review_thread_resolution: false,
        },
      },
      {
        type: 'required_status_checks',
        parameters: {
          required_status_checks: [{ context: 'gatepass/approval', integration_id: OTHER_APP_ID }],
          strict_required_status_checks_policy: false,
        },
      },
      { type: 'non_fast_forward' },
    ],
    bypass: [
      { actor_id: CREDENTIALS_APP_ID, actor_type: 'Integration', bypass_mode: 'always' },
      { actor_id: OTHER_APP_ID, actor_type: 'Integration', bypass_mode: 'always' },
    ],
  });
  s.installation = {
    permissions: {
      contents: 'write',
      issues: 'write',
      pull_requests: 'read',
      members: 'write',
      administration: 'write',
    },
    repositories: [`${gh.owner}/${gh.repo}`, `${gh.owner}/infrastructure`],
  };
}

/**
 * `gatepass init` in a temp folder, its files pushed as the first commit of acme/access on the
 * stand-in, every setting of the checklist applied; `doctor` runs against it.
 */
export async function startDoctorWorld(
  o: { providers?: string[]; branch?: string } = {},
): Promise<DoctorWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'gatepass-doctor-'));
  const providers = o.providers ?? ['github-team', 'github-collaborator', 'postgres'];
  const init = await runCli(
    [
      'init',
      '--org',
      'acme',
      '--repo',
      'access',
      '--branch',
      o.branch ?? 'main',
      '--providers',
      ...providers,
    ],
    dir,
  );
  if (init.code !== 0) throw new Error(`init failed: ${init.err}`);
  const files: Record<string, string> = {};
  for (const path of Object.keys(textFiles(dir)))
    files[path] = await readFile(join(dir, path), 'utf8');
  const gh = await startGitHubStandIn({
    owner: 'acme',
    repo: 'access',
    defaultBranch: o.branch ?? 'main',
    users: [{ login: 'admin', id: 1 }],
    app: { id: CREDENTIALS_APP_ID, slug: 'gatepass-credentials', botId: 9007, webhookSecret: 's' },
    files,
  });
  // A failure from here on must not leave the stand-in's server open (jest would not exit).
  const keyFile = join(dir, 'credentials-app.pem');
  try {
    applyHealthySetup(
      gh,
      o.branch ?? 'main',
      providers.includes('postgres') ? ['PROD_PG_ADMIN_URL'] : [],
    );
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  } catch (e) {
    await gh.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const token = gh.tokenFor('admin');
  return {
    dir,
    gh,
    keyFile,
    token,
    doctor: (...args) =>
      runCli(['doctor', '--repo', 'acme/access', ...args], dir, {
        GITHUB_TOKEN: token,
        GITHUB_API_URL: gh.apiUrl,
        GATEPASS_APP_ID: String(CREDENTIALS_APP_ID),
        GATEPASS_APP_PRIVATE_KEY_PATH: keyFile,
      }),
    cleanup: async () => {
      await gh.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
