import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  renderCodeowners,
  mergeCodeowners,
  linesAfterGatepassBlock,
  BEGIN_MARKER,
  CODEOWNERS_PATH,
} from '../core/codeowners.js';
import {
  ACTION_ENVIRONMENT,
  ACTION_WORKFLOW,
  APP_ENVIRONMENT,
  APP_WORKFLOW,
  CHECK_NAME,
  DEFAULT_LABEL_NAMES,
} from '../core/github-names.js';
import { renderIssueForm, ISSUE_FORM_PATH } from '../core/issue-form.js';
import type { PolicySet } from '../core/policy.js';
import { policySecretNames } from '../core/secret-refs.js';
import { GitRepo } from '../git/git-repo.js';
import {
  SetupReader,
  readInstallation,
  UnreachableError,
  type InstallationInfo,
  type RulesetInfo,
} from '../github/setup-reader.js';
import { SETTINGS } from './init-files.js';
import { repoFromRemote } from './init.js';
import { loadCheckedPolicies, readOptional } from './repo-files.js';
import { EXIT, type CliIo } from './io.js';

export interface DoctorCliOptions {
  repo?: string;
  token?: string;
  appId?: string;
  privateKey?: string;
  requestAppId?: string;
  requestPrivateKey?: string;
  apiUrl?: string;
  fix?: boolean;
  json?: boolean;
}

export type CheckStatus = 'ok' | 'fail' | 'warn' | 'skip';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found, when it is not what gatepass needs. */
  detail?: string;
  /** What to do about it. */
  fix?: string;
}

const REPO = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/;

/** What each provider needs from the credentials app, beyond what every run needs. */
function neededPermissions(policies: PolicySet): Record<string, 'read' | 'write'> {
  const kinds = new Set([...policies.resources.values()].map((r) => r.provider));
  return {
    contents: 'write',
    issues: 'write',
    pull_requests: 'read',
    members: kinds.has('github-team') ? 'write' : 'read',
    ...(kinds.has('github-collaborator') ? { administration: 'write' as const } : {}),
  };
}

const REQUEST_APP_PERMISSIONS: Record<string, 'read' | 'write'> = {
  issues: 'write',
  pull_requests: 'write',
  contents: 'write',
  checks: 'write',
  members: 'read',
};

const enough = (have: string | undefined, need: 'read' | 'write'): boolean =>
  have === 'write' || (need === 'read' && have === 'read');

function permissionCheck(
  id: string,
  who: string,
  inst: InstallationInfo,
  need: Record<string, 'read' | 'write'>,
): Check {
  const missing = Object.entries(need)
    .filter(([k, v]) => !enough(inst.permissions[k], v))
    .map(([k, v]) => `${k}: ${v} (has ${inst.permissions[k] ?? 'none'})`);
  return missing.length
    ? {
        id,
        title: `the ${who} has the permissions gatepass needs`,
        status: 'fail',
        detail: `missing ${missing.join(', ')}`,
        fix: `in the app's settings, Permissions: grant ${missing.map((m) => m.split(' (')[0]).join(', ')}; then accept the new permissions on the installation`,
      }
    : { id, title: `the ${who} has the permissions gatepass needs`, status: 'ok' };
}

const coversBranch = (r: RulesetInfo, branch: string): boolean => {
  const names = ['~ALL', '~DEFAULT_BRANCH', `refs/heads/${branch}`];
  return (
    r.enforcement === 'active' &&
    r.include.some((i) => names.includes(i)) &&
    !r.exclude.some((e) => names.slice(1).includes(e))
  );
};

/** The owners the file's gatepass block gives `policies/` (to render the block it should be). */
function policyOwnersIn(text: string): string[] {
  const line = text
    .slice(text.indexOf(BEGIN_MARKER))
    .split('\n')
    .find((l) => l.startsWith('/policies/ '));
  return (line ?? '')
    .split(/\s+/)
    .slice(1)
    .map((o) => o.replace(/^@/, ''))
    .filter(Boolean);
}

