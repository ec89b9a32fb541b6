/**
 * The ports the engines depend on, in gatepass's own types: what they need from GitHub, from
 * the grant history (git), from a grant writer (write, commit, push) and from a file tree.
 * Adapters implement them (`GitHubClient`, `GitRepo` / `gitGrantStore`, `fsTree`, `githubTree`);
 * tests implement them in memory (test/helpers/memory-ports.ts). Nothing here does I/O.
 */
import type { Memberships, Person } from './identity.js';
import type { RepoPermission } from './permission.js';
import type { Review } from './review.js';

export type { RepoPermission } from './permission.js';

// ---- GitHub: domain types ----------------------------------------------------------------

export interface PullRequestInfo {
  number: number;
  state: 'open' | 'closed';
  merged: boolean;
  merge_commit_sha: string | null;
  head_sha: string;
  base_ref: string;
  user: { login: string; id: number; type: string };
  merged_at: string | null;
  /** The branch the PR comes from (absent where a caller built the value by hand). */
  head_ref?: string;
  /** Label names, where the caller has them (a webhook payload carries them). */
  labels?: string[];
}

/** An issue (or a pull request: they share numbers), as far as deciding who opened it needs. */
export interface IssueInfo {
  number: number;
  user: { login: string; id: number; type: string };
  state: 'open' | 'closed';
  /** Label names, where the caller read them (relabelling keeps the ones a person set). */
  labels?: string[];
}

export interface PullRequestFile {
  filename: string;
  status: string;
}

/** A commit of a comparison: who GitHub says wrote it, and whether GitHub verified that. */
export interface CommitInfo {
  sha: string;
  /** The GitHub account the commit is attributed to (null: an email no account has). */
  author: { login: string; id: number; type: string } | null;
  /** GitHub verified the commit's signature (its own, for commits the app made through the API). */
  verified: boolean;
  message: string;
}

/**
 * What a commit changed against a base (`base...head`, as GitHub diffs a pull request), decided
 * from the commit itself: unlike a PR's file list, it cannot describe another head.
 */
export interface Comparison {
  files: PullRequestFile[];
  commits: CommitInfo[];
  /** False when GitHub cut the lists short (over 250 commits or 300 files). */
  complete: boolean;
  /**
   * The commit `base` named when GitHub answered (for `main...head`, the head of main then),
   * where the answer says: a decision takes the default branch's policy commit from it instead
   * of asking for the ref separately.
   */
  baseSha?: string;
}

/** Is `person` (by current login; counted by id) an active member of `team` (`org/slug`)? */
export interface MembershipCheck {
  team: string;
  person: Person;
}

export type TeamRole = 'member' | 'maintainer';
export interface TeamMembershipInfo {
  state: 'active' | 'pending';
  role: TeamRole;
}

export type AddCollaboratorResult =
  | { kind: 'invited'; invitationId: number }
  /** Already a collaborator: the permission was set, no invitation was needed. */
  | { kind: 'updated' };

export interface Collaborator {
  login: string;
  id: number;
  permission: RepoPermission | null;
}

export interface Invitation {
  id: number;
  invitee: { login: string; id: number } | null;
  permission: string;
  /** ISO 8601; when the invitation was sent. */
  created_at?: string;
  inviter?: string;
}

/** Something that can outlive a grant, with when it was made (for residue checks). */
export interface Dated {
  id: number;
  /** Human-readable: the key's title, the hook's URL host, the invitee's login. */
  name: string;
  created_at: string;
}

export interface RepoFile {
  path: string;
  text: string;
  /** Blob sha: pass it back when updating the file, so a concurrent change is refused. */
  sha: string;
}

export interface DirectoryEntry {
  name: string;
  path: string;
  type: string;
  sha: string;
}

export interface IssueComment {
  id: number;
  body: string;
  user: { login: string; id: number; type: string } | null;
}

export type CheckRunState =
  { status: 'in_progress' } | { status: 'completed'; conclusion: 'success' | 'failure' };

