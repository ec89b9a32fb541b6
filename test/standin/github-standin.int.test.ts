import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Webhooks } from '@octokit/webhooks';
import { GitHubClient } from '../../src/github/github-client.js';
import { createOctokit } from '../../src/github/octokit.js';
import {
  expectNoContractProblems,
  startGitHubStandIn,
  type GitHubStandIn,
  type StandInOptions,
} from './github-standin.js';

const SECRET = 'webhook-secret';
/** How Probot checks a delivery. */
const verify = (secret: string, body: string, signature: string) =>
  new Webhooks({ secret }).verify(body, signature);
const options = (extra: Partial<StandInOptions> = {}): StandInOptions => ({
  owner: 'acme',
  repo: 'access',
  users: [
    { login: 'alice', id: 101, keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice alice@laptop'] },
    { login: 'bob', id: 102 },
    { login: 'carol', id: 103 },
  ],
  teams: { 'acme/sre': ['bob', 'carol'] },
  app: { id: 7, slug: 'gatepass', botId: 9007, webhookSecret: SECRET },
  files: { 'policies/prod.yaml': 'resources: {}\n', 'grants/.gitkeep': '' },
  ...extra,
});

let gh: GitHubStandIn;
const octokit = (token: string) =>
  createOctokit({ token, baseUrl: gh.apiUrl, retry: false, throttle: false });
const asApp = () => new GitHubClient(octokit(gh.appToken), { owner: 'acme', repo: 'access' });
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });

afterEach(async () => {
  await gh?.stop();
});

describe('the GitHub stand-in with GitHubClient against it', () => {
  beforeEach(async () => {
    gh = await startGitHubStandIn(options());
  });

  it('answers the reads GitHubClient makes, shaped as GitHub shapes them', async () => {
    const client = asApp();
    expect(await client.userKeys('alice')).toEqual([
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice alice@laptop',
    ]);
    expect(await client.loginForId(102)).toBe('bob');
    expect(await client.loginForId(999)).toBeNull();
    expect(await client.teamMemberIds('acme/sre')).toEqual(new Set([102, 103]));
    expect(await client.teamMemberIds('acme/ghost')).toEqual(new Set());
    expect(gh.requests.map((r) => `${r.operationId} ${r.status}`)).toEqual([
      'users/list-public-keys-for-user 200',
      'users/get-by-id 200',
      'users/get-by-id 404',
      'teams/list-members-in-org 200',
      'teams/list-members-in-org 404',
    ]);
    expectNoContractProblems(gh);
  });

  it('keeps team memberships, collaborators and invitations', async () => {
    const client = asApp();
    expect(await client.addTeamMember('acme/sre', 'alice', 'member')).toEqual({
      state: 'active',
      role: 'member',
    });
    expect(await client.teamMembership('acme/sre', 'alice')).toBe('active');
    expect(await client.removeTeamMember('acme/sre', 'alice')).toBe(true);
    expect(await client.removeTeamMember('acme/sre', 'alice')).toBe(false);

    const invited = await client.addCollaborator('acme/access', 'alice', 'push');
    expect(invited.kind).toBe('invited');
    expect(await client.collaboratorPermission('acme/access', 'alice')).toBeNull();
    if (invited.kind !== 'invited') throw new Error('unreachable');
    await gh.as('alice').acceptInvitation(invited.invitationId);
    expect(await client.collaboratorPermission('acme/access', 'alice')).toBe('push');
    expect(await client.addCollaborator('acme/access', 'alice', 'admin')).toEqual({
      kind: 'updated',
    });
    expect(await client.directCollaborators('acme/access')).toEqual([
      { login: 'alice', id: 101, permission: 'admin' },
    ]);
    expect(await client.removeCollaborator('acme/access', 'alice')).toBe(true);
    expect(gh.state.collaborators.size).toBe(0);
    expectNoContractProblems(gh);
  });

  it('pages lists with per_page and Link headers, as octokit.paginate follows them', async () => {
    const members = Array.from({ length: 7 }, (_, i) => ({ login: `m${i}`, id: 500 + i }));
    await gh.stop();
    gh = await startGitHubStandIn(
      options({ users: members, teams: { 'acme/big': members.map((m) => m.login) } }),
    );
    const o = octokit(gh.appToken);
    const first = await o.request('GET /orgs/{org}/teams/{team_slug}/members', {
      org: 'acme',
      team_slug: 'big',
      per_page: 3,
    });
    expect(first.data.map((m) => m.login)).toEqual(['m0', 'm1', 'm2']);
    expect(first.headers.link).toContain('page=2>; rel="next"');
    expect(first.headers.link).toContain('page=3>; rel="last"');
    const all = await o.paginate('GET /orgs/{org}/teams/{team_slug}/members', {
      org: 'acme',
      team_slug: 'big',
      per_page: 3,
    });
    expect(all.map((m) => m.id)).toEqual(members.map((m) => m.id));
    expect(gh.requests.filter((r) => r.operationId === 'teams/list-members-in-org')).toHaveLength(
      4,
    );
    expectNoContractProblems(gh);
  });
});

