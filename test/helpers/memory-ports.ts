/**
 * In-memory implementations of the ports in src/core/ports.ts, so the real engines run with no
 * git and no HTTP: a GitHub (accounts, teams, pull requests with files and reviews, comments,
 * collaborators) and a grant store (a commit graph with a remote branch and a work tree) that is
 * both the grant history and the grant writer. Behaviour follows the adapters they stand in for
 * (`GitHubClient`, `GitRepo` + `gitGrantWriter`), including a push the branch moved under being
 * `rejected`.
 */
import { createHash } from 'node:crypto';
import { GitHubApiError } from '../../src/core/errors.js';
import { teamKey, type Memberships } from '../../src/core/identity.js';
import type {
  AddCollaboratorResult,
  AuditSource,
  BlobReader,
  Dated,
  HistoryCommit,
  HistoryOptions,
  Identity,
  RawChange,
  Collaborator,
  CommitInfo,
  Comparison,
  GitHubPort,
  IssueInfo,
  MembershipCheck,
  GrantWriter,
  Invitation,
  PullRequestFile,
  PullRequestInfo,
  RepoPermission,
  TeamMembershipInfo,
  TeamRole,
  TreeEntry,
  TreeReader,
} from '../../src/core/ports.js';
import type { Review } from '../../src/core/review.js';
import { commitMessage } from '../../src/core/trailers.js';

const hash = (s: string): string => createHash('sha1').update(s).digest('hex');
/** Git's own blob id, so ids look and compare like the real ones. */
const blobId = (text: string): string =>
  createHash('sha1')
    .update(`blob ${Buffer.byteLength(text)}\0${text}`)
    .digest('hex');

// ---- GitHub ------------------------------------------------------------------------------

export interface MemoryPull {
  info: PullRequestInfo;
  files: PullRequestFile[];
  reviews: Review[];
  /** The commits of the PR's head against its base (default: one by the PR's author, verified). */
  commits?: CommitInfo[];
  /** What the PR's live file list says when it differs from its head's (a head that moved). */
  liveFiles?: PullRequestFile[];
}

export class MemoryGitHub implements GitHubPort {
  /** Accounts by id: current login and published SSH keys. A deleted account is absent. */
  readonly users = new Map<number, { login: string; keys: string[] }>();
  /** Team (`org/slug`, lowercase) → member id → membership. */
  readonly teams = new Map<string, Map<number, TeamMembershipInfo>>();
  readonly pulls = new Map<number, MemoryPull>();
  /** Issues by number: who opened them. */
  readonly issues = new Map<number, IssueInfo>();
  readonly comments: { issue: number; body: string }[] = [];
  /** Repo full name → login → collaborator. */
  readonly collaborators = new Map<string, Map<string, Collaborator>>();
  readonly pendingInvitations = new Map<string, Invitation[]>();
  /** Every call, in order (`name(args…)`), for tests that count round trips. */
  readonly calls: string[] = [];
  /** The access repo; its owner is an organisation unless `organization` is false. */
  readonly repoRef = { owner: 'acme', repo: 'access' };
  organization = true;
  /** Logins (lowercase) that left the organisation. */
  readonly leftOrganization = new Set<string>();

  /** Residue checks: nothing made during a window unless a test adds it. */
  readonly dated = {
    deployKeys: [] as Dated[],
    webhooks: [] as Dated[],
    teamInvitations: [] as Dated[],
  };

  async deployKeys(repoFullName: string): Promise<Dated[]> {
    this.calls.push(`deployKeys(${repoFullName})`);
    return this.dated.deployKeys;
  }

  async webhooks(repoFullName: string): Promise<Dated[]> {
    this.calls.push(`webhooks(${repoFullName})`);
    return this.dated.webhooks;
  }

  async teamInvitations(team: string): Promise<Dated[]> {
    this.calls.push(`teamInvitations(${team})`);
    return this.dated.teamInvitations;
  }

  async isOrganization(login: string): Promise<boolean> {
    this.calls.push(`isOrganization(${login})`);
    return this.organization && login === this.repoRef.owner;
  }