interface Context {
  gh: SetupReader;
  owner: string;
  repo: string;
  branch: string;
  policies: PolicySet;
  actionsMode: boolean;
  localWorkflow: string | undefined;
  opts: DoctorCliOptions;
  /** Ids of the gatepass apps known so far (options, then the workflows' variables). */
  appIds: Set<number>;
  /** Whether both apps' ids are known, so any other bypassing app is a stranger. */
  bothAppsKnown: boolean;
}

async function checkLabels(c: Context): Promise<Check[]> {
  const out: Check[] = [];
  for (const name of Object.values(DEFAULT_LABEL_NAMES)) {
    const title = `label ${name} exists`;
    if (await c.gh.labelExists(name)) {
      out.push({ id: `label:${name}`, title, status: 'ok' });
      continue;
    }
    if (c.opts.fix) {
      await c.gh.createLabel(
        name,
        name === DEFAULT_LABEL_NAMES.breakGlass ? 'b60205' : 'ededed',
        'gatepass',
      );
      out.push({ id: `label:${name}`, title, status: 'ok', detail: 'created (--fix)' });
    } else
      out.push({
        id: `label:${name}`,
        title,
        status: 'fail',
        detail:
          name === DEFAULT_LABEL_NAMES.request
            ? 'missing: the issue form cannot apply it, so requests go unnoticed'
            : 'missing',
        fix: 'run doctor again with --fix, or create it under Issues → Labels',
      });
  }
  return out;
}

async function checkWorkflows(c: Context): Promise<Check[]> {
  const files = [ACTION_WORKFLOW, ...(c.actionsMode ? [APP_WORKFLOW] : [])];
  const out: Check[] = [];
  for (const file of files) {
    const state = await c.gh.workflowState(file);
    const title = `workflow ${file} is enabled${file === ACTION_WORKFLOW ? ' (its schedule revokes on time)' : ''}`;
    if (state === 'active') out.push({ id: `workflow:${file}`, title, status: 'ok' });
    else
      out.push({
        id: `workflow:${file}`,
        title,
        status: 'fail',
        detail: state ? `state: ${state}` : `not found on GitHub`,
        fix: state
          ? `Actions → ${file.replace(/\.yml$/, '')} → Enable workflow (GitHub disables schedules after 60 days without activity in the repo)`
          : `commit .github/workflows/${file} (\`node action/cli.js init\` writes it) and push it to ${c.branch}`,
      });
  }
  // The branch the workflow pushes and checks out must be the default branch.
  if (c.localWorkflow !== undefined) {
    const wf = parse(c.localWorkflow) as {
      on?: { push?: { branches?: string[] } };
      jobs?: Record<
        string,
        {
          steps?: {
            uses?: string;
            with?: Record<string, unknown>;
            env?: Record<string, unknown>;
          }[];
        }
      >;
    };
    const branches = wf?.on?.push?.branches ?? [];
    const title = `${ACTION_WORKFLOW} runs on pushes to ${c.branch}`;
    out.push(
      branches.includes(c.branch)
        ? { id: 'workflow:branch', title, status: 'ok' }
        : {
            id: 'workflow:branch',
            title,
            status: 'fail',
            detail: `it runs on ${branches.join(', ') || 'no branch'}: approved grants would wait for the schedule`,
            fix: `run \`node action/cli.js init --branch ${c.branch}\` (or edit on.push.branches)`,
          },
    );
    const steps = Object.values(wf?.jobs ?? {}).flatMap((j) => j.steps ?? []);
    const env = new Set(
      steps.filter((s) => s.uses === './action').flatMap((s) => Object.keys(s.env ?? {})),
    );
    const missing = policySecretNames(c.policies).filter((n) => !env.has(n));
    const title2 = `${ACTION_WORKFLOW} passes every secret the policies reference to the action`;
    out.push(
      missing.length
        ? {
            id: 'workflow:secrets',
            title: title2,
            status: 'fail',
            detail: `not passed: ${missing.join(', ')}`,
            fix: `add \`NAME: \${{ secrets.NAME }}\` under the action step's env (or re-run \`node action/cli.js init\`)`,
          }
        : { id: 'workflow:secrets', title: title2, status: 'ok' },
    );
  }
  return out;
}

