/**
 * An access repo on disk (bare remote + clone), grant PRs "merged" the way the app merges
 * them, GitHub answers for the verification, and an in-memory provider that counts what it
 * really did.
 */
import nock from 'nock';
import { fixedClock } from '../../src/core/clock.js';
import type { Grant } from '../../src/core/grant.js';
import { grantPath, parseGrant, serializeGrant } from '../../src/core/grant-file.js';
import { commitMessage, parseTrailers, type EventTrailers } from '../../src/core/trailers.js';
import { reconcile, type ReconcileOptions } from '../../src/engine/reconcile/index.js';
import { gitGrantWriter } from '../../src/git/grant-store.js';
import { GitRepo } from '../../src/git/git-repo.js';
import { GitHubClient } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import type { Issued, LiveAccess, Provider } from '../../src/providers/provider.js';
import { initAccessRepo, type AccessRepoFixture } from './git.js';
import { account, comparison, issue, prFile, pullRequest, review } from './github-fixtures.js';
import { exampleResponse } from './openapi.js';

export const API = 'https://api.github.com';
export const REPO_PATH = '/repos/acme/access';
export const alice = { login: 'alice', id: 1001 };
export const bob = { login: 'bob', id: 1002 };
/** The head commit of merged PR `pr` (each PR its own, so comparisons tell them apart). */
export const headOf = (pr: number): string => `e${String(pr).padStart(39, '0')}`;
export const T0 = '2030-01-01T10:00:00.000Z';
export const MERGED_AT = '2030-01-01T10:05:00Z';
/** The app's account: it opens request PRs and makes their commits. */
export const APP_USER = { login: 'gatepass[bot]', id: 9999, type: 'Bot' };

/** A github-team resource, for the provider's end-to-end test and the sweep bench. */
export const TEAM_POLICY = `resources:
  sre-team:
    description: Membership of acme/sre
    provider: github-team
    target: { team: acme/sre }
    max_duration: 4h
    default_duration: 1h
    requesters: [alice]
    approvers: [bob]
    approvals_required: 1
`;
/** alice's membership of that team, as the API path. */
export const TEAM_MEMBERSHIP = `/orgs/acme/teams/sre/memberships/${alice.login}`;

export const POLICY = `resources:
  prod-db:
    description: Production database, read-only
    provider: postgres
    target: { admin_url: 'env:PROD_PG_ADMIN_URL', database: app, roles: [readonly] }
    max_duration: 4h
    default_duration: 1h
    requesters: [alice]
    approvers: [bob]
    approvals_required: 1
`;

export interface TestRepo extends AccessRepoFixture {
  policyCommit: string;
  /** The bare remote, opened for reading what was pushed. */
  origin: GitRepo;
}

export async function setupRepo(policy = POLICY): Promise<TestRepo> {
  const fx = await initAccessRepo();
  fx.write('policies/example.yaml', policy);
  await fx.repo.add(['policies']);
  const policyCommit = await fx.repo.commit('Policies');
  await fx.repo.push('origin', 'main');
  return { ...fx, policyCommit, origin: await GitRepo.open(fx.remote) };
}

export function pendingGrant(repo: TestRepo, n: number, overrides: Partial<Grant> = {}): Grant {
  return {
    id: `req-${n}`,
    resource: 'prod-db',
    requester: alice,
    duration: 3600,
    justification: 'Investigating slow checkout queries (INC-7)',
    source: { issue: n, pull_request: n + 1000 },
    policy_commit: repo.policyCommit,
    status: 'pending',
    requested_at: T0,
    ...overrides,
  };
}

/**
 * Lands a grant file on main as the app's merge does (one commit, `Gatepass-Pull-Request`
 * trailer), or as a direct push when `pr` is null. Returns the commit.
 */
