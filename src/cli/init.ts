import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCodeowners, mergeCodeowners, CODEOWNERS_PATH } from '../core/codeowners.js';
import { CHECK_NAME, DEFAULT_LABEL_NAMES } from '../core/github-names.js';
import { LOGIN_PATTERN, TEAM_PATTERN } from '../core/identity.js';
import { renderIssueForm, ISSUE_FORM_PATH } from '../core/issue-form.js';
import { loadPolicies } from '../core/policy-load.js';
import { PROVIDER_KINDS, type PolicySet, type ProviderKind } from '../core/policy.js';
import { policySchemaJson } from '../core/policy-schema.js';
import { formatProblem } from '../core/problem.js';
import { policySecretNames } from '../core/secret-refs.js';
import { GitRepo } from '../git/git-repo.js';
import { validateTargetWithProviders } from '../providers/index.js';
import {
  ACTION_WORKFLOW,
  APP_WORKFLOW,
  DEPLOYMENT_MODES,
  SETTINGS,
  examplePolicy,
  renderActionWorkflow,
  renderAppWorkflow,
  type DeploymentMode,
} from './init-files.js';
import { readOptional, readPolicyFiles } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export interface InitCliOptions {
  org?: string;
  repo?: string;
  branch?: string;
  mode?: string;
  providers?: string[];
  policyOwners?: string[];
  check?: boolean;
  force?: boolean;
}

/** Where init records what it wrote, to tell its own files from the user's edits. */
export const INIT_MANIFEST = '.github/gatepass-init.json';

const BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]{1,200}(?<![./])$/;
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const sha256 = (t: string | Buffer): string => createHash('sha256').update(t).digest('hex');

/** This gatepass's `action/` folder: beside the bundled CLI, or two levels up from lib/ or src/. */
function gatepassActionDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [here, resolve(here, '../../action')].find((d) => existsSync(join(d, 'action.yml')));
}