async function checkEnvironment(
  c: Context,
  name: string,
  secrets: string[],
  variable: string,
): Promise<Check[]> {
  const env = await c.gh.environment(name);
  if (!env)
    return [
      {
        id: `environment:${name}`,
        title: `environment ${name} exists`,
        status: 'fail',
        detail: 'missing',
        fix: `Settings → Environments → New environment "${name}"; Deployment branches: Selected branches, ${c.branch} only; then add secrets ${secrets.join(', ')}`,
      },
    ];
  const out: Check[] = [
    { id: `environment:${name}`, title: `environment ${name} exists`, status: 'ok' },
  ];
  const limited =
    Array.isArray(env.branches) &&
    env.branches.length > 0 &&
    env.branches.every((b) => b === c.branch);
  out.push(
    limited
      ? {
          id: `environment:${name}:branches`,
          title: `environment ${name} is limited to ${c.branch}`,
          status: 'ok',
        }
      : {
          id: `environment:${name}:branches`,
          title: `environment ${name} is limited to ${c.branch}`,
          status: 'fail',
          detail:
            env.branches === null
              ? 'any branch can deploy to it: a workflow pushed on any branch could read its secrets'
              : env.branches === 'protected'
                ? 'any protected branch can deploy to it, not only the default branch'
                : `it allows ${(env.branches as string[]).join(', ') || 'no branch'}`,
          fix: `Settings → Environments → ${name} → Deployment branches: Selected branches, with ${c.branch} only`,
        },
  );
  if (env.reviewers)
    out.push({
      id: `environment:${name}:reviewers`,
      title: `environment ${name} runs without waiting for reviewers`,
      status: 'warn',
      detail: 'required reviewers make every scheduled run wait for a person: revocation stalls',
      fix: `Settings → Environments → ${name}: remove Required reviewers (the environment's branch limit is the protection)`,
    });
  const have = new Set((await c.gh.environmentSecretNames(name)) ?? []);
  const missing = secrets.filter((s) => !have.has(s));
  out.push(
    missing.length
      ? {
          id: `environment:${name}:secrets`,
          title: `environment ${name} holds the secrets gatepass needs`,
          status: 'fail',
          detail: `missing ${missing.join(', ')}`,
          fix: `Settings → Environments → ${name} → Add secret: ${missing.join(', ')}`,
        }
      : {
          id: `environment:${name}:secrets`,
          title: `environment ${name} holds the secrets gatepass needs`,
          status: 'ok',
        },
  );
  const value = await c.gh.variable(variable, name);
  if (value) c.appIds.add(Number(value));
  out.push(
    value
      ? { id: `variable:${variable}`, title: `variable ${variable} is set`, status: 'ok' }
      : {
          id: `variable:${variable}`,
          title: `variable ${variable} is set`,
          status: 'fail',
          detail: 'missing',
          fix: `Settings → Secrets and variables → Actions → Variables: ${variable} = the app's id`,
        },
  );
  return out;
}

