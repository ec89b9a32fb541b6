/**
 * A small stateful GitHub for app tests, served through nock: branches, commits, contents,
 * pull requests, reviews, issues, comments, labels, check runs and team members. Every reply is
 * shaped from GitHub's OpenAPI examples and (with contract checks on) validated against the
 * description, so the fake cannot drift from the real API. Tests assert the state left behind
 * and the exact calls made (`calls`), and inject faults (`failNext`).
 */
import { createHash } from 'node:crypto';
import nock from 'nock';
import { exampleResponse } from './openapi.js';
import {
  pullRequest as prFixture,
  review as reviewFixture,
  simpleUser,
  teamMembership,
} from './github-fixtures.js';

type Json = Record<string, unknown>;
export interface FakeUser {
  login: string;
  id: number;
  type?: string;
}

export const API = 'https://api.github.com';
export const APP_BOT: FakeUser = { login: 'gatepass[bot]', id: 999, type: 'Bot' };
/** Who pushes with git when a test does not say (GitHub attributes the commit by its email). */
export const PUSHER: FakeUser = { login: 'pusher', id: 4242, type: 'User' };

interface Commit {
  sha: string;
  tree: Map<string, string>;
  message: string;
  parent: string | null;
  /** Who GitHub attributes it to, and whether GitHub verified it (the app's API commits are). */
  author: FakeUser | null;
  verified: boolean;
}
export interface FakePull {
  number: number;
  head_ref: string;
  head_sha: string;
  base_ref: string;
  /** Commit the head branch started from: files are diffed against it (like GitHub's three-dot diff). */
  base_sha: string;
  state: 'open' | 'closed';
  merged: boolean;
  merge_commit_sha: string | null;
  user: FakeUser;
  title: string;
  body: string;
  labels: string[];
  requested_reviewers: string[];
  requested_teams: string[];
}
export interface FakeComment {
  id: number;
  body: string;
  user: FakeUser;
}
export interface FakeIssue {
  labels: string[];
  comments: FakeComment[];
  /** Who opened it: set by `fileIssue` (a person) or by the app's `POST /issues`. */
  author?: FakeUser;
  state: 'open' | 'closed';
}
export interface FakeReview {
  id: number;
  user: FakeUser | null;
  state: string;
  commit_id: string;
  submitted_at: string;
}

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');
const blobSha = (text: string): string => sha1(`blob ${Buffer.byteLength(text)}\0${text}`);
const first = (method: string, template: string, status = 200): Json => {
  const v = exampleResponse(method, template, status);
  return (Array.isArray(v) ? v[0] : v) as Json;
};

export class FakeGitHub {
  readonly owner = 'acme';
  readonly repo = 'access';
  readonly defaultBranch = 'main';
  readonly commits = new Map<string, Commit>();
  readonly branches = new Map<string, string>();
  readonly branchBase = new Map<string, string>();
  readonly pulls = new Map<number, FakePull>();
  readonly reviews = new Map<number, FakeReview[]>();
  readonly issues = new Map<number, FakeIssue>();
  readonly teams = new Map<string, FakeUser[]>();
  /** Invitations not yet accepted, by team: `GET …/memberships/{login}` says `pending`. */
  readonly pendingMembers = new Map<string, Set<string>>();
  /** Issues the app opened (`POST /issues`). */
  readonly opened = new Map<
    number,
    { title: string; body: string; assignees: string[]; state: 'open' | 'closed' }
  >();
  readonly checkRuns: {
    name: string;
    head_sha: string;
    status: string;
    conclusion?: string;
    output: { title: string; summary: string };
  }[] = [];
  readonly merges: {
    number: number;
    sha: string;
    commit_title: string;
    commit_message: string;
    merge_method: string;
  }[] = [];
  /** `METHOD /path` of every API call, in order (the installation token excluded). */
  readonly calls: string[] = [];
  /** Requests the fake does not implement: a test fails on any. */
  readonly unexpected: string[] = [];
  private faults: { method: string; path: RegExp; status: number; times: number }[] = [];
  private counter = 0;
  private nextNumber = 100;
  private nextId = 5000;