describe('contents and refs through the real git repo', () => {
  beforeEach(async () => {
    gh = await startGitHubStandIn(options());
  });

  it('writes a file with PUT contents and reads it back, from the API and from a clone', async () => {
    const o = octokit(gh.appToken);
    const put = await o.request('PUT /repos/{owner}/{repo}/contents/{path}', {
      owner: 'acme',
      repo: 'access',
      path: 'grants/prod-db/req-1.yaml',
      message: 'Grant req-1: requested',
      content: Buffer.from('id: req-1\n').toString('base64'),
    });
    expect(put.status).toBe(201);
    const got = await o.request('GET /repos/{owner}/{repo}/contents/{path}', {
      owner: 'acme',
      repo: 'access',
      path: 'grants/prod-db/req-1.yaml',
    });
    if (Array.isArray(got.data) || got.data.type !== 'file') throw new Error('not a file');
    expect(Buffer.from(got.data.content, 'base64').toString()).toBe('id: req-1\n');
    expect(got.data.sha).toBe(put.data.content?.sha);

    const tmp = mkdtempSync(join(tmpdir(), 'standin-clone-'));
    try {
      git(tmp, 'clone', '--quiet', gh.gitDir, 'c');
      expect(readFileSync(join(tmp, 'c/grants/prod-db/req-1.yaml'), 'utf8')).toBe('id: req-1\n');
      expect(git(join(tmp, 'c'), 'log', '-1', '--format=%s %an')).toBe(
        'Grant req-1: requested gatepass[bot]\n',
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    expectNoContractProblems(gh);
  });

  it('refuses an update without the blob sha (422) or with a stale one (409)', async () => {
    const o = octokit(gh.appToken);
    const params = { owner: 'acme', repo: 'access', path: 'policies/prod.yaml', message: 'x' };
    const content = Buffer.from('resources: {x: 1}\n').toString('base64');
    await expect(
      o.request('PUT /repos/{owner}/{repo}/contents/{path}', { ...params, content }),
    ).rejects.toMatchObject({
      status: 422,
    });
    await expect(
      o.request('PUT /repos/{owner}/{repo}/contents/{path}', {
        ...params,
        content,
        sha: 'a'.repeat(40),
      }),
    ).rejects.toMatchObject({ status: 409 });
    const current = await gh.git.entry(
      (await gh.git.resolveCommit('main')) ?? '',
      'policies/prod.yaml',
    );
    const ok = await o.request('PUT /repos/{owner}/{repo}/contents/{path}', {
      ...params,
      content,
      sha: current?.sha ?? '',
    });
    expect(ok.status).toBe(200);
    expectNoContractProblems(gh);
  });

  it('creates, reads, moves and deletes refs, and lists trees and blobs', async () => {
    const o = octokit(gh.appToken);
    const repo = { owner: 'acme', repo: 'access' };
    const main = await o.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
      ...repo,
      ref: 'heads/main',
    });
    const base = main.data.object.sha;
    await o.request('POST /repos/{owner}/{repo}/git/refs', {
      ...repo,
      ref: 'refs/heads/grant/req-2',
      sha: base,
    });
    await expect(
      o.request('POST /repos/{owner}/{repo}/git/refs', {
        ...repo,
        ref: 'refs/heads/grant/req-2',
        sha: base,
      }),
    ).rejects.toMatchObject({ status: 422 });
    const tree = await o.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', {
      ...repo,
      tree_sha: base,
      recursive: '1',
    });
    expect(tree.data.tree.map((e) => e.path)).toEqual([
      'grants',
      'grants/.gitkeep',
      'policies',
      'policies/prod.yaml',
    ]);
    const blobSha = tree.data.tree.find((e) => e.path === 'policies/prod.yaml')?.sha ?? '';
    const blob = await o.request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', {
      ...repo,
      file_sha: blobSha,
    });
    expect(Buffer.from(blob.data.content, 'base64').toString()).toBe('resources: {}\n');
    const matching = await o.request('GET /repos/{owner}/{repo}/git/matching-refs/{ref}', {
      ...repo,
      ref: 'heads/grant',
    });
    expect(matching.data.map((r) => r.ref)).toEqual(['refs/heads/grant/req-2']);
    await o.request('DELETE /repos/{owner}/{repo}/git/refs/{ref}', {
      ...repo,
      ref: 'heads/grant/req-2',
    });
    expect(await gh.git.resolveCommit('refs/heads/grant/req-2')).toBeNull();
    expectNoContractProblems(gh);
  });
});