  async orgMember(org: string, username: string): Promise<boolean | undefined> {
    this.calls.push(`orgMember(${org}, ${username})`);
    return !this.leftOrganization.has(username.toLowerCase());
  }

  addUser(u: { login: string; id: number }, keys: string[] = []): this {
    this.users.set(u.id, { login: u.login, keys });
    return this;
  }

  addToTeam(team: string, id: number, role: TeamRole = 'member'): this {
    const key = teamKey(team);
    const members = this.teams.get(key) ?? new Map<number, TeamMembershipInfo>();
    members.set(id, { state: 'active', role });
    this.teams.set(key, members);
    return this;
  }

  private idOf(login: string): number {
    for (const [id, u] of this.users) if (u.login.toLowerCase() === login.toLowerCase()) return id;
    throw new GitHubApiError(`no such user: ${login}`, 404);
  }

  private log(name: string, ...args: unknown[]): void {
    this.calls.push(`${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
  }

  async loginForId(id: number): Promise<string | null> {
    this.log('loginForId', id);
    return this.users.get(id)?.login ?? null;
  }

  async userKeys(login: string): Promise<string[]> {
    this.log('userKeys', login);
    for (const u of this.users.values()) if (u.login === login) return [...u.keys];
    return [];
  }

  async memberships(teams: readonly string[]): Promise<Memberships> {
    this.log('memberships', teams);
    const keys = [...new Set(teams.map(teamKey))];
    return new Map(keys.map((k) => [k, new Set(this.teams.get(k)?.keys() ?? [])]));
  }

  /** As GitHub's `GET …/memberships/{username}` per check: by login, active only. */
  async membershipsOf(checks: readonly MembershipCheck[]): Promise<Memberships> {
    this.log(
      'membershipsOf',
      checks.map((c) => `${c.person.login}@${teamKey(c.team)}`),
    );
    const out = new Map<string, Set<number>>();
    for (const c of checks) {
      const set = out.get(teamKey(c.team)) ?? new Set<number>();
      out.set(teamKey(c.team), set);
      const id = [...this.users].find(
        ([, u]) => u.login.toLowerCase() === c.person.login.toLowerCase(),
      )?.[0];
      const m = id === undefined ? undefined : this.teams.get(teamKey(c.team))?.get(id);
      if (m?.state === 'active') set.add(c.person.id);
    }
    return out;
  }

  private pull(n: number): MemoryPull {
    const p = this.pulls.get(n);
    if (!p) throw new GitHubApiError(`pull request #${n} not found`, 404);
    return p;
  }

  async pullRequest(n: number): Promise<PullRequestInfo> {
    this.log('pullRequest', n);
    return structuredClone(this.pull(n).info);
  }

  async pullRequestFiles(n: number): Promise<PullRequestFile[]> {
    this.log('pullRequestFiles', n);
    const p = this.pull(n);
    return structuredClone(p.liveFiles ?? p.files);
  }

  /** The head's files and commits, as GitHub compares them: found by the head commit. */
  async compareCommits(base: string, head: string): Promise<Comparison> {
    this.log('compareCommits', base, head);
    const p = [...this.pulls.values()].find((x) => x.info.head_sha === head);
    if (!p) throw new GitHubApiError(`no commit ${head}`, 404);
    const commits = p.commits ?? [
      { sha: head, author: { ...p.info.user }, verified: true, message: 'request' },
    ];
    return structuredClone({ files: p.files, commits, complete: true });
  }

  async issue(n: number): Promise<IssueInfo | null> {
    this.log('issue', n);
    const i = this.issues.get(n);
    if (i) return structuredClone(i);
    const p = this.pulls.get(n);
    return p ? { number: n, user: { ...p.info.user }, state: p.info.state } : null;
  }

  async reviews(n: number): Promise<Review[]> {
    this.log('reviews', n);
    return structuredClone(this.pull(n).reviews);
  }

  async createComment(issue: number, body: string): Promise<number> {
    this.log('createComment', issue);
    this.comments.push({ issue, body });
    return this.comments.length;
  }

  async addTeamMember(team: string, login: string, role: TeamRole): Promise<TeamMembershipInfo> {
    this.log('addTeamMember', team, login, role);
    const id = this.idOf(login);
    const members = this.teams.get(teamKey(team)) ?? new Map<number, TeamMembershipInfo>();
    const info: TeamMembershipInfo = { state: 'active', role };
    members.set(id, info);
    this.teams.set(teamKey(team), members);
    return { ...info };
  }

  async removeTeamMember(team: string, login: string): Promise<boolean> {
    this.log('removeTeamMember', team, login);
    return this.teams.get(teamKey(team))?.delete(this.idOf(login)) ?? false;
  }

  async teamMembershipInfo(team: string, login: string): Promise<TeamMembershipInfo | null> {
    this.log('teamMembershipInfo', team, login);
    const m = this.teams.get(teamKey(team))?.get(this.idOf(login));
    return m ? { ...m } : null;
  }

  /** As GitHub's `GET /orgs/{org}/teams/{slug}/members?role=`: `all` unless a role is given. */
  async teamMembers(
    team: string,
    role: 'all' | TeamRole = 'all',
  ): Promise<{ login: string; id: number }[]> {
    this.log('teamMembers', team, ...(role === 'all' ? [] : [role]));
    const members = [...(this.teams.get(teamKey(team))?.entries() ?? [])];
    return members
      .filter(([, m]) => role === 'all' || m.role === role)
      .map(([id]) => ({
        id,
        login: this.users.get(id)?.login ?? `ghost-${id}`,
      }));
  }

  private repoCollaborators(repo: string): Map<string, Collaborator> {
    const m = this.collaborators.get(repo) ?? new Map<string, Collaborator>();
    this.collaborators.set(repo, m);
    return m;
  }

  async addCollaborator(
    repo: string,
    login: string,
    permission: RepoPermission,
  ): Promise<AddCollaboratorResult> {
    this.log('addCollaborator', repo, login, permission);
    const id = this.idOf(login);
    const m = this.repoCollaborators(repo);
    const had = m.has(login.toLowerCase());
    m.set(login.toLowerCase(), { login, id, permission });
    return had ? { kind: 'updated' } : { kind: 'invited', invitationId: id };
  }

  async removeCollaborator(repo: string, login: string): Promise<boolean> {
    this.log('removeCollaborator', repo, login);
    return this.repoCollaborators(repo).delete(login.toLowerCase());
  }

  async collaboratorPermission(repo: string, login: string): Promise<RepoPermission | null> {
    this.log('collaboratorPermission', repo, login);
    return this.repoCollaborators(repo).get(login.toLowerCase())?.permission ?? null;
  }

  async directCollaborators(repo: string): Promise<Collaborator[]> {
    this.log('directCollaborators', repo);
    return [...this.repoCollaborators(repo).values()].map((c) => ({ ...c }));
  }

  async invitations(repo: string): Promise<Invitation[]> {
    this.log('invitations', repo);
    return structuredClone(this.pendingInvitations.get(repo) ?? []);
  }
}

// ---- grant store -------------------------------------------------------------------------

interface MemoryCommit {
  sha: string;
  parents: string[];
  files: ReadonlyMap<string, string>;
  message: string;
  author: Identity;
  /** Commit date, ISO 8601. */
  date: string;
}

/** Who commits what, as in a real access repo: the action's checkout, the app's merges. */
export const ACTION_IDENTITY: Identity = {
  name: 'gatepass',
  email: 'gatepass@users.noreply.github.com',
};
export const APP_IDENTITY: Identity = {
  name: 'gatepass[bot]',
  email: '1+gatepass[bot]@users.noreply.github.com',
};
const NO_BLOB = '0'.repeat(40);

/**
 * A branch in memory: commits, the remote branch head (`origin/main` as GitHub has it), the
 * local head and a work tree. The reconcile engine writes through it as through a checkout;
 * tests move the remote with `commitOnRemote` (a merge, another run's push).
 */
export class MemoryGrantStore implements AuditSource, GrantWriter {
  readonly workdir = '/memory-grant-store';
  /** Whether a provider borrowed the work tree since the last commit (see `GrantWriter`). */
  private lent = false;
  readonly commits = new Map<string, MemoryCommit>();
  remoteHead: string;
  localHead: string;
  private work: Map<string, string>;
  private counter = 0;
  /** Pushes attempted and how they ended, in order. */
  readonly pushes: ('ok' | 'rejected')[] = [];
  /** Blob texts by id (ids as `listDir` and `logHistory` give them). */
  private readonly blobs = new Map<string, string>();
  /** The date commits get (tests point it at their clock); one second apart by default. */
  now: () => Date = (() => {
    let t = Date.parse('2030-01-01T00:00:00Z');
    return () => new Date((t += 1000));
  })();