export interface CheckRunInput {
  name: string;
  head_sha: string;
  state: CheckRunState;
  title: string;
  summary: string;
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export type MergeResult =
  | { merged: true; sha: string }
  /** GitHub refused (405 not mergeable, 409 head moved): decide again on the next event. */
  | { merged: false; status: number; message: string };

// ---- GitHub: ports -----------------------------------------------------------------------

/**
 * What the reconcile engine asks GitHub: who an account is, team memberships, the pull request
 * that merged a grant with its files and reviews, and a comment for a delivery. Failures are
 * `GitHubApiError`s (status 404 for a pull request that does not exist).
 */
export interface ReconcileGitHub {
  /** The current login of a user id; null when the account is gone. */
  loginForId(id: number): Promise<string | null>;
  /** Public SSH keys a login publishes. */
  userKeys(login: string): Promise<string[]>;
  /** Member ids of each team (`org/slug`, lowercase keys). */
  memberships(teams: readonly string[]): Promise<Memberships>;
  /**
   * Only what `checks` ask: one membership lookup per person and team, by the person's current
   * login; active counts, pending and none do not. The result knows nobody else, so it is
   * meant for a decision about exactly these people (`membershipChecks`).
   */
  membershipsOf(checks: readonly MembershipCheck[]): Promise<Memberships>;
  pullRequest(pull_number: number): Promise<PullRequestInfo>;
  pullRequestFiles(pull_number: number): Promise<PullRequestFile[]>;
  /** The files and commits of `head` against `base` (three dots: from their merge base). */
  compareCommits(base: string, head: string): Promise<Comparison>;
  /** An issue (or PR) by number; null when it does not exist. */
  issue(issue_number: number): Promise<IssueInfo | null>;
  reviews(pull_number: number): Promise<Review[]>;
  /** Returns the comment id. */
  createComment(issue_number: number, body: string): Promise<number>;
}

/** What the engine's offboarding lookups ask (#15): is the repo's owner an org, is X a member. */
export interface OffboardingGitHub {
  /** The access repo: its owner is the organisation people may leave. */
  readonly repoRef: { owner: string; repo: string };
  memberships(teams: readonly string[]): Promise<Memberships>;
  isOrganization(login: string): Promise<boolean>;
  /** undefined when GitHub does not say (no permission): that tells nothing and ends nothing. */
  orgMember(org: string, username: string): Promise<boolean | undefined>;
}

/** What the GitHub providers (github-team, github-collaborator) do to grant and end access. */
export interface ProviderGitHub {
  loginForId(id: number): Promise<string | null>;
  addTeamMember(team: string, login: string, role: TeamRole): Promise<TeamMembershipInfo>;
  /** False when the person was not a member. */
  removeTeamMember(team: string, login: string): Promise<boolean>;
  teamMembershipInfo(team: string, login: string): Promise<TeamMembershipInfo | null>;
  teamMembers(team: string, role?: 'all' | TeamRole): Promise<{ login: string; id: number }[]>;
  addCollaborator(
    repoFullName: string,
    login: string,
    permission: RepoPermission,
  ): Promise<AddCollaboratorResult>;
  /** Removes the collaborator and any pending invitation; false when there was neither. */
  removeCollaborator(repoFullName: string, login: string): Promise<boolean>;
  collaboratorPermission(repoFullName: string, login: string): Promise<RepoPermission | null>;
  directCollaborators(repoFullName: string): Promise<Collaborator[]>;
  invitations(repoFullName: string): Promise<Invitation[]>;
  /** Residue checks (`allow_lasting_access`): what was made during a grant's window. */
  deployKeys(repoFullName: string): Promise<Dated[]>;
  webhooks(repoFullName: string): Promise<Dated[]>;
  teamInvitations(team: string): Promise<Dated[]>;
}

/** The GitHub port of the engines and providers. */
export interface GitHubPort extends ReconcileGitHub, ProviderGitHub, OffboardingGitHub {}

/** What the app's handlers do besides: branches, files, pull requests, issues, checks. */
export interface AppGitHub extends GitHubPort {
  teamMemberIds(team: string): Promise<Set<number>>;
  teamMembership(team: string, login: string): Promise<'active' | 'pending' | null>;
  deleteInvitation(repoFullName: string, invitation_id: number): Promise<void>;
  branchSha(branch: string): Promise<string | null>;
  branchesWithPrefix(prefix: string): Promise<string[]>;
  createBranch(branch: string, sha: string): Promise<boolean>;
  deleteBranch(branch: string): Promise<boolean>;
  file(path: string, ref: string): Promise<RepoFile | null>;
  directory(path: string, ref: string): Promise<DirectoryEntry[]>;
  putFile(o: {
    path: string;
    branch: string;
    message: string;
    text: string;
    sha?: string;
  }): Promise<string>;
  pullRequestForBranch(branch: string): Promise<PullRequestInfo | null>;
  createPullRequest(o: {
    title: string;
    head: string;
    base: string;
    body: string;
  }): Promise<number>;
  requestReviewers(pull_number: number, users: string[], teams: string[]): Promise<boolean>;
  closePullRequest(pull_number: number): Promise<void>;
  mergePullRequest(o: {
    pull_number: number;
    sha: string;
    title: string;
    message: string;
    method: MergeMethod;
  }): Promise<MergeResult>;
  addLabels(issue_number: number, labels: string[]): Promise<void>;
  removeLabel(issue_number: number, name: string): Promise<boolean>;
  /** Replaces the whole label set (`PUT …/labels`). */
  setLabels(issue_number: number, labels: string[]): Promise<void>;
  issueComments(issue_number: number): Promise<IssueComment[]>;
  updateComment(comment_id: number, body: string): Promise<void>;
  createIssue(o: {
    title: string;
    body: string;
    labels?: string[];
    assignees?: string[];
  }): Promise<number>;
  closeIssue(issue_number: number, reason?: 'completed' | 'not_planned'): Promise<void>;
  /** Starts a `workflow_dispatch` run (the app's deadline timer). */
  dispatchWorkflow(workflow: string, ref: string, inputs?: Record<string, string>): Promise<void>;
  openPullRequests(base: string): Promise<{ number: number; head_ref: string }[]>;
  createCheckRun(o: CheckRunInput): Promise<number>;
}

// ---- git: domain types -------------------------------------------------------------------

export interface Identity {
  name: string;
  email: string;
}

/** One changed path with the blob ids before and after (`git log --raw`). */
export interface RawChange {
  /** A, M, D or T (renames are reported as D + A). */
  status: string;
  path: string;
  /** Blob before the change (all zeros when added). */
  oldBlob: string;
  /** Blob after the change (all zeros when deleted). */
  newBlob: string;
}

/** A commit of the audited history, with what an audit needs to judge who made it. */
export interface HistoryCommit {
  sha: string;
  parents: string[];
  author: Identity;
  committer: Identity;
  /** Committer date, strict ISO 8601. */
  committedAt: string;
  message: string;
  changes: RawChange[];
}

export interface HistoryOptions {
  /** Start point (default HEAD). */
  rev?: string;
  /** Only commits touching these paths. */
  paths?: string[];
  /** Oldest first (the order an audit replays history in). */
  reverse?: boolean;
  /** Follow only first parents: the default branch as it was, merges shown against it. */
  firstParent?: boolean;
}

/** Reads many blobs in one round trip. */
export interface BlobReader {
  /**
   * Contents in request order; null for an id that names no blob. Reads may overlap: they are
   * answered in the order they were made.
   */
  read(ids: readonly string[]): Promise<(string | null)[]>;
  close(): Promise<void>;
}

/** An entry directly inside a folder: `tree` (a folder) or `blob` (a file), with its object id. */
export interface TreeEntry {
  name: string;
  type: 'tree' | 'blob' | string;
  id: string;
}

// ---- git: ports --------------------------------------------------------------------------

/**
 * A file tree at one point (a checkout, a commit, a ref on GitHub). Paths are
 * repository-relative and `/`-separated.
 */
export interface TreeReader {
  /** Every file below `dir`, recursively, sorted; empty when `dir` does not exist. */
  listFiles(dir: string): Promise<string[]>;
  /** Texts by path; a path that is not a file maps to null. */
  readFiles(paths: readonly string[]): Promise<Map<string, string | null>>;
}

/**
 * The grant history: the default branch's files at any revision and how they got there. A
 * revision is `HEAD`, a commit id, or `<rev>^1` (its first parent).
 */
export interface GrantHistory {
  /** The commit a revision names, or null. */
  revParse(rev: string): Promise<string | null>;
  /** Entries directly inside `dir` at `rev` (empty when it does not exist). */
  listDir(rev: string, dir: string): Promise<TreeEntry[]>;
  /** Every file below `dir` at `rev`, recursively. */
  listFiles(rev: string, dir: string): Promise<string[]>;
  readFiles(rev: string, paths: readonly string[]): Promise<Map<string, string | null>>;
  /** Blob texts by the ids `listDir` gives, in request order; null for an id naming no blob. */
  readBlobs(ids: readonly string[]): Promise<(string | null)[]>;
  showFile(rev: string, path: string): Promise<string | null>;
  /** The first-parent commit reachable from `rev` that added `path`, or null. */
  addedIn(rev: string, path: string): Promise<string | null>;
  isAncestor(ancestor: string, rev: string): Promise<boolean>;
  commitMessage(rev: string): Promise<string>;
}

/** The history an audit replays: every commit touching some paths, and their blobs. */
export interface AuditSource extends GrantHistory {
  logHistory(options?: HistoryOptions): AsyncIterable<HistoryCommit>;
  blobReader(): BlobReader;
}

/**
 * Where the reconcile engine writes grant state: a work tree on top of the default branch.
 * Every state change is written, committed (exactly the paths the step names: the grant files and
 * files a provider declares, such as the KRL; nothing else in the tree) and pushed; a push the branch moved under is `rejected`, and the engine
 * refreshes and re-plans.
 */
export interface GrantWriter {
  /** Root of the work tree (where it is; for messages). */
  readonly workdir: string;
  /**
   * The work tree handed to a provider (the SSH KRL is written there, a command script runs
   * there). Anything may be left in it after that, so the next commit first unstages whatever
   * is staged and afterwards restores the tree to the commit; steps that never borrow it
   * (GitHub, PostgreSQL, AWS) skip those whole-tree passes.
   */
  lendWorkTree(): string;
  /** True when nothing is uncommitted. */
  isClean(): Promise<boolean>;
  /** Moves the local branch to the remote head, dropping local commits and changes. */
  refresh(): Promise<void>;
  /** Drops uncommitted changes (what a failed step left behind). */
  discard(): Promise<void>;
  write(path: string, text: string): Promise<void>;
  remove(path: string): Promise<void>;
  /**
   * Commits the changes to exactly `paths` (written, changed or removed) and nothing else: a
   * stray file is never committed, and after a step that borrowed the work tree it is not
   * carried to the next step either.
   */
  commit(message: string, paths: readonly string[]): Promise<void>;
  push(): Promise<'ok' | 'rejected'>;
}