export async function landGrant(
  repo: TestRepo,
  grant: Grant,
  pr: number | null,
  files: Record<string, string> = {},
): Promise<string> {
  const clone = await repo.cloneAgain(`lander-${grant.id}-${Date.now()}`);
  const path = grantPath(grant.resource, grant.id);
  repo.write(path, serializeGrant(grant), clone.dir);
  for (const [p, text] of Object.entries(files)) repo.write(p, text, clone.dir);
  await clone.add(['.']);
  const t: EventTrailers = {
    grant: grant.id,
    event: 'requested',
    resource: grant.resource,
    requestedBy: grant.requester,
    ...(pr === null ? {} : { pullRequest: pr }),
  };
  const sha = await clone.commit(commitMessage(`Request ${grant.id}`, t));
  if ((await clone.push('origin', 'main')) !== 'ok') throw new Error('landing push failed');
  return sha;
}

/** GitHub's view of a merged grant PR approved by bob on its head (persisted: reruns re-ask). */
export function mockMergedPr(
  grant: Grant,
  pr: number,
  mergeSha: string,
  o: {
    files?: string[];
    reviewer?: { login: string; id: number };
    merged?: boolean;
    /** When the approving review was submitted (default: long before T0). */
    reviewedAt?: string;
    mergedAt?: string;
    /** The login GitHub has for the requester's id (default: the grant's). */
    requesterLogin?: string;
    /** Who opened the PR (default: the app, from the grant's request branch). */
    author?: { login: string; id: number; type?: string };
    /** The head's commits (default: one, the app's own, verified). */
    commits?: Parameters<typeof comparison>[1];
    /** Who opened the request issue the branch names (default: the requester). */
    issueAuthor?: { login: string; id: number; type?: string };
  } = {},
): nock.Scope {
  const path = grantPath(grant.resource, grant.id);
  const author = o.author ?? APP_USER;
  const PR_HEAD = headOf(pr);
  const issueNumber = /^req-(\d+)/.exec(grant.id)?.[1];
  const scope = nock(API)
    .persist()
    .get(`${REPO_PATH}/pulls/${pr}`)
    .reply(
      200,
      pullRequest({
        number: pr,
        head_sha: PR_HEAD,
        author,
        state: 'closed',
        merged: o.merged ?? true,
        merge_commit_sha: mergeSha,
        merged_at: o.mergedAt ?? MERGED_AT,
        head_ref: `gatepass/${grant.id}`,
      }),
    )
    // The head that was merged, compared from the merge's first parent.
    .get(new RegExp(`^${REPO_PATH}/compare/[0-9a-f]{40}\\.\\.\\.${PR_HEAD}$`))
    .query(true)
    .reply(
      200,
      comparison(
        (o.files ?? [path]).map((f) => prFile(f)),
        o.commits ?? [{ sha: PR_HEAD, author: APP_USER, verified: true }],
      ),
    );
  if (issueNumber && author.type === 'Bot')
    scope
      .get(`${REPO_PATH}/issues/${issueNumber}`)
      .reply(200, issue(Number(issueNumber), o.issueAuthor ?? grant.requester));
  return (
    scope
      .get(`${REPO_PATH}/pulls/${pr}/reviews`)
      .query(true)
      .reply(200, [
        review({
          id: 7000 + pr,
          user: o.reviewer ?? bob,
          state: 'APPROVED',
          commit_id: PR_HEAD,
          ...(o.reviewedAt ? { submitted_at: o.reviewedAt } : {}),
        }),
      ])
      // The action checks that the requester's login is the account its id names.
      .get(`/user/${grant.requester.id}`)
      .reply(200, account(o.requesterLogin ?? grant.requester.login, grant.requester.id))
  );
}

/** Retry and throttling off unless a test is about them (throttling spaces writes by seconds). */
export const githubClient = (
  o: { retry?: boolean; throttle?: boolean; log?: (m: string) => void } = {},
) =>
  new GitHubClient(
    createOctokit({
      token: 'ghs_testtokentesttokentesttoken0000',
      retry: o.retry ?? false,
      throttle: o.throttle ?? false,
      retryAfterMs: 1,
      ...(o.log ? { log: o.log } : {}),
    }),
    { owner: 'acme', repo: 'access' },
  );

/**
 * A provider whose "real world" is a map: one credential per grant id, so a double issue
 * shows as a second credential. `fail` makes issue/revoke throw for a grant id.
 */