  constructor(files: Record<string, string> = {}, message = 'initial') {
    const root = this.makeCommit([], new Map(Object.entries(files)), message);
    this.remoteHead = root;
    this.localHead = root;
    this.work = new Map(this.commits.get(root)!.files);
  }

  private makeCommit(
    parents: string[],
    files: Map<string, string>,
    message: string,
    author: Identity = ACTION_IDENTITY,
  ): string {
    const sha = hash(`${++this.counter}\0${parents.join(',')}\0${message}`);
    for (const text of files.values()) this.blobs.set(blobId(text), text);
    const date = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    this.commits.set(sha, { sha, parents, files: new Map(files), message, author, date });
    return sha;
  }

  /**
   * Someone else's commit on the remote branch (a merged PR, a direct push, a concurrent run):
   * `changes` maps a path to its new text, or to null to delete it. Returns the commit.
   */
  commitOnRemote(
    changes: Record<string, string | null>,
    message: string,
    author: Identity = APP_IDENTITY,
  ): string {
    const files = new Map(this.commits.get(this.remoteHead)!.files);
    for (const [path, text] of Object.entries(changes))
      if (text === null) files.delete(path);
      else files.set(path, text);
    this.remoteHead = this.makeCommit([this.remoteHead], files, message, author);
    return this.remoteHead;
  }

