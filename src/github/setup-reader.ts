/**
 * What `gatepass doctor` reads about a live setup: repository settings (with an administrator's
 * token) and where the GitHub Apps are installed with which permissions (with the app's own
 * key). Read-only, except for creating labels when asked to.
 */
import { createSign } from 'node:crypto';
import { createOctokit, type GitHubOctokit } from './octokit.js';
import { redactTokens } from './github-client.js';

export interface EnvironmentInfo {
  /** null: any branch may deploy; 'protected': any protected branch; else these patterns. */
  branches: null | 'protected' | string[];
  /** Whether a run waits for required reviewers. */
  reviewers: boolean;
}

export interface RulesetInfo {
  id: number;
  name: string;
  enforcement: string;
  include: string[];
  exclude: string[];
  rules: { type: string; parameters?: Record<string, unknown> }[];
  bypass: { actor_id: number | null; actor_type: string }[];
}

export interface InstallationInfo {
  id: number;
  permissions: Record<string, string>;
  /** Full names of the repositories the installation can reach. */
  repositories: string[];
}

/** A failure to reach GitHub at all (DNS, refused connection, TLS), told apart from HTTP errors. */
export class UnreachableError extends Error {}

const status = (e: unknown): number | undefined =>
  typeof e === 'object' && e !== null && 'response' in e && (e as { response?: unknown }).response
    ? (e as { status?: number }).status
    : undefined;

/** Octokit reports a network failure as status 500 without a response: say what it is. */
export function describeRequestError(e: unknown, apiUrl: string): Error {
  const s = status(e);
  const message = e instanceof Error ? e.message : String(e);
  if (s === undefined) {
    const cause = (e as { cause?: { cause?: { code?: string }; code?: string } }).cause;
    const code = cause?.cause?.code ?? cause?.code ?? '';
    return new UnreachableError(
      redactTokens(`cannot reach ${apiUrl}${code ? ` (${code})` : ''}: ${message}`),
    );
  }
  return new Error(redactTokens(`HTTP ${s}: ${message}`));
}

async function orUndefined<T>(apiUrl: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (status(e) === 404) return undefined;
    throw describeRequestError(e, apiUrl);
  }
}