function checkRulesets(c: Context, rulesets: RulesetInfo[]): Check[] {
  const appIds = [...c.appIds];
  const active = rulesets.filter((r) => coversBranch(r, c.branch));
  const rules = active.flatMap((r) => r.rules);
  const out: Check[] = [];
  const rs = (id: string, title: string, ok: boolean, detail: string, fix: string): Check =>
    ok ? { id, title, status: 'ok' } : { id, title, status: 'fail', detail, fix };
  const where = `Settings → Rules → Rulesets (target: the default branch, enforcement: active)`;
  out.push(
    rs(
      'branch:protected',
      `a ruleset protects ${c.branch}`,
      active.length > 0,
      'no active ruleset covers the default branch: anyone with write access can push grants',
      `${where}: create one`,
    ),
  );
  if (active.length === 0) return out;
  out.push(
    rs(
      'branch:code-owners',
      'pull requests need code-owner review',
      rules.some(
        (r) => r.type === 'pull_request' && r.parameters?.require_code_owner_review === true,
      ),
      "no rule requires a code owner's review: approvers' ownership of grants/ is not enforced",
      `${where}: Require a pull request before merging → Require review from Code Owners`,
    ),
  );
  out.push(
    rs(
      'branch:check',
      `the ${CHECK_NAME} check is required`,
      rules.some(
        (r) =>
          r.type === 'required_status_checks' &&
          ((r.parameters?.required_status_checks as { context?: string }[] | undefined) ?? []).some(
            (s) => s.context === CHECK_NAME,
          ),
      ),
      `${CHECK_NAME} is not a required status check: a PR could merge without gatepass's approval`,
      `${where}: Require status checks to pass → add ${CHECK_NAME} (from the request app)`,
    ),
  );
  out.push(
    rs(
      'branch:force-push',
      'force pushes are blocked',
      rules.some((r) => r.type === 'non_fast_forward'),
      'history (the audit trail) can be rewritten',
      `${where}: Block force pushes`,
    ),
  );
  const bypass = active.flatMap((r) => r.bypass);
  const people = bypass.filter((b) => b.actor_type !== 'Integration');
  const strangers = bypass.filter(
    (b) => b.actor_type === 'Integration' && !appIds.includes(b.actor_id ?? -1),
  );
  const ours = bypass.filter(
    (b) => b.actor_type === 'Integration' && appIds.includes(b.actor_id ?? -1),
  );
  const title = 'only the gatepass apps bypass the rules';
  const fix = `${where} → Bypass list: keep only the request app and the credentials app`;
  const shown = (bs: typeof bypass) =>
    bs.map((b) => `${b.actor_type}${b.actor_id !== null ? ` ${b.actor_id}` : ''}`).join(', ');
  if (people.length || (strangers.length && c.bothAppsKnown))
    out.push({
      id: 'branch:bypass',
      title,
      status: 'fail',
      detail: `also bypassing: ${shown([...people, ...strangers])}`,
      fix,
    });
  else if (ours.length === 0 && strangers.length === 0)
    out.push({
      id: 'branch:bypass',
      title,
      status: 'fail',
      detail: 'no app may bypass: the action cannot push state changes, /revoke cannot commit',
      fix: `${where} → Bypass list: add the credentials app and the request app`,
    });
  else if (strangers.length)
    out.push({
      id: 'branch:bypass',
      title,
      status: 'warn',
      detail: `app(s) ${shown(strangers)} bypass; pass --request-app-id to tell whether one is gatepass's`,
      fix,
    });
  else out.push({ id: 'branch:bypass', title, status: 'ok' });
  return out;
}

async function checkFiles(c: Context): Promise<Check[]> {
  const out: Check[] = [];
  const form = await c.gh.fileText(ISSUE_FORM_PATH, c.branch);
  const wanted = renderIssueForm(c.policies);
  out.push(
    form === wanted
      ? { id: 'file:form', title: `the issue form on ${c.branch} is current`, status: 'ok' }
      : {
          id: 'file:form',
          title: `the issue form on ${c.branch} is current`,
          status: 'fail',
          detail:
            form === undefined
              ? `${ISSUE_FORM_PATH} is missing`
              : 'it does not match the policies in this checkout',
          fix: `run \`node action/cli.js template\`, commit ${ISSUE_FORM_PATH} and merge it`,
        },
  );
  const owners = await c.gh.fileText(CODEOWNERS_PATH, c.branch);
  const title = `CODEOWNERS on ${c.branch} is current`;
  if (owners === undefined || !owners.includes(BEGIN_MARKER))
    out.push({
      id: 'file:codeowners',
      title,
      status: 'fail',
      detail: owners === undefined ? `${CODEOWNERS_PATH} is missing` : 'it has no gatepass block',
      fix: 'run `node action/cli.js codeowners --policy-owners <org/team>`, commit and merge it',
    });
  else {
    const after = linesAfterGatepassBlock(owners);
    const merged = mergeCodeowners(owners, renderCodeowners(c.policies, policyOwnersIn(owners)));
    out.push(
      after.length
        ? {
            id: 'file:codeowners',
            title,
            status: 'fail',
            detail: `line(s) after the gatepass block can take grant folders from their approvers: ${after.join('; ')}`,
            fix: 'run `node action/cli.js codeowners --policy-owners <org/team>` (it moves them above the block)',
          }
        : merged !== owners
          ? {
              id: 'file:codeowners',
              title,
              status: 'fail',
              detail: 'the gatepass blocks do not match the policies in this checkout',
              fix: 'run `node action/cli.js codeowners --policy-owners <org/team>`, commit and merge it',
            }
          : { id: 'file:codeowners', title, status: 'ok' },
    );
  }
  return out;
}

