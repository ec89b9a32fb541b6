/**
 * The stand-in's in-memory GitHub: everything but the repository's content, which lives in
 * the bare git repo (git-backend.ts).
 */

export interface Actor {
  login: string;
  id: number;
  type: 'User' | 'Bot' | 'Organization';
}

export interface UserRecord extends Actor {
  keys: { id: number; key: string }[];
}

export interface IssueRecord {
  number: number;
  id: number;
  title: string;
  body: string | null;
  user: string;
  state: 'open' | 'closed';
  state_reason: 'completed' | 'not_planned' | 'reopened' | null;
  labels: string[];
  assignees: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  closed_by: string | null;
  /** Set when the issue is a pull request (they share numbers, as on GitHub). */
  pull?: PullRecord;
}

export interface PullRecord {
  id: number;
  head: string;
  base: string;
  /** The head commit, refreshed from the branch while the PR is open. */
  head_sha: string;
  /** The base branch's commit when last looked at (GitHub's `base.sha`). */
  base_sha: string;
  draft: boolean;
  merged: boolean;
  merged_at: string | null;
  merged_by: string | null;
  merge_commit_sha: string | null;
  requested_reviewers: string[];
  requested_teams: string[];
}

export interface CommentRecord {
  id: number;
  issue: number;
  user: string;
  body: string;
  created_at: string;
  updated_at: string;
}

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';

export interface ReviewRecord {
  id: number;
  pull: number;
  user: string;
  body: string;
  state: ReviewState;
  commit_id: string;
  submitted_at: string;
}

export interface CheckRunRecord {
  id: number;
  name: string;
  head_sha: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  details_url: string | null;
  external_id: string | null;
  /** The app that made it (check runs belong to an app). */
  app_slug: string;
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface TeamRecord {
  id: number;
  org: string;
  slug: string;
  members: Map<string, { role: 'member' | 'maintainer'; state: 'active' | 'pending' }>;
}

export interface InvitationRecord {
  id: number;
  invitee: string;
  inviter: string;
  permission: string;
  created_at: string;
}

/** A deployment environment: who may deploy to it and the names of what it holds. */
export interface EnvironmentRecord {
  id: number;
  name: string;
  /** null: any branch; 'protected': protected branches; a list: these branch name patterns. */
  branches: null | 'protected' | string[];
  /** Required reviewers (logins): a run waits for one of them. */
  reviewers: string[];
  /** Secret names (values are never readable through the API). */
  secrets: Set<string>;
  variables: Map<string, string>;
  created_at: string;
}

export interface RulesetRecord {
  id: number;
  name: string;
  enforcement: 'active' | 'evaluate' | 'disabled';
  /** `conditions.ref_name.include`: `~DEFAULT_BRANCH`, `~ALL` or `refs/heads/<name>`. */
  include: string[];
  rules: { type: string; parameters?: Record<string, unknown> }[];
  bypass: { actor_id: number | null; actor_type: string; bypass_mode: 'always' | 'pull_request' }[];
}

export interface WorkflowRecord {
  id: number;
  name: string;
  /** `.github/workflows/<file>`. */
  path: string;
  state: 'active' | 'disabled_manually' | 'disabled_inactivity';
}

/** What the app's installation may do and where (GitHub's installation settings). */
export interface InstallationRecord {
  permissions: Record<string, 'read' | 'write'>;
  /** Full names of the repositories it is installed on. */
  repositories: string[];
}

/** `2025-01-02T03:04:05Z`: GitHub's timestamps have no milliseconds. */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class StandInState {
  readonly users = new Map<string, UserRecord>();
  readonly issues = new Map<number, IssueRecord>();
  readonly comments = new Map<number, CommentRecord>();
  readonly reviews = new Map<number, ReviewRecord>();
  readonly checkRuns = new Map<number, CheckRunRecord>();
  readonly labels = new Map<string, LabelRecord>();
  readonly teams = new Map<string, TeamRecord>();
  /** Direct collaborators: login → permission (pull, triage, push, maintain, admin). */
  readonly collaborators = new Map<string, string>();
  readonly invitations = new Map<number, InvitationRecord>();
  /** Repository settings `gatepass doctor` reads. */
  readonly environments = new Map<string, EnvironmentRecord>();
  readonly variables = new Map<string, string>();
  readonly rulesets = new Map<number, RulesetRecord>();
  /** By file name (`gatepass.yml`). */
  readonly workflows = new Map<string, WorkflowRecord>();
  installation: InstallationRecord = {
    permissions: {
      contents: 'write',
      issues: 'write',
      pull_requests: 'write',
      checks: 'write',
      members: 'read',
      actions: 'write',
    },
    repositories: [],
  };
  private nextNumber = 1;
  private nextId = 1000;

  constructor(readonly now: () => Date) {}

  timestamp(): string {
    return isoSeconds(this.now());
  }

  id(): number {
    return this.nextId++;
  }

  issueNumber(): number {
    return this.nextNumber++;
  }

  /** A user by login, case-insensitively as GitHub matches logins. */
  user(login: string): UserRecord | undefined {
    return this.users.get(login.toLowerCase());
  }

  userById(id: number): UserRecord | undefined {
    return [...this.users.values()].find((u) => u.id === id);
  }

  addUser(user: UserRecord): void {
    this.users.set(user.login.toLowerCase(), user);
  }

  team(org: string, slug: string): TeamRecord | undefined {
    return this.teams.get(`${org}/${slug}`.toLowerCase());
  }

  addTeam(org: string, slug: string): TeamRecord {
    const team: TeamRecord = { id: this.id(), org, slug, members: new Map() };
    this.teams.set(`${org}/${slug}`.toLowerCase(), team);
    return team;
  }

  label(name: string): LabelRecord {
    const key = name.toLowerCase();
    let label = this.labels.get(key);
    if (!label) {
      label = { id: this.id(), name, color: 'ededed', description: null };
      this.labels.set(key, label);
    }
    return label;
  }

  pullByNumber(n: number): (IssueRecord & { pull: PullRecord }) | undefined {
    const issue = this.issues.get(n);
    return issue?.pull ? (issue as IssueRecord & { pull: PullRecord }) : undefined;
  }
}