export class FakeProvider implements Provider {
  readonly kind = 'postgres' as const;
  /** grant id → number of credentials that exist for it. */
  readonly world = new Map<string, number>();
  readonly calls: string[] = [];
  readonly fail = new Set<string>();
  validateTarget() {
    return [];
  }
  async issue(grant: Grant): Promise<Issued> {
    this.calls.push(`issue ${grant.id}`);
    if (this.fail.has(grant.id)) throw new Error(`target unreachable for ${grant.id}`);
    if (!grant.expires_at) throw new Error('issue without a window');
    // Idempotent by grant id, like the real providers.
    if (!this.world.has(grant.id)) this.world.set(grant.id, 1);
    return {
      facts: { role: `gatepass_${grant.id.replace(/-/g, '_')}` },
      delivery: { title: `Access to ${grant.resource}`, body: 'age-encrypted: AGE-CIPHERTEXT' },
    };
  }
  /** Moves the native expiry of the same credential: never a second one. */
  async extend(grant: Grant): Promise<Issued> {
    this.calls.push(`extend ${grant.id} until ${grant.expires_at}`);
    if (!this.world.has(grant.id)) throw new Error(`no credential to extend for ${grant.id}`);
    return { facts: { valid_until: grant.expires_at! } };
  }
  async revoke(grant: Grant): Promise<void> {
    this.calls.push(`revoke ${grant.id}`);
    if (this.fail.has(grant.id)) throw new Error(`target unreachable for ${grant.id}`);
    this.world.delete(grant.id);
  }
  async list(): Promise<LiveAccess[]> {
    return [...this.world.keys()].map((id) => ({
      grantId: id,
      key: id,
      description: `role for ${id}`,
    }));
  }
  async removeDrift(access: LiveAccess): Promise<void> {
    this.world.delete(access.key);
  }
}

/** Runs reconcile on a fresh clone of the remote, as a new workflow run would. */
export async function runOnce(
  repo: TestRepo,
  o: Partial<ReconcileOptions> & { clock: ReconcileOptions['clock'] },
) {
  const clone = await repo.cloneAgain(`run-${Math.random().toString(36).slice(2)}`);
  const logs: string[] = [];
  const result = await reconcile({
    history: clone,
    writer: gitGrantWriter(clone, 'origin', 'main'),
    branch: 'main',
    github: githubClient(),
    env: {},
    mask: () => {},
    log: (l) => logs.push(l),
    ...o,
  });
  return { result, logs, clone };
}

export const clockAt = (iso: string) => fixedClock(iso);

/** The grant as pushed to main, wherever it lives now (hot path or archive). */
export async function grantOnMain(
  repo: TestRepo,
  id: string,
): Promise<{ path: string; grant: Grant } | null> {
  const files = await repo.origin.listFiles('main', 'grants');
  const path = files.find((f) => f.endsWith(`/${id}.yaml`));
  if (!path) return null;
  const parsed = parseGrant((await repo.origin.showFile('main', path))!, path);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
  return { path, grant: parsed.value };
}

/** Gatepass events on main for a grant, oldest first. */
export async function eventsOnMain(repo: TestRepo, id: string): Promise<string[]> {
  const out: string[] = [];
  for await (const c of repo.origin.logTrailers({ rev: 'main', reverse: true })) {
    const t = parseTrailers(c.message);
    if (t && t.grant === id) out.push(t.event);
  }
  return out;
}

/** Accepts any number of comments on the request issues; returns the bodies posted. */
export function mockComments(): string[] {
  const posted: string[] = [];
  nock(API)
    .persist()
    .post(/\/repos\/acme\/access\/issues\/\d+\/comments/)
    .reply(201, (_uri: string, body: unknown) => {
      const text = (body as { body: string }).body;
      posted.push(text);
      const example = exampleResponse(
        'POST',
        '/repos/{owner}/{repo}/issues/{issue_number}/comments',
        201,
      ) as Record<string, unknown>;
      return { ...example, body: text };
    });
  return posted;
}