  /** Files of the remote branch's head (what "GitHub" has now). */
  remoteFiles(): ReadonlyMap<string, string> {
    return this.commits.get(this.remoteHead)!.files;
  }

  /** A tree reader over the remote head, for loading policies as the app would. */
  remoteTree(): TreeReader {
    const rev = this.remoteHead;
    return {
      listFiles: (dir) => this.listFiles(rev, dir),
      readFiles: (p) => this.readFiles(rev, p),
    };
  }

  // -- GrantHistory --

  async revParse(rev: string): Promise<string | null> {
    return this.resolve(rev);
  }

  private resolve(rev: string): string | null {
    const m = /^(.*)\^1$/.exec(rev);
    if (m) {
      const base = this.resolve(m[1]!);
      return base ? (this.commits.get(base)!.parents[0] ?? null) : null;
    }
    if (rev === 'HEAD') return this.localHead;
    return this.commits.has(rev) ? rev : null;
  }

  private filesAt(rev: string): ReadonlyMap<string, string> {
    const sha = this.resolve(rev);
    if (!sha) throw new Error(`fatal: not a revision: ${rev}`);
    return this.commits.get(sha)!.files;
  }

  async listDir(rev: string, dir: string): Promise<TreeEntry[]> {
    const sha = this.resolve(rev);
    if (!sha) return [];
    const prefix = `${dir}/`;
    const entries = new Map<string, TreeEntry>();
    for (const [path, text] of this.commits.get(sha)!.files) {
      if (!path.startsWith(prefix)) continue;
      const [name, ...rest] = path.slice(prefix.length).split('/');
      if (rest.length)
        entries.set(name!, { name: name!, type: 'tree', id: hash(`tree ${sha} ${dir}/${name}`) });
      else entries.set(name!, { name: name!, type: 'blob', id: blobId(text) });
    }
    return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async listFiles(rev: string, dir: string): Promise<string[]> {
    const sha = this.resolve(rev);
    if (!sha) return [];
    return [...this.commits.get(sha)!.files.keys()].filter((p) => p.startsWith(`${dir}/`)).sort();
  }

  async readFiles(rev: string, paths: readonly string[]): Promise<Map<string, string | null>> {
    const files = this.filesAt(rev);
    return new Map(paths.map((p) => [p, files.get(p) ?? null]));
  }

  async readBlobs(ids: readonly string[]): Promise<(string | null)[]> {
    return ids.map((id) => this.blobs.get(id) ?? null);
  }

  async showFile(rev: string, path: string): Promise<string | null> {
    const sha = this.resolve(rev);
    return sha ? (this.commits.get(sha)!.files.get(path) ?? null) : null;
  }

  /** As `git log --first-parent --diff-filter=A -n 1`: the newest first-parent commit adding it. */
  async addedIn(rev: string, path: string): Promise<string | null> {
    let sha = this.resolve(rev);
    while (sha) {
      const c = this.commits.get(sha)!;
      const parent = c.parents[0];
      const before = parent ? this.commits.get(parent)!.files.has(path) : false;
      if (c.files.has(path) && !before) return sha;
      sha = parent ?? null;
    }
    return null;
  }

  async isAncestor(ancestor: string, rev: string): Promise<boolean> {
    const target = this.resolve(ancestor);
    const start = this.resolve(rev);
    if (!target || !start) return false;
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length) {
      const s = stack.pop()!;
      if (s === target) return true;
      if (seen.has(s)) continue;
      seen.add(s);
      stack.push(...this.commits.get(s)!.parents);
    }
    return false;
  }