async function checkApp(
  c: Context,
  who: 'credentials app' | 'request app',
  appId: string | undefined,
  keyFile: string | undefined,
): Promise<Check[]> {
  const id = who === 'credentials app' ? 'app:credentials' : 'app:request';
  if (!appId || !keyFile)
    return [
      {
        id,
        title: `the ${who} is installed where the policies need it`,
        status: 'skip',
        detail:
          who === 'credentials app'
            ? 'not checked: pass --app-id and --private-key (or set GATEPASS_APP_ID, GATEPASS_APP_PRIVATE_KEY_PATH)'
            : 'not checked: pass --request-app-id and --request-private-key',
      },
    ];
  const key = await readFile(keyFile, 'utf8');
  const inst = await readInstallation({
    appId,
    privateKey: key,
    owner: c.owner,
    repo: c.repo,
    apiUrl: c.gh.apiUrlForErrors,
  });
  const access = `${c.owner}/${c.repo}`;
  if (!inst)
    return [
      {
        id,
        title: `the ${who} is installed on ${access}`,
        status: 'fail',
        detail: 'not installed there',
        fix: `the app's settings → Install App → ${c.owner} → Only select repositories: ${access}`,
      },
    ];
  const out: Check[] = [{ id, title: `the ${who} is installed on ${access}`, status: 'ok' }];
  if (who === 'request app') {
    out.push(permissionCheck(`${id}:permissions`, who, inst, REQUEST_APP_PERMISSIONS));
    const extra = inst.repositories.filter((r) => r.toLowerCase() !== access.toLowerCase());
    if (extra.length)
      out.push({
        id: `${id}:scope`,
        title: `the request app is installed on ${access} only`,
        status: 'warn',
        detail: `also on ${extra.join(', ')}: it needs none of them`,
        fix: `the installation's settings → Only select repositories: ${access}`,
      });
    return out;
  }
  out.push(permissionCheck(`${id}:permissions`, who, inst, neededPermissions(c.policies)));
  const targets = [...c.policies.resources.values()]
    .filter((r) => r.provider === 'github-collaborator')
    .map((r) => String((r.target as { repository?: unknown }).repository));
  const have = new Set(inst.repositories.map((r) => r.toLowerCase()));
  const missing = [...new Set(targets)].filter((t) => !have.has(t.toLowerCase()));
  out.push(
    missing.length
      ? {
          id: `${id}:repositories`,
          title: 'the credentials app reaches every repository the policies name',
          status: 'fail',
          detail: `not installed on ${missing.join(', ')}`,
          fix: `the installation's settings → Only select repositories: add ${missing.join(', ')}`,
        }
      : {
          id: `${id}:repositories`,
          title: 'the credentials app reaches every repository the policies name',
          status: 'ok',
        },
  );
  return out;
}

function render(checks: Check[], header: string): string {
  const mark: Record<CheckStatus, string> = { ok: '✓', fail: '✗', warn: '!', skip: '-' };
  const lines = [header];
  for (const ch of checks) {
    lines.push(`  ${mark[ch.status]} ${ch.title}`);
    if (ch.detail) lines.push(`      ${ch.detail}`);
    if (ch.fix && ch.status !== 'ok') lines.push(`      fix: ${ch.fix}`);
  }
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    fails || warns
      ? `${fails} problem(s), ${warns} warning(s)`
      : 'everything gatepass needs is in place',
  );
  return lines.join('\n') + '\n';
}