describe('pull requests, reviews and merges', () => {
  beforeEach(async () => {
    gh = await startGitHubStandIn(options());
  });

  it('opens a PR, records reviews on the head, and squash-merges it into the bare repo', async () => {
    const pr = await gh.as('alice').openPullRequest({
      title: 'Access to prod-db',
      head: 'grant/req-3',
      files: { 'grants/prod-db/req-3.yaml': 'id: req-3\nstatus: pending\n' },
    });
    const client = asApp();
    const info = await client.pullRequest(pr);
    expect(info).toMatchObject({ number: pr, state: 'open', merged: false, base_ref: 'main' });
    expect(info.user).toEqual({ login: 'alice', id: 101, type: 'User' });
    expect(await client.pullRequestFiles(pr)).toEqual([
      { filename: 'grants/prod-db/req-3.yaml', status: 'added' },
    ]);

    await expect(gh.as('alice').review(pr, 'APPROVE')).rejects.toMatchObject({ status: 422 });
    const reviewId = await gh.as('bob').review(pr, 'APPROVE');
    const reviews = await client.reviews(pr);
    expect(reviews).toEqual([
      expect.objectContaining({
        id: reviewId,
        state: 'APPROVED',
        commit_id: info.head_sha,
        user: { login: 'bob', id: 102, type: 'User' },
      }),
    ]);

    const o = octokit(gh.appToken);
    const merged = await o.request('PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge', {
      owner: 'acme',
      repo: 'access',
      pull_number: pr,
      merge_method: 'squash',
      sha: info.head_sha,
      commit_title: 'Grant req-3: approved',
      commit_message: 'Gatepass-Grant: req-3\nGatepass-Event: approved',
    });
    expect(merged.data.merged).toBe(true);
    const main = await gh.git.resolveCommit('refs/heads/main');
    expect(main).toBe(merged.data.sha);
    const commit = await gh.git.commit(merged.data.sha);
    expect(commit?.parents).toHaveLength(1);
    expect(commit?.message).toBe(
      'Grant req-3: approved\n\nGatepass-Grant: req-3\nGatepass-Event: approved\n',
    );
    expect(await client.pullRequest(pr)).toMatchObject({
      merged: true,
      state: 'closed',
      merge_commit_sha: main,
    });

    const tmp = mkdtempSync(join(tmpdir(), 'standin-clone-'));
    try {
      git(tmp, 'clone', '--quiet', gh.gitDir, 'c');
      expect(readFileSync(join(tmp, 'c/grants/prod-db/req-3.yaml'), 'utf8')).toContain('id: req-3');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const pulls = await o.request('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', {
      owner: 'acme',
      repo: 'access',
      commit_sha: main ?? '',
    });
    expect(pulls.data.map((p) => p.number)).toEqual([pr]);
    expectNoContractProblems(gh);
  });

  it('refuses a merge whose sha is no longer the head (409) and voids nothing in git', async () => {
    const alice = gh.as('alice');
    const pr = await alice.openPullRequest({
      title: 'req-4',
      head: 'grant/req-4',
      files: { 'grants/a.yaml': 'a\n' },
    });
    const firstHead = (await asApp().pullRequest(pr)).head_sha;
    await gh.as('bob').review(pr, 'APPROVE');
    await alice.push({ branch: 'grant/req-4', files: { 'grants/a.yaml': 'b\n' } });
    const head = (await asApp().pullRequest(pr)).head_sha;
    expect(head).not.toBe(firstHead);
    const before = await gh.git.resolveCommit('refs/heads/main');
    const res = await gh.as('carol').merge(pr, { method: 'squash', sha: firstHead });
    expect(res.status).toBe(409);
    expect(await gh.git.resolveCommit('refs/heads/main')).toBe(before);
    const reviews = await asApp().reviews(pr);
    expect(reviews[0]?.commit_id).toBe(firstHead);
    expect(gh.events.map((e) => `${e.name}.${e.action ?? ''}`)).toContain(
      'pull_request.synchronize',
    );
    expectNoContractProblems(gh);
  });

  it('creates, updates and lists check runs for a commit', async () => {
    const pr = await gh
      .as('alice')
      .openPullRequest({ title: 'c', head: 'grant/c', files: { 'grants/c.yaml': 'c\n' } });
    const head = (await asApp().pullRequest(pr)).head_sha;
    const o = octokit(gh.appToken);
    const repo = { owner: 'acme', repo: 'access' };
    const created = await o.request('POST /repos/{owner}/{repo}/check-runs', {
      ...repo,
      name: 'gatepass/approval',
      head_sha: head,
      status: 'in_progress',
    });
    await o.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      ...repo,
      check_run_id: created.data.id,
      conclusion: 'success',
      output: { title: 'Approved', summary: 'bob approved' },
    });
    const list = await o.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
      ...repo,
      ref: head,
    });
    expect(list.data.total_count).toBe(1);
    expect(list.data.check_runs[0]).toMatchObject({
      name: 'gatepass/approval',
      status: 'completed',
      conclusion: 'success',
      output: { title: 'Approved', summary: 'bob approved' },
      pull_requests: [expect.objectContaining({ number: pr })],
    });
    await expect(
      octokit(gh.tokenFor('bob')).request('POST /repos/{owner}/{repo}/check-runs', {
        ...repo,
        name: 'x',
        head_sha: head,
      }),
    ).rejects.toMatchObject({ status: 403 });
    expectNoContractProblems(gh);
  });
});