  async commitMessage(rev: string): Promise<string> {
    const sha = this.resolve(rev);
    if (!sha) throw new Error(`fatal: not a revision: ${rev}`);
    return this.commits.get(sha)!.message.replace(/\n+$/, '');
  }

  // -- AuditSource --

  /** As `git log --first-parent --raw -- <paths>` (first parents only, which is what audits read). */
  async *logHistory(options: HistoryOptions = {}): AsyncGenerator<HistoryCommit> {
    if (!options.firstParent) throw new Error('the memory store logs first parents only');
    const out: HistoryCommit[] = [];
    for (let sha = this.resolve(options.rev ?? 'HEAD'); sha;) {
      const c = this.commits.get(sha)!;
      const parent = c.parents[0];
      const before = parent ? this.commits.get(parent)!.files : new Map<string, string>();
      const changes: RawChange[] = [];
      for (const path of new Set([...before.keys(), ...c.files.keys()])) {
        const a = before.get(path);
        const b = c.files.get(path);
        if (a === b) continue;
        if (options.paths && !options.paths.some((p) => path.startsWith(p))) continue;
        changes.push({
          status: a === undefined ? 'A' : b === undefined ? 'D' : 'M',
          path,
          oldBlob: a === undefined ? NO_BLOB : blobId(a),
          newBlob: b === undefined ? NO_BLOB : blobId(b),
        });
      }
      if (changes.length || !options.paths)
        out.push({
          sha,
          parents: [...c.parents],
          author: c.author,
          committer: c.author,
          committedAt: c.date,
          message: c.message,
          changes: changes.sort((x, y) => (x.path < y.path ? -1 : 1)),
        });
      sha = parent ?? null;
    }
    if (options.reverse) out.reverse();
    yield* out;
  }

  blobReader(): BlobReader {
    return {
      read: async (ids) => ids.map((id) => this.blobs.get(id) ?? null),
      close: async () => {},
    };
  }

  // -- GrantWriter --

  async isClean(): Promise<boolean> {
    const head = this.commits.get(this.localHead)!.files;
    if (head.size !== this.work.size) return false;
    for (const [p, t] of this.work) if (head.get(p) !== t) return false;
    return true;
  }