  constructor(files: Record<string, string>) {
    const sha = this.newCommit(new Map(Object.entries(files)), 'Initial commit', null);
    this.branches.set(this.defaultBranch, sha);
  }

  get head(): string {
    return this.branches.get(this.defaultBranch)!;
  }

  /** The files at a branch or commit. */
  tree(ref: string): Map<string, string> {
    const sha = this.branches.get(ref) ?? ref;
    const c = this.commits.get(sha);
    if (!c) throw new Error(`no commit ${ref}`);
    return c.tree;
  }

  commitOf(ref: string): Commit {
    return this.commits.get(this.branches.get(ref) ?? ref)!;
  }

  /** A person pushes to a branch (creating it from the default branch when missing). */
  push(
    branch: string,
    files: Record<string, string | null>,
    message = 'push',
    by: { author: FakeUser | null; verified: boolean } = { author: PUSHER, verified: false },
  ): string {
    if (!this.branches.has(branch)) {
      this.branches.set(branch, this.head);
      this.branchBase.set(branch, this.head);
    }
    const tree = new Map(this.tree(branch));
    for (const [p, t] of Object.entries(files)) {
      if (t === null) tree.delete(p);
      else tree.set(p, t);
    }
    const sha = this.newCommit(tree, message, this.branches.get(branch)!, by);
    this.branches.set(branch, sha);
    for (const pr of this.pulls.values())
      if (pr.head_ref === branch && pr.state === 'open') pr.head_sha = sha;
    return sha;
  }

  /** A person opens a PR directly. */
  openPull(o: { head: string; user: FakeUser; title?: string }): FakePull {
    const pr: FakePull = {
      number: this.nextNumber++,
      head_ref: o.head,
      head_sha: this.branches.get(o.head)!,
      base_ref: this.defaultBranch,
      base_sha: this.branchBase.get(o.head) ?? this.head,
      state: 'open',
      merged: false,
      merge_commit_sha: null,
      user: o.user,
      title: o.title ?? 'grant',
      body: '',
      labels: [],
      requested_reviewers: [],
      requested_teams: [],
    };
    this.pulls.set(pr.number, pr);
    return pr;
  }

  addReview(
    pr: number,
    user: FakeUser | null,
    state: string,
    commit_id?: string,
    submitted_at?: string,
  ): FakeReview {
    const r: FakeReview = {
      id: this.nextId++,
      user,
      state,
      commit_id: commit_id ?? this.pulls.get(pr)!.head_sha,
      submitted_at:
        submitted_at ?? new Date(Date.UTC(2030, 0, 1, 10, 0, this.nextId % 60)).toISOString(),
    };
    this.reviews.set(pr, [...(this.reviews.get(pr) ?? []), r]);
    return r;
  }

  issue(n: number): FakeIssue {
    let i = this.issues.get(n);
    if (!i) {
      i = { labels: [], comments: [], state: 'open' };
      this.issues.set(n, i);
    }
    return i;
  }

  /** A person opens issue `n` (the webhook delivery is the test's to send). */
  fileIssue(n: number, author: FakeUser): FakeIssue {
    const i = this.issue(n);
    i.author = author;
    return i;
  }

  /** The next `times` calls matching `method` and `path` answer `status`. */
  failNext(method: string, path: RegExp, status: number, times = 1): void {
    this.faults.push({ method, path, status, times });
  }

  pullFor(branch: string): FakePull | undefined {
    return [...this.pulls.values()].find((p) => p.head_ref === branch);
  }

  private newCommit(
    tree: Map<string, string>,
    message: string,
    parent: string | null,
    by: { author: FakeUser | null; verified: boolean } = { author: PUSHER, verified: false },
  ): string {
    const sha = sha1(`commit ${this.counter++} ${message}`);
    this.commits.set(sha, { sha, tree, message, parent, ...by });
    return sha;
  }

  /** Runs once just before the next call whose `METHOD /path` matches (e.g. to move a head). */
  beforeNext(method: string, path: RegExp, fn: () => void): void {
    this.hooks.push({ method, path, fn });
  }
  private hooks: { method: string; path: RegExp; fn: () => void }[] = [];