/** `owner/name` from a GitHub remote URL (https or ssh). */
export function repoFromRemote(url: string | null): { owner: string; name: string } | undefined {
  const m = url ? /[/:]([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(url) : null;
  return m?.[1] && m[2] ? { owner: m[1], name: m[2] } : undefined;
}

interface Planned {
  path: string;
  content: string | Buffer;
  /** seed: created once, then the user's; generated: kept in step unless the user edited it. */
  kind: 'seed' | 'generated';
  mode?: number;
}

type Outcome = 'created' | 'updated' | 'unchanged' | 'kept';

interface Answers {
  org: string;
  repo: string;
  branch: string;
  mode: DeploymentMode;
  providers: ProviderKind[];
  policyOwners: string[];
}

async function answers(root: string, opts: InitCliOptions): Promise<Answers | { error: string }> {
  const git = existsSync(root) ? await GitRepo.open(root).catch(() => null) : null;
  const remote = repoFromRemote((await git?.remoteUrl('origin')) ?? null);
  const org = opts.org ?? remote?.owner;
  if (!org) return { error: '--org is required (no GitHub origin remote to read it from)' };
  if (!LOGIN_PATTERN.test(org))
    return { error: `--org ${JSON.stringify(org)} is not a GitHub organisation name` };
  const repo = opts.repo ?? remote?.name ?? basename(root);
  if (!REPO_NAME.test(repo))
    return { error: `--repo ${JSON.stringify(repo)} is not a repository name` };
  const branch = opts.branch ?? (await git?.currentBranch()) ?? 'main';
  if (!BRANCH.test(branch))
    return { error: `--branch ${JSON.stringify(branch)} is not a branch name` };
  const mode = (opts.mode ?? 'actions') as DeploymentMode;
  if (!DEPLOYMENT_MODES.includes(mode))
    return {
      error: `--mode must be ${DEPLOYMENT_MODES.join(' or ')}, not ${JSON.stringify(opts.mode)}`,
    };
  const providers = (opts.providers ?? ['github-team']).flatMap((p) => p.split(','));
  const unknown = providers.filter((p) => !(PROVIDER_KINDS as readonly string[]).includes(p));
  if (unknown.length)
    return {
      error: `--providers: unknown ${unknown.join(', ')}; choose from ${PROVIDER_KINDS.join(', ')}`,
    };
  const policyOwners = (opts.policyOwners ?? [`${org}/security`]).map((o) => o.replace(/^@/, ''));
  const bad = policyOwners.filter((o) => !LOGIN_PATTERN.test(o) && !TEAM_PATTERN.test(o));
  if (bad.length) return { error: `--policy-owners: not a login or org/team: ${bad.join(', ')}` };
  return { org, repo, branch, mode, providers: providers as ProviderKind[], policyOwners };
}

/** Files derived from the policies as they are on disk once the seeds exist. */
function derivedFiles(
  a: Answers,
  policies: PolicySet,
  existingCodeowners: string,
  readAction: (p: string) => Buffer,
): Planned[] {
  const resources = [...policies.resources.values()];
  const targetRepos = resources
    .filter((r) => r.provider === 'github-collaborator')
    .map((r) => String((r.target as { repository?: unknown }).repository ?? ''))
    .filter((full) => full.toLowerCase().startsWith(`${a.org.toLowerCase()}/`))
    .map((full) => full.slice(a.org.length + 1));
  const files: Planned[] = [
    { path: 'policies/schema.json', content: policySchemaJson(), kind: 'generated' },
    { path: ISSUE_FORM_PATH, content: renderIssueForm(policies), kind: 'generated' },
    {
      path: CODEOWNERS_PATH,
      content: mergeCodeowners(existingCodeowners, renderCodeowners(policies, a.policyOwners)),
      kind: 'generated',
    },
    {
      path: `.github/workflows/${ACTION_WORKFLOW}`,
      content: renderActionWorkflow({
        org: a.org,
        repo: a.repo,
        branch: a.branch,
        targetRepos: [...new Set(targetRepos)].sort(),
        teams: resources.some((r) => r.provider === 'github-team'),
        secrets: policySecretNames(policies),
        deadlineTimer: a.mode === 'server' ? 'app' : 'action',
      }),
      kind: 'generated',
    },
    { path: 'grants/.gitkeep', content: '', kind: 'seed' },
    { path: 'action/action.yml', content: readAction('action.yml'), kind: 'generated' },
    { path: 'action/dist/index.js', content: readAction('dist/index.js'), kind: 'generated' },
    { path: 'action/cli.js', content: readAction('cli.js'), kind: 'generated' },
  ];
  files.push(
    {
      path: `.github/workflows/${APP_WORKFLOW}`,
      content: renderAppWorkflow({
        org: a.org,
        repo: a.repo,
        branch: a.branch,
        sweepOnly: a.mode === 'server',
      }),
      kind: 'generated',
    },
    {
      path: 'action/app-dist/index.js',
      content: readAction('app-dist/index.js'),
      kind: 'generated',
    },
  );
  return files;
}

/**
 * `gatepass init`: starts an access repo (or checks one) for one organisation, branch,
 * deployment mode and set of providers. Idempotent; a file init wrote and you changed is kept
 * unless `--force`; policies are yours from the start and never overwritten.
 */
export async function runInit(io: CliIo, dir: string, opts: InitCliOptions): Promise<number> {
  const root = resolve(io.cwd, dir);
  const a = await answers(root, opts);
  if ('error' in a) {
    io.err(`gatepass init: ${a.error}\n`);
    return EXIT.usage;
  }
  const actionDir = gatepassActionDir();
  if (!actionDir) {
    io.err('gatepass init: cannot find the gatepass action (action/action.yml) beside this CLI\n');
    return EXIT.usage;
  }
  const manifestText = await readOptional(root, INIT_MANIFEST).catch(() => undefined);
  const recorded: Record<string, string> = manifestText
    ? ((JSON.parse(manifestText) as { files?: Record<string, string> }).files ?? {})
    : {};
  const results: { path: string; outcome: Outcome; note?: string }[] = [];
  const newRecord: Record<string, string> = { ...recorded };

  const apply = async (f: Planned): Promise<void> => {
    const target = join(root, f.path);
    const current = await readFile(target).catch(() => undefined);
    const wanted = typeof f.content === 'string' ? Buffer.from(f.content) : f.content;
    let outcome: Outcome;
    if (current === undefined) {
      if (f.kind === 'seed' && recorded[f.path] !== undefined) {
        results.push({ path: f.path, outcome: 'kept', note: 'you removed it; not recreated' });
        return;
      }
      outcome = 'created';
    } else if (current.equals(wanted)) outcome = 'unchanged';
    else if (f.kind === 'seed') outcome = 'kept';
    else if (recorded[f.path] === sha256(current) || opts.force) outcome = 'updated';
    else outcome = 'kept';
    if (outcome === 'kept') {
      results.push({
        path: f.path,
        outcome,
        ...(f.kind === 'generated'
          ? { note: 'changed since init wrote it; kept (--force overwrites)' }
          : {}),
      });
      return;
    }
    results.push({ path: f.path, outcome });
    if (outcome === 'unchanged') {
      newRecord[f.path] = sha256(wanted);
      return;
    }
    if (opts.check) return;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, wanted);
    if (f.mode) await chmod(target, f.mode);
    newRecord[f.path] = sha256(wanted);
  };

  // 1. The seeds: one policy file per provider asked for, when the repo has none for it yet.
  if (!opts.check) await mkdir(root, { recursive: true });
  const existing = await readPolicyFiles(root).catch(() => []);
  for (const kind of a.providers) {
    const seed = examplePolicy(kind, a.org);
    const hasKind = existing.some((f) =>
      new RegExp(`^\\s*provider:\\s*['"]?${kind}['"]?\\s*(#.*)?$`, 'm').test(f.text),
    );
    if (hasKind && !existing.some((f) => f.path === seed.file)) continue;
    await apply({ path: seed.file, content: seed.text, kind: 'seed' });
    if (kind === 'command')
      await apply({
        path: 'scripts/vpn-access.sh',
        content:
          '#!/bin/sh\n# gatepass command provider: $1 is issue, revoke, list or remove-drift; the grant is JSON on stdin.\necho "scripts/vpn-access.sh: not written yet" >&2\nexit 1\n',
        kind: 'seed',
        mode: 0o755,
      });
  }

  // 2. Everything derived from the policies as they now are.
  const policyFiles = opts.check
    ? [
        ...existing,
        ...a.providers
          .map((k) => examplePolicy(k, a.org))
          .filter((s) => !existing.some((f) => f.path === s.file))
          .map((s) => ({ path: s.file, text: s.text })),
      ]
    : await readPolicyFiles(root);
  const { policies, problems } = loadPolicies(policyFiles, {
    validateTarget: validateTargetWithProviders,
  });
  if (problems.length) {
    for (const p of problems) io.err(formatProblem(p) + '\n');
    io.err('gatepass init: fix the policies above, then run init again\n');
    return EXIT.problems;
  }
  const readAction = (p: string): Buffer => {
    const file = join(actionDir, p);
    if (!existsSync(file)) throw new Error(`this gatepass has no action/${p}; build it first`);
    return readFileSync(file);
  };
  const codeowners = (await readOptional(root, CODEOWNERS_PATH)) ?? '';
  for (const f of derivedFiles(a, policies, codeowners, readAction)) await apply(f);

  if (!opts.check) {
    await writeFile(
      join(root, INIT_MANIFEST),
      JSON.stringify({ generatedBy: 'gatepass init', files: sortKeys(newRecord) }, null, 2) + '\n',
    );
  }

  for (const r of results)
    if (r.outcome !== 'unchanged' || !opts.check)
      (r.outcome === 'kept' && r.note ? io.err : io.out)(
        `${opts.check ? checkWord(r.outcome) : r.outcome.padEnd(9)} ${r.path}${r.note ? ` (${r.note})` : ''}\n`,
      );
  if (opts.check) {
    // A generated file you edited differs from what init writes too; a policy never does.
    const behind = results.filter(
      (r) =>
        r.outcome === 'created' ||
        r.outcome === 'updated' ||
        (r.outcome === 'kept' && !!r.note && !r.note.startsWith('you removed')),
    );
    if (behind.length === 0) io.out('init: every file is current\n');
    return behind.length ? EXIT.problems : EXIT.ok;
  }
  io.out('\n' + checklist(a, policies));
  return EXIT.ok;
}

const checkWord = (o: Outcome): string =>
  ({
    created: 'missing  ',
    updated: 'outdated ',
    unchanged: 'current  ',
    kept: 'edited   ',
  })[o];

function sortKeys(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([x], [y]) => x.localeCompare(y)));
}