describe('pushes made straight to the bare repo', () => {
  beforeEach(async () => {
    gh = await startGitHubStandIn(options());
  });

  it('notices a git push to a PR branch: new head, push and synchronize events', async () => {
    const pr = await gh.as('alice').openPullRequest({
      title: 'r',
      head: 'grant/r',
      files: { 'grants/r.yaml': 'r\n' },
    });
    const tmp = mkdtempSync(join(tmpdir(), 'standin-clone-'));
    try {
      git(tmp, 'clone', '--quiet', '--branch', 'grant/r', gh.gitDir, 'c');
      const dir = join(tmp, 'c');
      git(
        dir,
        '-c',
        'user.name=Alice',
        '-c',
        'user.email=a@example.com',
        'commit',
        '--quiet',
        '--allow-empty',
        '-m',
        'more',
      );
      git(dir, 'push', '--quiet', 'origin', 'grant/r');
      const pushed = git(dir, 'rev-parse', 'HEAD').trim();
      await gh.syncPushes();
      expect((await asApp().pullRequest(pr)).head_sha).toBe(pushed);
      const last = gh.events.slice(-2).map((e) => `${e.name}.${e.action ?? ''}`);
      expect(last).toEqual(['push.', 'pull_request.synchronize']);
      expect(gh.events.at(-1)?.payload).toMatchObject({
        after: pushed,
        sender: { login: 'github-actions[bot]' },
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    expectNoContractProblems(gh);
  });
});

describe('contract problems', () => {
  beforeEach(async () => {
    gh = await startGitHubStandIn(options());
  });

  it('records a request GitHub would reject, and an operation GitHub does not have', async () => {
    const alice = gh.as('alice');
    const bad = await alice.request('POST', '/repos/acme/access/issues', { body: 'no title' });
    expect(bad.status).toBe(422);
    const unknown = await alice.request('GET', '/repos/acme/access/no-such-thing');
    expect(unknown.status).toBe(404);
    expect(gh.problems).toEqual([
      expect.stringContaining('POST /repos/acme/access/issues (issues/create): request body'),
      expect.stringContaining('GET /repos/acme/access/no-such-thing: no such operation'),
    ]);
    expect(() => expectNoContractProblems(gh)).toThrow(/would not make/);
    expect(gh.state.issues.size).toBe(0);
  });
});

describe('webhooks', () => {
  let app: Server;
  let received: { headers: Record<string, unknown>; body: string }[];

  beforeEach(async () => {
    received = [];
    app = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202).end('ok');
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const { port } = app.address() as AddressInfo;
    gh = await startGitHubStandIn(
      options({
        app: {
          id: 7,
          slug: 'gatepass',
          botId: 9007,
          webhookSecret: SECRET,
          webhookUrl: `http://127.0.0.1:${port}/api/github/webhooks`,
        },
      }),
    );
  });

  afterEach(async () => {
    await new Promise<void>((r) => app.close(() => r()));
  });

  it('delivers signed events in order, payloads as GitHub shapes them', async () => {
    const alice = gh.as('alice');
    const n = await alice.openIssue({ title: 'Access request', body: '### Resource\n\nprod-db' });
    await gh.as('bob').comment(n, 'why?');
    expect(received.map((r) => `${r.headers['x-github-event']}`)).toEqual([
      'issues',
      'issue_comment',
    ]);
    for (const r of received) {
      expect(await verify(SECRET, r.body, String(r.headers['x-hub-signature-256']))).toBe(true);
      expect(await verify('wrong', r.body, String(r.headers['x-hub-signature-256']))).toBe(false);
    }
    const opened = JSON.parse(received[0]?.body ?? '{}');
    expect(opened).toMatchObject({
      action: 'opened',
      issue: { number: n, title: 'Access request', user: { login: 'alice', id: 101 } },
      repository: { full_name: 'acme/access' },
      sender: { login: 'alice' },
      installation: { id: 4242 },
    });
    expect(gh.events.map((e) => [e.name, e.action, e.status])).toEqual([
      ['issues', 'opened', 202],
      ['issue_comment', 'created', 202],
    ]);
    expectNoContractProblems(gh);
  });

  it('redelivers a delivery with the same id', async () => {
    await gh.as('alice').openIssue({ title: 'x' });
    const first = gh.events[0];
    if (!first) throw new Error('no delivery');
    await gh.redeliver(first.id);
    expect(received.map((r) => r.headers['x-github-delivery'])).toEqual([first.id, first.id]);
    expect(first.attempts).toBe(2);
  });

  it('sends the pull request and review events a reviewer causes', async () => {
    const pr = await gh
      .as('alice')
      .openPullRequest({ title: 'p', head: 'grant/p', files: { 'grants/p.yaml': 'p\n' } });
    const id = await gh.as('bob').review(pr, 'APPROVE');
    await gh.as('carol').dismissReview(pr, id, 'stale');
    const names = gh.events.map((e) => `${e.name}.${e.action ?? ''}`);
    expect(names).toEqual([
      'push.',
      'pull_request.opened',
      'pull_request_review.submitted',
      'pull_request_review.dismissed',
    ]);
    expectNoContractProblems(gh);
  });
});

describe('in-process delivery', () => {
  it('hands each delivery to a callback instead of POSTing it', async () => {
    const seen: string[] = [];
    gh = await startGitHubStandIn(
      options({
        deliver: async (d) => {
          seen.push(`${d.name}.${String(d.payload.action)}`);
          expect(await verify(SECRET, d.body, d.signature)).toBe(true);
        },
      }),
    );
    const pr = await gh
      .as('alice')
      .openPullRequest({ title: 'p', head: 'grant/q', files: { 'grants/q.yaml': 'q\n' } });
    await gh.as('alice').editIssue(pr, { state: 'closed' });
    expect(seen).toEqual(['push.undefined', 'pull_request.opened', 'pull_request.closed']);
    expect(gh.events.every((e) => e.status === 200)).toBe(true);
    expectNoContractProblems(gh);
  });
});