  /** Routes every call to api.github.com through this fake until `nock.cleanAll()`. */
  install(): void {
    nock(API)
      .persist()
      .post(/^\/app\/installations\/\d+\/access_tokens$/)
      .reply(201, () => ({
        ...(exampleResponse(
          'POST',
          '/app/installations/{installation_id}/access_tokens',
          201,
        ) as Json),
        token: 'ghs_test',
        expires_at: '2099-01-01T00:00:00Z',
      }));
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
      nock(API)
        .persist()
        .intercept(/^\/(?!app\/)/, method)
        .reply((uri, body) => {
          // A throw inside a nock reply hangs the request: turn it into a failing test instead.
          try {
            return this.route(method, uri, body as Json | string | undefined);
          } catch (e) {
            this.unexpected.push(`${method} ${uri}: the fake crashed: ${String(e)}`);
            return [500, errorBody('fake crashed')];
          }
        });
  }

  private route(
    method: string,
    uri: string,
    rawBody: Json | string | undefined,
  ): [number, unknown] {
    const url = new URL(uri, API);
    const path = decodeURIComponent(url.pathname);
    this.calls.push(`${method} ${path}`);
    const hook = this.hooks.findIndex((h) => h.method === method && h.path.test(path));
    if (hook >= 0) this.hooks.splice(hook, 1)[0]!.fn();
    const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(path));
    if (fault) {
      fault.times--;
      return [fault.status, errorBody('injected fault')];
    }
    const body = (
      typeof rawBody === 'string' && rawBody ? JSON.parse(rawBody) : (rawBody ?? {})
    ) as Json;
    const q = url.searchParams;
    const repoPrefix = `/repos/${this.owner}/${this.repo}`;
    const teamMembers = /^\/orgs\/([^/]+)\/teams\/([^/]+)\/members$/.exec(path);
    if (teamMembers) {
      const members = this.teams.get(`${teamMembers[1]}/${teamMembers[2]}`.toLowerCase());
      return members ? [200, members.map((m) => simpleUser(m.login, m.id, m.type))] : notFound();
    }
    const membership = /^\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/.exec(path);
    if (membership && method === 'GET') {
      const key = `${membership[1]}/${membership[2]}`.toLowerCase();
      const login = decodeURIComponent(membership[3]!).toLowerCase();
      const member = this.teams.get(key)?.some((u) => u.login.toLowerCase() === login);
      const pending = this.pendingMembers.get(key)?.has(login);
      if (!member && !pending) return notFound();
      return [200, teamMembership('member', member ? 'active' : 'pending')];
    }
    if (!path.startsWith(repoPrefix + '/')) return this.unknown(method, path);
    const p = path.slice(repoPrefix.length);
    let m: RegExpExecArray | null;