/**
 * `gatepass doctor`: checks the live setup of an access repo through GitHub's API and prints a
 * checklist with a fix for each failure. Exit 0 when nothing fails (warnings allowed), 1 otherwise.
 */
export async function runDoctor(io: CliIo, dir: string, opts: DoctorCliOptions): Promise<number> {
  const env = io.env ?? {};
  const loaded = await loadCheckedPolicies(io, dir);
  if ('exit' in loaded) return loaded.exit;
  const { root, policies } = loaded;
  let full = opts.repo;
  if (!full) {
    const git = await GitRepo.open(root).catch(() => null);
    const r = repoFromRemote((await git?.remoteUrl('origin')) ?? null);
    full = r ? `${r.owner}/${r.name}` : undefined;
  }
  const m = full ? REPO.exec(full) : null;
  if (!m?.[1] || !m[2]) {
    io.err(
      'gatepass doctor: --repo owner/name is required (no GitHub origin remote to read it from)\n',
    );
    return EXIT.usage;
  }
  const token = opts.token ?? env.GITHUB_TOKEN ?? env.GH_TOKEN;
  if (!token) {
    io.err(
      "gatepass doctor: a token is required: --token, or GITHUB_TOKEN/GH_TOKEN (a repository administrator's, e.g. `gh auth token`)\n",
    );
    return EXIT.usage;
  }
  const apiUrl = (opts.apiUrl ?? env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/$/, '');
  const gh = new SetupReader(token, m[1], m[2], apiUrl);
  const appId = opts.appId ?? env.GATEPASS_APP_ID;
  const keyFile = opts.privateKey ?? env.GATEPASS_APP_PRIVATE_KEY_PATH;
  const readLocal = (p: string) => readOptional(root, p);
  const checks: Check[] = [];
  try {
    const repo = await gh.repository();
    if (!repo) {
      io.err(`gatepass doctor: ${full} not found, or the token cannot see it\n`);
      return EXIT.problems;
    }
    const c: Context = {
      gh,
      owner: m[1],
      repo: m[2],
      branch: repo.defaultBranch,
      policies,
      actionsMode: (await readLocal(join('.github', 'workflows', APP_WORKFLOW))) !== undefined,
      localWorkflow: await readLocal(join('.github', 'workflows', ACTION_WORKFLOW)),
      opts,
      appIds: new Set([appId, opts.requestAppId].filter((x): x is string => !!x).map(Number)),
      bothAppsKnown: false,
    };
    checks.push(...(await checkWorkflows(c)));
    checks.push(...(await checkLabels(c)));
    checks.push(
      ...(await checkEnvironment(
        c,
        ACTION_ENVIRONMENT,
        [SETTINGS.credentialsAppKey, ...policySecretNames(policies)],
        SETTINGS.credentialsAppId,
      )),
    );
    if (c.actionsMode)
      checks.push(
        ...(await checkEnvironment(
          c,
          APP_ENVIRONMENT,
          [SETTINGS.requestAppKey],
          SETTINGS.requestAppId,
        )),
      );
    // Both ids known: from the options, or from the variables the workflows read them from.
    c.bothAppsKnown = c.appIds.size >= 2;
    checks.push(...checkRulesets(c, await gh.rulesets()));
    checks.push(...(await checkFiles(c)));
    checks.push(...(await checkApp(c, 'credentials app', appId, keyFile)));
    checks.push(...(await checkApp(c, 'request app', opts.requestAppId, opts.requestPrivateKey)));
    const ok = !checks.some((ch) => ch.status === 'fail');
    if (opts.json)
      io.out(
        JSON.stringify({ repository: full, defaultBranch: c.branch, ok, checks }, null, 2) + '\n',
      );
    else io.out(render(checks, `gatepass doctor: ${full} (default branch ${c.branch})`));
    return ok ? EXIT.ok : EXIT.problems;
  } catch (e) {
    if (e instanceof UnreachableError) io.err(`gatepass doctor: ${e.message}\n`);
    else io.err(`gatepass doctor: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.problems;
  }
}