/** What must be done on GitHub: nothing here can do it for you without admin rights. */
export function checklist(a: Answers, policies: PolicySet): string {
  const resources = [...policies.resources.values()];
  const teams = resources.some((r) => r.provider === 'github-team');
  const repos = [
    ...new Set(
      resources
        .filter((r) => r.provider === 'github-collaborator')
        .map((r) => String((r.target as { repository?: unknown }).repository)),
    ),
  ].sort();
  const secrets = policySecretNames(policies);
  const full = `${a.org}/${a.repo}`;
  const perms = [
    'Contents: write',
    'Issues: write',
    'Pull requests: read',
    `Members: ${teams ? 'write' : 'read'}`,
    ...(repos.length ? ['Administration: write'] : []),
  ];
  const lines = [
    `Next, on GitHub (then check everything with \`node action/cli.js doctor --repo ${full}\`):`,
    '',
    `[ ] 1. Commit and push these files to ${full}, branch ${a.branch} (its default branch).`,
    `[ ] 2. The request app (issues, grant PRs, the ${CHECK_NAME} check): permissions Issues,`,
    '       Pull requests, Contents, Checks: write; Members: read; events issues, issue_comment,',
    `       pull_request, pull_request_review, check_run. Install it on ${full} only.`,
    `       Repository variable ${SETTINGS.requestAppId} = its app id; environment gatepass-app`,
    `       (deployment branches: ${a.branch} only) with secret ${SETTINGS.requestAppKey} = its private key`,
    `       (${APP_WORKFLOW} uses them${a.mode === 'server' ? ' for the request-expiry sweep only' : ''}).`,
    ...(a.mode === 'server'
      ? [
          `       Server mode: register it from gatepass's app.yml with GH_ORG=${a.org} (so ${a.org} owns it)`,
          '       and run it with `npm start` on a host GitHub can reach (docs/app.md of gatepass).',
        ]
      : []),
    `[ ] 3. The credentials app (used only by the ${ACTION_WORKFLOW} workflow): ${perms.join(', ')}.`,
    `       Install it on ${[full, ...repos].join(', ')}${teams ? ` (and it manages teams of ${a.org})` : ''}, nothing else.`,
    `       Repository variable ${SETTINGS.credentialsAppId} = its app id.`,
    `[ ] 4. Environment gatepass: deployment branches "${a.branch}" only, no required reviewers (they`,
    `       would stall the 5-minute sweep); secrets ${[SETTINGS.credentialsAppKey, ...secrets].join(', ')}.`,
    `[ ] 5. A ruleset on ${a.branch}: require a pull request with code-owner review, require the status`,
    `       check ${CHECK_NAME} (from the request app), block force pushes; bypass list: the two apps only.`,
    `[ ] 6. Labels ${Object.values(DEFAULT_LABEL_NAMES).join(', ')}:`,
    `       \`node action/cli.js doctor --repo ${full} --fix\` creates them.`,
    `[ ] 7. Actions enabled for ${full}, workflow ${ACTION_WORKFLOW} not disabled (its schedule revokes on time).`,
    '',
  ];
  return lines.join('\n');
}