    if (method === 'GET' && (m = /^\/git\/ref\/heads\/(.+)$/.exec(p))) {
      const sha = this.branches.get(m[1]!);
      return sha ? [200, this.refJson(m[1]!, sha)] : notFound();
    }
    if (method === 'GET' && (m = /^\/git\/matching-refs\/heads\/(.+)$/.exec(p))) {
      const prefix = m[1]!;
      return [
        200,
        [...this.branches]
          .filter(([b]) => b.startsWith(prefix))
          .map(([b, s]) => this.refJson(b, s)),
      ];
    }
    if (method === 'POST' && p === '/git/refs') {
      const branch = String(body.ref).replace(/^refs\/heads\//, '');
      if (this.branches.has(branch)) return [422, errorBody('Reference already exists')];
      this.branches.set(branch, String(body.sha));
      this.branchBase.set(branch, String(body.sha));
      return [201, this.refJson(branch, String(body.sha))];
    }
    if (method === 'DELETE' && (m = /^\/git\/refs\/heads\/(.+)$/.exec(p))) {
      if (!this.branches.delete(m[1]!)) return [422, errorBody('Reference does not exist')];
      return [204, ''];
    }
    if (method === 'GET' && (m = /^\/compare\/(.+)\.\.\.(.+)$/.exec(p)))
      return this.compare(m[1]!, m[2]!);
    if (method === 'GET' && (m = /^\/contents\/(.+)$/.exec(p)))
      return this.getContents(m[1]!, q.get('ref') ?? this.defaultBranch);
    if (method === 'PUT' && (m = /^\/contents\/(.+)$/.exec(p)))
      return this.putContents(m[1]!, body);
    if (method === 'GET' && p === '/pulls') {
      const head = (q.get('head') ?? '').split(':')[1];
      const state = q.get('state') ?? 'open';
      const list = [...this.pulls.values()]
        .filter((x) => !head || x.head_ref === head)
        .filter((x) => state === 'all' || x.state === state)
        .reverse();
      return [200, list.map((x) => this.pullJson(x, true))];
    }
    if (method === 'POST' && p === '/pulls') {
      const head = String(body.head);
      if (!this.branches.has(head)) return [422, errorBody('Validation Failed')];
      if ([...this.pulls.values()].some((x) => x.head_ref === head && x.state === 'open'))
        return [422, errorBody('A pull request already exists')];
      const pr = this.openPull({ head, user: APP_BOT, title: String(body.title) });
      pr.body = String(body.body ?? '');
      return [201, this.pullJson(pr)];
    }
    if ((m = /^\/pulls\/(\d+)(\/.*)?$/.exec(p))) {
      const pr = this.pulls.get(Number(m[1]));
      if (!pr) return notFound();
      const rest = m[2] ?? '';
      if (method === 'GET' && rest === '') return [200, this.pullJson(pr)];
      if (method === 'PATCH' && rest === '') {
        if (body.state === 'closed') pr.state = 'closed';
        return [200, this.pullJson(pr)];
      }
      if (method === 'GET' && rest === '/files') return [200, this.files(pr)];
      if (method === 'GET' && rest === '/reviews')
        return [200, (this.reviews.get(pr.number) ?? []).map((r) => reviewFixture(r))];
      if (method === 'POST' && rest === '/requested_reviewers') {
        pr.requested_reviewers = (body.reviewers as string[]) ?? [];
        pr.requested_teams = (body.team_reviewers as string[]) ?? [];
        return [201, this.pullJson(pr)];
      }
      if (method === 'PUT' && rest === '/merge') return this.merge(pr, body);
    }
    if ((m = /^\/issues\/(\d+)\/labels(?:\/(.+))?$/.exec(p))) {
      const n = Number(m[1]);
      const labels = this.labelsOf(n);
      if (method === 'POST' && !m[2]) {
        for (const l of body.labels as string[]) if (!labels.includes(l)) labels.push(l);
        return [200, labels.map((l) => this.labelJson(l))];
      }
      if (method === 'PUT' && !m[2]) {
        labels.splice(0, labels.length, ...(body.labels as string[]));
        return [200, labels.map((l) => this.labelJson(l))];
      }
      if (method === 'DELETE' && m[2]) {
        const i = labels.indexOf(m[2]);
        if (i < 0) return notFound();
        labels.splice(i, 1);
        return [200, labels.map((l) => this.labelJson(l))];
      }
    }
    if (method === 'POST' && p === '/issues') {
      const n = this.nextNumber++;
      const issue = this.issue(n);
      issue.author = APP_BOT;
      issue.labels.push(...((body.labels as string[] | undefined) ?? []));
      this.opened.set(n, {
        title: String(body.title),
        body: String(body.body ?? ''),
        assignees: (body.assignees as string[] | undefined) ?? [],
        state: 'open',
      });
      return [201, { ...first('POST', '/repos/{owner}/{repo}/issues', 201), number: n }];
    }
    if (method === 'GET' && (m = /^\/issues\/(\d+)$/.exec(p))) return this.issueJson(Number(m[1]));
    if (method === 'PATCH' && (m = /^\/issues\/(\d+)$/.exec(p))) {
      const o = this.opened.get(Number(m[1]));
      if (!o) return notFound();
      if (body.state === 'closed') o.state = this.issue(Number(m[1])).state = 'closed';
      return [
        200,
        { ...first('PATCH', '/repos/{owner}/{repo}/issues/{issue_number}'), number: Number(m[1]) },
      ];
    }
    if ((m = /^\/issues\/(\d+)\/comments$/.exec(p))) {
      const issue = this.issue(Number(m[1]));
      if (method === 'GET') return [200, issue.comments.map((c) => this.commentJson(c))];
      if (method === 'POST') {
        const c = { id: this.nextId++, body: String(body.body), user: APP_BOT };
        issue.comments.push(c);
        return [201, this.commentJson(c)];
      }
    }
    if (method === 'PATCH' && (m = /^\/issues\/comments\/(\d+)$/.exec(p))) {
      const c = [...this.issues.values()]
        .flatMap((i) => i.comments)
        .find((x) => x.id === Number(m![1]));
      if (!c) return notFound();
      c.body = String(body.body);
      return [200, this.commentJson(c)];
    }
    if (method === 'POST' && p === '/check-runs') {
      const run = {
        name: String(body.name),
        head_sha: String(body.head_sha),
        status: String(body.status ?? 'queued'),
        ...(body.conclusion ? { conclusion: String(body.conclusion) } : {}),
        output: body.output as { title: string; summary: string },
      };
      this.checkRuns.push(run);
      return [
        201,
        {
          ...first('POST', '/repos/{owner}/{repo}/check-runs', 201),
          id: this.nextId++,
          ...run,
          output: {
            ...(first('POST', '/repos/{owner}/{repo}/check-runs', 201).output as Json),
            ...run.output,
          },
          conclusion: run.conclusion ?? null,
        },
      ];
    }
    return this.unknown(method, path);
  }