/** A GitHub App's JSON Web Token (RS256, valid ten minutes, backdated a minute for clock skew). */
export function appJwt(appId: string, privateKeyPem: string, now = new Date()): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(now.getTime() / 1000) - 60;
  const body = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iat, exp: iat + 600, iss: appId })}`;
  const signature = createSign('RSA-SHA256').update(body).sign(privateKeyPem).toString('base64url');
  return `${body}.${signature}`;
}

export class SetupReader {
  private readonly octokit: GitHubOctokit;

  constructor(
    token: string,
    private readonly owner: string,
    private readonly repo: string,
    private readonly apiUrl: string,
  ) {
    this.octokit = createOctokit({ token, baseUrl: apiUrl, retry: false, throttle: false });
  }

  /** The API URL, for messages. */
  get apiUrlForErrors(): string {
    return this.apiUrl;
  }

  private get ref() {
    return { owner: this.owner, repo: this.repo };
  }

  private read<T>(fn: () => Promise<T>): Promise<T | undefined> {
    return orUndefined(this.apiUrl, fn);
  }

  async repository(): Promise<{ defaultBranch: string } | undefined> {
    const r = await this.read(() => this.octokit.request('GET /repos/{owner}/{repo}', this.ref));
    return r ? { defaultBranch: r.data.default_branch } : undefined;
  }

  async labelExists(name: string): Promise<boolean> {
    return (
      (await this.read(() =>
        this.octokit.request('GET /repos/{owner}/{repo}/labels/{name}', { ...this.ref, name }),
      )) !== undefined
    );
  }

  async createLabel(name: string, color: string, description: string): Promise<void> {
    try {
      await this.octokit.request('POST /repos/{owner}/{repo}/labels', {
        ...this.ref,
        name,
        color,
        description,
      });
    } catch (e) {
      throw describeRequestError(e, this.apiUrl);
    }
  }

  async workflowState(file: string): Promise<string | undefined> {
    const r = await this.read(() =>
      this.octokit.request('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}', {
        ...this.ref,
        workflow_id: file,
      }),
    );
    return r?.data.state;
  }

  async environment(name: string): Promise<EnvironmentInfo | undefined> {
    const r = await this.read(() =>
      this.octokit.request('GET /repos/{owner}/{repo}/environments/{environment_name}', {
        ...this.ref,
        environment_name: name,
      }),
    );
    if (!r) return undefined;
    const policy = r.data.deployment_branch_policy;
    const reviewers = (r.data.protection_rules ?? []).some((p) => p.type === 'required_reviewers');
    if (!policy) return { branches: null, reviewers };
    if (policy.protected_branches) return { branches: 'protected', reviewers };
    const list = await this.read(() =>
      this.octokit.request(
        'GET /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies',
        { ...this.ref, environment_name: name, per_page: 100 },
      ),
    );
    return {
      branches: (list?.data.branch_policies ?? [])
        .filter((b) => (b.type ?? 'branch') === 'branch')
        .map((b) => b.name ?? ''),
      reviewers,
    };
  }

  async environmentSecretNames(name: string): Promise<string[] | undefined> {
    const r = await this.read(() =>
      this.octokit.request('GET /repos/{owner}/{repo}/environments/{environment_name}/secrets', {
        ...this.ref,
        environment_name: name,
        per_page: 100,
      }),
    );
    return r?.data.secrets.map((s) => s.name);
  }

  /** A variable's value, set for the environment or else for the repository (variables are not secret). */
  async variable(name: string, environment: string): Promise<string | undefined> {
    const envVar = await this.read(() =>
      this.octokit.request(
        'GET /repos/{owner}/{repo}/environments/{environment_name}/variables/{name}',
        { ...this.ref, environment_name: environment, name },
      ),
    );
    if (envVar?.data.value) return envVar.data.value;
    const repoVar = await this.read(() =>
      this.octokit.request('GET /repos/{owner}/{repo}/actions/variables/{name}', {
        ...this.ref,
        name,
      }),
    );
    return repoVar?.data.value || undefined;
  }

  async rulesets(): Promise<RulesetInfo[]> {
    const list =
      (await this.read(() =>
        this.octokit.paginate('GET /repos/{owner}/{repo}/rulesets', {
          ...this.ref,
          includes_parents: true,
          per_page: 100,
        }),
      )) ?? [];
    const out: RulesetInfo[] = [];
    for (const item of list) {
      const r = await this.read(() =>
        this.octokit.request('GET /repos/{owner}/{repo}/rulesets/{ruleset_id}', {
          ...this.ref,
          ruleset_id: item.id,
        }),
      );
      if (!r || (r.data.target ?? 'branch') !== 'branch') continue;
      const refName = (
        r.data.conditions as { ref_name?: { include?: string[]; exclude?: string[] } }
      )?.ref_name;
      out.push({
        id: r.data.id,
        name: r.data.name,
        enforcement: r.data.enforcement,
        include: refName?.include ?? [],
        exclude: refName?.exclude ?? [],
        rules: (r.data.rules ?? []) as RulesetInfo['rules'],
        bypass: (r.data.bypass_actors ?? []).map((b) => ({
          actor_id: b.actor_id ?? null,
          actor_type: b.actor_type,
        })),
      });
    }
    return out;
  }

  /** A file's text on a branch, or undefined when it is not there. */
  async fileText(path: string, ref: string): Promise<string | undefined> {
    const r = await this.read(() =>
      this.octokit.request('GET /repos/{owner}/{repo}/contents/{path}', { ...this.ref, path, ref }),
    );
    const data = r?.data as { type?: string; content?: string; encoding?: string } | undefined;
    if (!data || data.type !== 'file' || typeof data.content !== 'string') return undefined;
    return Buffer.from(data.content, (data.encoding as BufferEncoding) ?? 'base64').toString(
      'utf8',
    );
  }
}

/**
 * Where a GitHub App is installed for the access repo and what it may do, read as the app
 * itself: its JWT finds the installation, an installation token lists its repositories.
 */
export async function readInstallation(o: {
  appId: string;
  privateKey: string;
  owner: string;
  repo: string;
  apiUrl: string;
}): Promise<InstallationInfo | undefined> {
  const jwt = createOctokit({
    token: appJwt(o.appId, o.privateKey),
    baseUrl: o.apiUrl,
    retry: false,
    throttle: false,
  });
  const inst = await orUndefined(o.apiUrl, () =>
    jwt.request('GET /repos/{owner}/{repo}/installation', { owner: o.owner, repo: o.repo }),
  );
  if (!inst) return undefined;
  let token: string;
  try {
    token = (
      await jwt.request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: inst.data.id,
      })
    ).data.token;
  } catch (e) {
    throw describeRequestError(e, o.apiUrl);
  }
  const asInstallation = createOctokit({ token, baseUrl: o.apiUrl, retry: false, throttle: false });
  let repositories: string[];
  try {
    repositories = (
      await asInstallation.paginate('GET /installation/repositories', { per_page: 100 })
    ).map((r) => r.full_name);
  } catch (e) {
    throw describeRequestError(e, o.apiUrl);
  }
  return {
    id: inst.data.id,
    permissions: Object.fromEntries(
      Object.entries(inst.data.permissions).filter(([, v]) => typeof v === 'string'),
    ) as Record<string, string>,
    repositories,
  };
}