  async refresh(): Promise<void> {
    this.lent = false;
    this.localHead = this.remoteHead;
    this.work = new Map(this.commits.get(this.localHead)!.files);
  }

  async discard(): Promise<void> {
    this.work = new Map(this.commits.get(this.localHead)!.files);
    this.lent = false;
  }

  lendWorkTree(): string {
    this.lent = true;
    return this.workdir;
  }

  async write(path: string, text: string): Promise<void> {
    this.work.set(path, text);
  }

  async remove(path: string): Promise<void> {
    this.work.delete(path);
  }

  /**
   * Commits exactly `paths` as the work tree has them; anything else left there stays, unless a
   * provider borrowed the tree, which is then restored to the commit.
   */
  async commit(message: string, paths: readonly string[]): Promise<void> {
    const head = this.commits.get(this.localHead)!.files;
    const next = new Map(head);
    for (const p of paths) {
      const t = this.work.get(p);
      if (t === undefined) next.delete(p);
      else next.set(p, t);
    }
    let same = next.size === head.size;
    for (const [p, t] of next) if (head.get(p) !== t) same = false;
    if (same) throw new Error('nothing to commit, working tree clean');
    this.localHead = this.makeCommit([this.localHead], next, message);
    if (this.lent) this.work = new Map(next);
    this.lent = false;
  }

  async push(): Promise<'ok' | 'rejected'> {
    // Fast-forward only, as a push without --force.
    const outcome = (await this.isAncestor(this.remoteHead, this.localHead)) ? 'ok' : 'rejected';
    if (outcome === 'ok') this.remoteHead = this.localHead;
    this.pushes.push(outcome);
    return outcome;
  }
}

// ---- scenarios ---------------------------------------------------------------------------

/**
 * A request merged as the app merges it: one commit on the remote adding the grant file (with
 * the `Gatepass-Pull-Request` trailer), and the merged pull request in GitHub with its one file
 * and the given reviews on its head. Returns the merge commit.
 */
export function landMergedRequest(
  store: MemoryGrantStore,
  github: MemoryGitHub,
  o: {
    path: string;
    text: string;
    pr: number;
    grantId: string;
    resource: string;
    requester: { login: string; id: number };
    reviewers?: { login: string; id: number }[];
    mergedAt: string;
    base?: string;
    /** Files GitHub reports for the PR (default: exactly the grant file, added). */
    files?: PullRequestFile[];
    /** The head's commits (default: one, the app's own, verified). */
    commits?: CommitInfo[];
  },
): string {
  const message = commitMessage(
    `Grant ${o.resource} to ${o.requester.login} (${o.grantId}) (#${o.pr})`,
    {
      grant: o.grantId,
      event: 'requested',
      resource: o.resource,
      requestedBy: o.requester,
      pullRequest: o.pr,
    },
  );
  const merge = store.commitOnRemote({ [o.path]: o.text }, message);
  // The request issue the app's branch names, opened by the requester.
  const issue = /^req-(\d+)/.exec(o.grantId);
  if (issue && !github.issues.has(Number(issue[1])))
    github.issues.set(Number(issue[1]), {
      number: Number(issue[1]),
      user: { ...o.requester, type: 'User' },
      state: 'open',
    });
  const head = hash(`head of #${o.pr}`);
  github.pulls.set(o.pr, {
    info: {
      number: o.pr,
      state: 'closed',
      merged: true,
      merge_commit_sha: merge,
      head_sha: head,
      base_ref: o.base ?? 'main',
      user: { login: 'gatepass[bot]', id: 99, type: 'Bot' },
      merged_at: o.mergedAt,
      head_ref: `gatepass/${o.grantId}`,
    },
    files: o.files ?? [{ filename: o.path, status: 'added' }],
    ...(o.commits ? { commits: o.commits } : {}),
    reviews: (o.reviewers ?? []).map((r, i) => ({
      id: o.pr * 100 + i,
      user: { ...r, type: 'User' },
      state: 'APPROVED',
      commit_id: head,
      submitted_at: o.mergedAt,
    })),
  });
  return merge;
}