  /** The labels of an issue or a PR (they share numbers on GitHub). */
  labelsOf(n: number): string[] {
    return this.pulls.get(n)?.labels ?? this.issue(n).labels;
  }

  private unknown(method: string, path: string): [number, unknown] {
    this.unexpected.push(`${method} ${path}`);
    return [404, errorBody('Not Found (not implemented by the fake)')];
  }

  private getContents(path: string, ref: string): [number, unknown] {
    const sha = this.branches.get(ref) ?? (this.commits.has(ref) ? ref : undefined);
    if (!sha) return notFound();
    const tree = this.commits.get(sha)!.tree;
    const text = tree.get(path);
    const base = first('GET', '/repos/{owner}/{repo}/contents/{path}');
    if (text !== undefined) {
      const name = path.split('/').pop()!;
      return [
        200,
        {
          ...base,
          type: 'file',
          name,
          path,
          sha: blobSha(text),
          size: Buffer.byteLength(text),
          content: Buffer.from(text).toString('base64'),
          encoding: 'base64',
        },
      ];
    }
    const entries = [...tree.keys()].filter((k) => k.startsWith(path + '/'));
    if (!entries.length) return notFound();
    const children = new Map<string, 'file' | 'dir'>();
    for (const k of entries) {
      const rest = k.slice(path.length + 1).split('/');
      children.set(rest[0]!, rest.length === 1 ? 'file' : 'dir');
    }
    const { content: _c, encoding: _e, ...item } = base;
    return [
      200,
      [...children].map(([name, type]) => ({
        ...item,
        type,
        name,
        path: `${path}/${name}`,
        sha: type === 'file' ? blobSha(tree.get(`${path}/${name}`)!) : sha1(name),
        size: 0,
      })),
    ];
  }

  private putContents(path: string, body: Json): [number, unknown] {
    const branch = String(body.branch ?? this.defaultBranch);
    if (!this.branches.has(branch)) return notFound();
    const current = this.tree(branch).get(path);
    if (current !== undefined && body.sha === undefined)
      return [422, errorBody('"sha" wasn\'t supplied.')];
    if (current !== undefined && body.sha !== blobSha(current))
      return [409, errorBody(`${path} does not match ${String(body.sha)}`)];
    const text = Buffer.from(String(body.content), 'base64').toString('utf8');
    // Commits made through the API are the app's, and GitHub signs them.
    const sha = this.push(branch, { [path]: text }, String(body.message), {
      author: APP_BOT,
      verified: true,
    });
    const base = first(
      'PUT',
      '/repos/{owner}/{repo}/contents/{path}',
      current === undefined ? 201 : 200,
    );
    return [
      current === undefined ? 201 : 200,
      {
        ...base,
        content: {
          ...(base.content as Json),
          path,
          name: path.split('/').pop(),
          sha: blobSha(text),
        },
        commit: { ...(base.commit as Json), sha },
      },
    ];
  }

  /** `base...head`: the head's commits since the merge base, and what they changed. */
  private compare(baseRef: string, headRef: string): [number, unknown] {
    const base = this.branches.get(baseRef) ?? (this.commits.has(baseRef) ? baseRef : undefined);
    const head = this.branches.get(headRef) ?? (this.commits.has(headRef) ? headRef : undefined);
    if (!base || !head) return notFound();
    const ancestors = new Set<string>();
    for (let c: string | null = base; c; c = this.commits.get(c)!.parent) ancestors.add(c);
    const commits: Commit[] = [];
    let c: string | null = head;
    while (c && !ancestors.has(c)) {
      commits.unshift(this.commits.get(c)!);
      c = this.commits.get(c)!.parent;
    }
    const mergeBase = c ?? base;
    const example = first('GET', '/repos/{owner}/{repo}/compare/{basehead}');
    const commitExample = (example.commits as Json[])[0]!;
    return [
      200,
      {
        ...example,
        base_commit: { ...(example.base_commit as Json), sha: base },
        merge_base_commit: { ...(example.merge_base_commit as Json), sha: mergeBase },
        ahead_by: commits.length,
        behind_by: 0,
        total_commits: commits.length,
        commits: commits.map((k) => ({
          ...commitExample,
          sha: k.sha,
          author: k.author
            ? simpleUser(k.author.login, k.author.id, k.author.type ?? 'User')
            : null,
          committer: k.author
            ? simpleUser(k.author.login, k.author.id, k.author.type ?? 'User')
            : null,
          commit: {
            ...(commitExample.commit as Json),
            message: k.message,
            verification: {
              verified: k.verified,
              reason: k.verified ? 'valid' : 'unsigned',
              signature: null,
              payload: null,
              verified_at: null,
            },
          },
        })),
        files: this.diff(mergeBase, head),
      },
    ];
  }

  private diff(from: string, to: string): Json[] {
    const before = this.commits.get(from)!.tree;
    const after = this.commits.get(to)!.tree;
    const out: Json[] = [];
    const base = first('GET', '/repos/{owner}/{repo}/pulls/{pull_number}/files');
    for (const p of new Set([...before.keys(), ...after.keys()])) {
      const a = before.get(p);
      const b = after.get(p);
      if (a === b) continue;
      out.push({
        ...base,
        filename: p,
        status: a === undefined ? 'added' : b === undefined ? 'removed' : 'modified',
      });
    }
    return out;
  }

  private files(pr: FakePull): Json[] {
    const before = this.commits.get(pr.base_sha)!.tree;
    const after = this.commits.get(pr.head_sha)!.tree;
    const out: Json[] = [];
    const base = first('GET', '/repos/{owner}/{repo}/pulls/{pull_number}/files');
    for (const p of new Set([...before.keys(), ...after.keys()])) {
      const a = before.get(p);
      const b = after.get(p);
      if (a === b) continue;
      out.push({
        ...base,
        filename: p,
        status: a === undefined ? 'added' : b === undefined ? 'removed' : 'modified',
      });
    }
    return out;
  }

  private merge(pr: FakePull, body: Json): [number, unknown] {
    if (pr.state !== 'open') return [405, errorBody('Pull Request is not mergeable')];
    if (body.sha !== pr.head_sha)
      return [409, errorBody('Head branch was modified. Review and try the merge again.')];
    const before = this.commits.get(pr.base_sha)!.tree;
    const after = this.commits.get(pr.head_sha)!.tree;
    const changes: Record<string, string | null> = {};
    for (const p of new Set([...before.keys(), ...after.keys()]))
      if (before.get(p) !== after.get(p)) changes[p] = after.get(p) ?? null;
    const sha = this.push(
      this.defaultBranch,
      changes,
      `${String(body.commit_title)}\n\n${String(body.commit_message)}`,
    );
    pr.state = 'closed';
    pr.merged = true;
    pr.merge_commit_sha = sha;
    this.merges.push({
      number: pr.number,
      sha: String(body.sha),
      commit_title: String(body.commit_title),
      commit_message: String(body.commit_message),
      merge_method: String(body.merge_method),
    });
    return [200, { sha, merged: true, message: 'Pull Request successfully merged' }];
  }

  private refJson(branch: string, sha: string): Json {
    const base = first('GET', '/repos/{owner}/{repo}/git/ref/{ref}');
    return { ...base, ref: `refs/heads/${branch}`, object: { ...(base.object as Json), sha } };
  }

  /** The PR as a webhook delivery carries it now (`pull_request` of a review event). */
  webhookPull(n: number): Json | undefined {
    const pr = this.pulls.get(n);
    return pr ? this.pullJson(pr) : undefined;
  }

  private pullJson(pr: FakePull, simple = false): Json {
    const full = prFixture({
      number: pr.number,
      head_sha: pr.head_sha,
      author: pr.user,
      state: pr.state,
      merged: pr.merged,
      merge_commit_sha: pr.merge_commit_sha,
      merged_at: pr.merged ? '2030-01-01T11:00:00Z' : null,
    });
    const head = { ...(full.head as Json), ref: pr.head_ref, sha: pr.head_sha };
    const labels = this.labelsOf(pr.number).map((l) => this.labelJson(l));
    const out = { ...full, head, title: pr.title, body: pr.body, labels };
    if (!simple) return out;
    const simpleBase = first('GET', '/repos/{owner}/{repo}/pulls');
    return {
      ...simpleBase,
      number: pr.number,
      state: pr.state,
      title: pr.title,
      user: full.user,
      head,
      base: full.base,
      merge_commit_sha: pr.merge_commit_sha,
      merged_at: full.merged_at,
      labels: [],
      requested_teams: [],
      requested_reviewers: [],
    };
  }

  /** A PR is an issue too (GitHub answers with the PR's author); an issue nobody filed is 404. */
  private issueJson(n: number): [number, unknown] {
    const pr = this.pulls.get(n);
    const i = this.issues.get(n);
    const author = pr?.user ?? i?.author;
    if (!author) return notFound();
    const { pull_request: prLinks, ...base } = first(
      'GET',
      '/repos/{owner}/{repo}/issues/{issue_number}',
    );
    const state = pr ? pr.state : i!.state;
    return [
      200,
      {
        ...base,
        number: n,
        state,
        state_reason: state === 'closed' ? 'completed' : null,
        title: pr?.title ?? base.title,
        user: simpleUser(author.login, author.id, author.type ?? 'User'),
        labels: this.labelsOf(n).map((l) => this.labelJson(l)),
        ...(pr ? { pull_request: prLinks } : {}),
      },
    ];
  }

  private labelJson(name: string): Json {
    return { ...first('POST', '/repos/{owner}/{repo}/issues/{issue_number}/labels'), name };
  }

  private commentJson(c: FakeComment): Json {
    return {
      ...first('GET', '/repos/{owner}/{repo}/issues/{issue_number}/comments'),
      id: c.id,
      body: c.body,
      user: simpleUser(c.user.login, c.user.id, c.user.type ?? 'User'),
    };
  }
}

const DOCS = 'https://docs.github.com/rest';
/**
 * GitHub's description declares some errors as oneOf basic-error / repository-rule-violation-error,
 * which every object matches twice; `metadata: null` makes it a basic error only.
 */
const errorBody = (message: string): Json => ({ message, documentation_url: DOCS, metadata: null });
const notFound = (): [number, unknown] => [404, errorBody('Not Found')];
