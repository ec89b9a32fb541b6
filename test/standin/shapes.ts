/**
 * Answers shaped like GitHub's: each starts from the example in GitHub's OpenAPI description
 * (so every field a real answer has is there) with the stand-in's data laid over it.
 */
import { exampleResponse } from '../helpers/openapi-contract.js';
import type { CommitInfo, TreeEntry } from './git-backend.js';
import type {
  Actor,
  CheckRunRecord,
  CommentRecord,
  EnvironmentRecord,
  InvitationRecord,
  IssueRecord,
  LabelRecord,
  PullRecord,
  ReviewRecord,
  RulesetRecord,
  TeamRecord,
  WorkflowRecord,
} from './state.js';
import type { World } from './world.js';

type Json = Record<string, unknown>;

const cache = new Map<string, Json>();
function base(method: string, template: string, status = 200): Json {
  const key = `${method} ${template} ${status}`;
  let v = cache.get(key);
  if (!v) {
    const ex = exampleResponse(method, template, status);
    v = (Array.isArray(ex) ? ex[0] : ex) as Json;
    cache.set(key, v);
  }
  return structuredClone(v);
}

const nodeId = (kind: string, id: number | string): string =>
  `${kind}_${Buffer.from(String(id)).toString('base64url')}`;

export class Shapes {
  constructor(private readonly w: World) {}

  private get repoApi(): string {
    return `${this.w.url}/repos/${this.w.owner}/${this.w.repo}`;
  }
  private get repoHtml(): string {
    return `${this.w.url}/${this.w.owner}/${this.w.repo}`;
  }

  /** Someone the stand-in knows, or a ghost-like placeholder for an unknown login. */
  actor(login: string): Actor {
    if (login.toLowerCase() === this.w.bot.login.toLowerCase()) return this.w.bot;
    const u = this.w.state.user(login);
    return u ? { login: u.login, id: u.id, type: u.type } : { login, id: 0, type: 'User' };
  }

  user(who: string | Actor): Json {
    const a = typeof who === 'string' ? this.actor(who) : who;
    return {
      ...base('GET', '/orgs/{org}/teams/{team_slug}/members'),
      login: a.login,
      id: a.id,
      node_id: nodeId('U', a.id),
      type: a.type,
      site_admin: false,
      avatar_url: `${this.w.url}/avatars/${a.id}`,
      gravatar_id: '',
      url: `${this.w.url}/users/${a.login}`,
      html_url: `${this.w.url}/${a.login}`,
      followers_url: `${this.w.url}/users/${a.login}/followers`,
      following_url: `${this.w.url}/users/${a.login}/following{/other_user}`,
      gists_url: `${this.w.url}/users/${a.login}/gists{/gist_id}`,
      starred_url: `${this.w.url}/users/${a.login}/starred{/owner}{/repo}`,
      subscriptions_url: `${this.w.url}/users/${a.login}/subscriptions`,
      organizations_url: `${this.w.url}/users/${a.login}/orgs`,
      repos_url: `${this.w.url}/users/${a.login}/repos`,
      events_url: `${this.w.url}/users/${a.login}/events{/privacy}`,
      received_events_url: `${this.w.url}/users/${a.login}/received_events`,
    };
  }

  /** `GET /users/{username}` and `GET /user/{account_id}` (a public user). */
  publicUser(a: Actor): Json {
    const all: Json = {
      ...base('GET', '/user/{account_id}'),
      ...this.user(a),
      user_view_type: 'public',
      name: a.login,
      email: null,
      company: null,
      blog: '',
      location: null,
      bio: null,
      twitter_username: null,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2020-01-01T00:00:00Z',
    };
    // `public-user` allows no other properties.
    return Object.fromEntries(Object.entries(all).filter(([k]) => PUBLIC_USER_KEYS.has(k)));
  }

  owner(): Json {
    return { ...this.user({ login: this.w.owner, id: 1, type: 'Organization' }) };
  }

  /** The full repository (`GET /repos/{owner}/{repo}`). */
  repository(): Json {
    const r = base('GET', '/repos/{owner}/{repo}');
    const full = `${this.w.owner}/${this.w.repo}`;
    const out: Json = {
      ...r,
      id: 1296269,
      node_id: nodeId('R', 1296269),
      name: this.w.repo,
      full_name: full,
      owner: this.owner(),
      private: true,
      visibility: 'private',
      html_url: this.repoHtml,
      url: this.repoApi,
      clone_url: this.w.git.gitDir,
      git_url: this.w.git.gitDir,
      ssh_url: this.w.git.gitDir,
      default_branch: this.w.defaultBranch,
      fork: false,
      archived: false,
      disabled: false,
      allow_squash_merge: true,
      allow_merge_commit: true,
      allow_rebase_merge: true,
      delete_branch_on_merge: false,
      has_issues: true,
    };
    // The example describes someone else's fork: its relatives are not ours.
    delete out.parent;
    delete out.source;
    delete out.template_repository;
    delete out.organization;
    out.license = null;
    out.language = null;
    return out;
  }

  /** The smaller repository object inside pull request heads and bases. */
  /** Another repository of the same world (e.g. where an app is installed besides this one). */
  otherRepository(fullName: string): Json {
    if (fullName.toLowerCase() === `${this.w.owner}/${this.w.repo}`.toLowerCase())
      return this.repository();
    const [owner = '', name = ''] = fullName.split('/');
    const id =
      2_000_000 + [...fullName].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_000, 7);
    return {
      ...this.repository(),
      id,
      node_id: nodeId('R', id),
      name,
      full_name: fullName,
      owner: { ...this.owner(), login: owner },
      html_url: `${this.w.url}/${fullName}`,
      url: `${this.w.url}/repos/${fullName}`,
    };
  }

  environment(e: EnvironmentRecord): Json {
    const r = base('GET', '/repos/{owner}/{repo}/environments/{environment_name}');
    return {
      ...r,
      id: e.id,
      node_id: nodeId('EN', e.id),
      name: e.name,
      url: `${this.repoApi}/environments/${encodeURIComponent(e.name)}`,
      html_url: `${this.repoHtml}/deployments/activity_log?environments_filter=${encodeURIComponent(e.name)}`,
      created_at: e.created_at,
      updated_at: e.created_at,
      protection_rules: [
        ...(e.reviewers.length
          ? [
              {
                id: e.id * 10 + 1,
                node_id: nodeId('GA', e.id * 10 + 1),
                prevent_self_review: false,
                type: 'required_reviewers',
                reviewers: e.reviewers.map((login) => ({
                  type: 'User',
                  reviewer: this.publicUser(this.actor(login)),
                })),
              },
            ]
          : []),
        ...(e.branches
          ? [{ id: e.id * 10 + 2, node_id: nodeId('GA', e.id * 10 + 2), type: 'branch_policy' }]
          : []),
      ],
      deployment_branch_policy:
        e.branches === null
          ? null
          : e.branches === 'protected'
            ? { protected_branches: true, custom_branch_policies: false }
            : { protected_branches: false, custom_branch_policies: true },
    };
  }

  ruleset(r: RulesetRecord): Json {
    return {
      id: r.id,
      name: r.name,
      target: 'branch',
      source_type: 'Repository',
      source: `${this.w.owner}/${this.w.repo}`,
      enforcement: r.enforcement,
      bypass_actors: r.bypass,
      current_user_can_bypass: 'never',
      node_id: nodeId('RRS', r.id),
      _links: {
        self: { href: `${this.repoApi}/rulesets/${r.id}` },
        html: { href: `${this.repoHtml}/rules/${r.id}` },
      },
      conditions: { ref_name: { include: r.include, exclude: [] } },
      rules: r.rules,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2020-01-01T00:00:00Z',
    };
  }

  workflow(wf: WorkflowRecord): Json {
    return {
      id: wf.id,
      node_id: nodeId('W', wf.id),
      name: wf.name,
      path: wf.path,
      state: wf.state,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2020-01-01T00:00:00Z',
      url: `${this.repoApi}/actions/workflows/${wf.id}`,
      html_url: `${this.repoHtml}/blob/${this.w.defaultBranch}/${wf.path}`,
      badge_url: `${this.repoHtml}/workflows/${encodeURIComponent(wf.name)}/badge.svg`,
    };
  }

  repositoryInPull(): Json {
    const r = this.repository();
    return r;
  }

  label(l: LabelRecord): Json {
    return {
      id: l.id,
      node_id: nodeId('LA', l.id),
      url: `${this.repoApi}/labels/${encodeURIComponent(l.name)}`,
      name: l.name,
      description: l.description,
      color: l.color,
      default: false,
    };
  }

  issue(i: IssueRecord): Json {
    const out: Json = {
      ...base('GET', '/repos/{owner}/{repo}/issues/{issue_number}'),
      id: i.id,
      node_id: nodeId('I', i.id),
      url: `${this.repoApi}/issues/${i.number}`,
      repository_url: this.repoApi,
      labels_url: `${this.repoApi}/issues/${i.number}/labels{/name}`,
      comments_url: `${this.repoApi}/issues/${i.number}/comments`,
      events_url: `${this.repoApi}/issues/${i.number}/events`,
      html_url: `${this.repoHtml}/${i.pull ? 'pull' : 'issues'}/${i.number}`,
      number: i.number,
      state: i.state,
      state_reason: i.state_reason,
      title: i.title,
      body: i.body,
      user: this.user(i.user),
      labels: i.labels.map((n) => this.label(this.w.state.label(n))),
      assignee: i.assignees[0] ? this.user(i.assignees[0]) : null,
      assignees: i.assignees.map((a) => this.user(a)),
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: [...this.w.state.comments.values()].filter((c) => c.issue === i.number).length,
      closed_at: i.closed_at,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_by: i.closed_by ? this.user(i.closed_by) : null,
      author_association: this.association(i.user),
      repository: undefined,
    };
    delete out.repository;
    out.reactions = this.reactions(`${this.repoApi}/issues/${i.number}/reactions`);
    out.performed_via_github_app = null;
    delete out.body_html;
    delete out.body_text;
    delete out.sub_issues_summary;
    delete out.issue_dependencies_summary;
    delete out.issue_field_values;
    delete out.pinned_comment;
    delete out.type;
    if (i.pull) {
      out.pull_request = {
        url: `${this.repoApi}/pulls/${i.number}`,
        html_url: `${this.repoHtml}/pull/${i.number}`,
        diff_url: `${this.repoHtml}/pull/${i.number}.diff`,
        patch_url: `${this.repoHtml}/pull/${i.number}.patch`,
        merged_at: i.pull.merged_at,
      };
    } else delete out.pull_request;
    return out;
  }

  reactions(url: string): Json {
    return {
      url,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      confused: 0,
      heart: 0,
      hooray: 0,
      eyes: 0,
      rocket: 0,
    };
  }

  association(login: string): string {
    if (login.toLowerCase() === this.w.bot.login.toLowerCase()) return 'NONE';
    const perm = this.w.state.collaborators.get(login.toLowerCase());
    if (perm) return 'COLLABORATOR';
    const member = [...this.w.state.teams.values()].some((t) => t.members.has(login.toLowerCase()));
    return member ? 'MEMBER' : 'NONE';
  }

  private branchEnd(branch: string, sha: string, user: string): Json {
    return {
      label: `${this.w.owner}:${branch}`,
      ref: branch,
      sha,
      user: this.user(user),
      repo: this.repositoryInPull(),
    };
  }

  pull(i: IssueRecord & { pull: PullRecord }, stats?: Json): Json {
    const p = i.pull;
    const n = i.number;
    const merged = p.merged;
    const out: Json = {
      ...base('GET', '/repos/{owner}/{repo}/pulls/{pull_number}'),
      url: `${this.repoApi}/pulls/${n}`,
      id: p.id,
      node_id: nodeId('PR', p.id),
      html_url: `${this.repoHtml}/pull/${n}`,
      diff_url: `${this.repoHtml}/pull/${n}.diff`,
      patch_url: `${this.repoHtml}/pull/${n}.patch`,
      issue_url: `${this.repoApi}/issues/${n}`,
      commits_url: `${this.repoApi}/pulls/${n}/commits`,
      review_comments_url: `${this.repoApi}/pulls/${n}/comments`,
      review_comment_url: `${this.repoApi}/pulls/comments{/number}`,
      comments_url: `${this.repoApi}/issues/${n}/comments`,
      statuses_url: `${this.repoApi}/statuses/${p.head_sha}`,
      number: n,
      state: i.state,
      locked: false,
      title: i.title,
      user: this.user(i.user),
      body: i.body,
      labels: i.labels.map((l) => this.label(this.w.state.label(l))),
      milestone: null,
      active_lock_reason: null,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.closed_at,
      merged_at: p.merged_at,
      merge_commit_sha: p.merge_commit_sha,
      assignee: i.assignees[0] ? this.user(i.assignees[0]) : null,
      assignees: i.assignees.map((a) => this.user(a)),
      requested_reviewers: p.requested_reviewers.map((r) => this.user(r)),
      // GitHub's pull request schema lists full teams here (with `parent`).
      requested_teams: p.requested_teams.map((t) => ({ ...this.teamSimple(t), parent: null })),
      head: this.branchEnd(p.head, p.head_sha, i.user),
      base: this.branchEnd(p.base, p.base_sha, this.w.owner),
      _links: {
        self: { href: `${this.repoApi}/pulls/${n}` },
        html: { href: `${this.repoHtml}/pull/${n}` },
        issue: { href: `${this.repoApi}/issues/${n}` },
        comments: { href: `${this.repoApi}/issues/${n}/comments` },
        review_comments: { href: `${this.repoApi}/pulls/${n}/comments` },
        review_comment: { href: `${this.repoApi}/pulls/comments{/number}` },
        commits: { href: `${this.repoApi}/pulls/${n}/commits` },
        statuses: { href: `${this.repoApi}/statuses/${p.head_sha}` },
      },
      author_association: this.association(i.user),
      auto_merge: null,
      draft: p.draft,
      merged,
      mergeable: merged || i.state === 'closed' ? null : true,
      rebaseable: merged || i.state === 'closed' ? null : true,
      mergeable_state: merged || i.state === 'closed' ? 'unknown' : 'clean',
      merged_by: p.merged_by ? this.user(p.merged_by) : null,
      comments: [...this.w.state.comments.values()].filter((c) => c.issue === n).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 0,
      deletions: 0,
      changed_files: 0,
      ...stats,
    };
    return out;
  }

  /** The shorter pull request of lists (`pull-request-simple`). */
  pullSimple(i: IssueRecord & { pull: PullRecord }): Json {
    const full = this.pull(i);
    for (const k of [
      'merged',
      'mergeable',
      'rebaseable',
      'mergeable_state',
      'merged_by',
      'comments',
      'review_comments',
      'maintainer_can_modify',
      'commits',
      'additions',
      'deletions',
      'changed_files',
    ]) {
      delete full[k];
    }
    // The simple pull request schema's labels have a string description (never null).
    full.labels = (full.labels as Json[]).map((l) => ({ ...l, description: l.description ?? '' }));
    return full;
  }

  teamSimple(key: string): Json {
    const [org = '', slug = ''] = key.split('/');
    const t = this.w.state.team(org, slug);
    const id = t?.id ?? 0;
    return {
      id,
      node_id: nodeId('T', id),
      url: `${this.w.url}/orgs/${org}/teams/${slug}`,
      members_url: `${this.w.url}/orgs/${org}/teams/${slug}/members{/member}`,
      name: slug,
      description: null,
      permission: 'pull',
      privacy: 'closed',
      notification_setting: 'notifications_enabled',
      html_url: `${this.w.url}/orgs/${org}/teams/${slug}`,
      repositories_url: `${this.w.url}/orgs/${org}/teams/${slug}/repos`,
      slug,
      type: 'organization',
    };
  }

  team(t: TeamRecord): Json {
    return {
      ...base('GET', '/orgs/{org}/teams/{team_slug}'),
      ...this.teamSimple(`${t.org}/${t.slug}`),
      members_count: t.members.size,
      repos_count: 1,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2020-01-01T00:00:00Z',
      organization: {
        ...(base('GET', '/orgs/{org}/teams/{team_slug}').organization as Json),
        login: t.org,
      },
      parent: null,
    };
  }

  comment(c: CommentRecord): Json {
    const out: Json = {
      ...base('GET', '/repos/{owner}/{repo}/issues/comments/{comment_id}'),
      id: c.id,
      node_id: nodeId('IC', c.id),
      url: `${this.repoApi}/issues/comments/${c.id}`,
      html_url: `${this.repoHtml}/issues/${c.issue}#issuecomment-${c.id}`,
      body: c.body,
      user: this.user(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      issue_url: `${this.repoApi}/issues/${c.issue}`,
      author_association: this.association(c.user),
    };
    out.performed_via_github_app = null;
    out.reactions = this.reactions(`${this.repoApi}/issues/comments/${c.id}/reactions`);
    delete out.body_html;
    delete out.body_text;
    delete out.pin;
    return out;
  }

  review(r: ReviewRecord): Json {
    return {
      ...base('GET', '/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}'),
      id: r.id,
      node_id: nodeId('PRR', r.id),
      user: this.user(r.user),
      body: r.body,
      state: r.state,
      html_url: `${this.repoHtml}/pull/${r.pull}#pullrequestreview-${r.id}`,
      pull_request_url: `${this.repoApi}/pulls/${r.pull}`,
      _links: {
        html: { href: `${this.repoHtml}/pull/${r.pull}#pullrequestreview-${r.id}` },
        pull_request: { href: `${this.repoApi}/pulls/${r.pull}` },
      },
      submitted_at: r.submitted_at,
      commit_id: r.commit_id,
      author_association: this.association(r.user),
    };
  }

  app(): Json {
    const a = base('GET', '/app');
    return {
      ...a,
      id: this.w.app.id,
      slug: this.w.app.slug,
      node_id: nodeId('A', this.w.app.id),
      client_id: `Iv1.${this.w.app.slug}`,
      owner: this.owner(),
      name: this.w.app.slug,
      external_url: this.w.url,
      html_url: `${this.w.url}/apps/${this.w.app.slug}`,
    };
  }

  checkRun(c: CheckRunRecord): Json {
    const b = base('GET', '/repos/{owner}/{repo}/check-runs/{check_run_id}');
    const pulls = [...this.w.state.issues.values()].filter(
      (i) => i.pull && i.state === 'open' && i.pull.head_sha === c.head_sha,
    );
    return {
      ...b,
      id: c.id,
      node_id: nodeId('CR', c.id),
      head_sha: c.head_sha,
      external_id: c.external_id,
      url: `${this.repoApi}/check-runs/${c.id}`,
      html_url: `${this.repoHtml}/runs/${c.id}`,
      details_url: c.details_url,
      status: c.status,
      conclusion: c.conclusion,
      started_at: c.started_at,
      completed_at: c.completed_at,
      output: {
        title: c.output.title,
        summary: c.output.summary,
        text: c.output.text,
        annotations_count: 0,
        annotations_url: `${this.repoApi}/check-runs/${c.id}/annotations`,
      },
      name: c.name,
      check_suite: { id: c.id + 500000 },
      app: this.app(),
      pull_requests: pulls.map((i) => ({
        id: i.pull?.id,
        number: i.number,
        url: `${this.repoApi}/pulls/${i.number}`,
        head: { ref: i.pull?.head, sha: i.pull?.head_sha, repo: this.miniRepo() },
        base: { ref: i.pull?.base, sha: i.pull?.base_sha, repo: this.miniRepo() },
      })),
    };
  }

  miniRepo(): Json {
    return { id: 1296269, url: this.repoApi, name: this.w.repo };
  }

  gitRef(ref: string, sha: string): Json {
    return {
      ref,
      node_id: nodeId('REF', ref),
      url: `${this.repoApi}/git/${ref}`,
      object: { type: 'commit', sha, url: `${this.repoApi}/git/commits/${sha}` },
    };
  }

  gitUser(p: { name: string; email: string; date: string }): Json {
    return { name: p.name, email: p.email, date: p.date };
  }

  /** A git commit object (`GET /git/commits/{sha}`, and inside a file commit). */
  gitCommit(c: CommitInfo): Json {
    return {
      sha: c.sha,
      node_id: nodeId('C', c.sha),
      url: `${this.repoApi}/git/commits/${c.sha}`,
      html_url: `${this.repoHtml}/commit/${c.sha}`,
      author: this.gitUser(c.author),
      committer: this.gitUser(c.committer),
      message: c.message.replace(/\n$/, ''),
      tree: { sha: c.tree, url: `${this.repoApi}/git/trees/${c.tree}` },
      parents: c.parents.map((p) => ({
        sha: p,
        url: `${this.repoApi}/git/commits/${p}`,
        html_url: `${this.repoHtml}/commit/${p}`,
      })),
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
    };
  }

  /** A commit as `GET /commits/{ref}` gives it (`files` when known). */
  commit(c: CommitInfo, files?: Json[]): Json {
    const out: Json = {
      ...base('GET', '/repos/{owner}/{repo}/commits/{ref}'),
      url: `${this.repoApi}/commits/${c.sha}`,
      sha: c.sha,
      node_id: nodeId('C', c.sha),
      html_url: `${this.repoHtml}/commit/${c.sha}`,
      comments_url: `${this.repoApi}/commits/${c.sha}/comments`,
      commit: {
        url: `${this.repoApi}/git/commits/${c.sha}`,
        author: this.gitUser(c.author),
        committer: this.gitUser(c.committer),
        message: c.message.replace(/\n$/, ''),
        tree: { sha: c.tree, url: `${this.repoApi}/git/trees/${c.tree}` },
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
      },
      author: null,
      committer: null,
      parents: c.parents.map((p) => ({
        sha: p,
        url: `${this.repoApi}/commits/${p}`,
        html_url: `${this.repoHtml}/commit/${p}`,
      })),
    };
    if (files) {
      const additions = files.reduce((s, f) => s + Number(f.additions), 0);
      const deletions = files.reduce((s, f) => s + Number(f.deletions), 0);
      out.files = files;
      out.stats = { additions, deletions, total: additions + deletions };
    } else {
      delete out.files;
      delete out.stats;
    }
    return out;
  }

  /** `GET /compare/{base}...{head}`: the head's commits since the merge base and their files. */
  comparison(o: {
    basehead: string;
    base: CommitInfo;
    mergeBase: CommitInfo;
    commits: CommitInfo[];
    files: Json[];
  }): Json {
    // The compare schema asks for `verified_at` in every verification.
    const commit = (c: CommitInfo): Json => {
      const out = this.commit(c);
      const inner = out.commit as Json;
      return {
        ...out,
        commit: { ...inner, verification: { ...(inner.verification as Json), verified_at: null } },
      };
    };
    return {
      ...base('GET', '/repos/{owner}/{repo}/compare/{basehead}'),
      url: `${this.repoApi}/compare/${o.basehead}`,
      html_url: `${this.repoHtml}/compare/${o.basehead}`,
      permalink_url: `${this.repoHtml}/compare/${o.basehead}`,
      diff_url: `${this.repoHtml}/compare/${o.basehead}.diff`,
      patch_url: `${this.repoHtml}/compare/${o.basehead}.patch`,
      base_commit: commit(o.base),
      merge_base_commit: commit(o.mergeBase),
      status: o.commits.length
        ? o.base.sha === o.mergeBase.sha
          ? 'ahead'
          : 'diverged'
        : 'identical',
      ahead_by: o.commits.length,
      behind_by: 0,
      total_commits: o.commits.length,
      commits: o.commits.map(commit),
      files: o.files,
    };
  }

  diffEntry(f: {
    filename: string;
    status: string;
    additions: number;
    deletions: number;
    sha: string;
    previous_filename?: string;
  }): Json {
    const out: Json = {
      sha: f.sha,
      filename: f.filename,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      changes: f.additions + f.deletions,
      blob_url: `${this.repoHtml}/blob/${f.sha}/${f.filename}`,
      raw_url: `${this.repoHtml}/raw/${f.sha}/${f.filename}`,
      contents_url: `${this.repoApi}/contents/${f.filename}?ref=${f.sha}`,
    };
    if (f.previous_filename) out.previous_filename = f.previous_filename;
    return out;
  }

  /** A file or directory entry of the contents API (`content` for files read singly). */
  content(entry: TreeEntry, path: string, ref: string, content?: Buffer): Json {
    const type = entry.type === 'tree' ? 'dir' : entry.type === 'commit' ? 'submodule' : 'file';
    const self = `${this.repoApi}/contents/${path}?ref=${encodeURIComponent(ref)}`;
    const git = `${this.repoApi}/git/${entry.type === 'tree' ? 'trees' : 'blobs'}/${entry.sha}`;
    const html = `${this.repoHtml}/${entry.type === 'tree' ? 'tree' : 'blob'}/${ref}/${path}`;
    const out: Json = {
      type,
      size: entry.size ?? 0,
      name: path.split('/').pop() ?? path,
      path,
      sha: entry.sha,
      url: self,
      git_url: git,
      html_url: html,
      download_url: type === 'file' ? `${this.repoHtml}/raw/${ref}/${path}` : null,
      _links: { self, git, html },
    };
    if (content) {
      out.encoding = 'base64';
      // GitHub wraps base64 at 60 characters, as MIME does.
      out.content = (content.toString('base64').match(/.{1,60}/g) ?? []).join('\n') + '\n';
    }
    return out;
  }

  branch(name: string, c: CommitInfo): Json {
    return {
      name,
      commit: { sha: c.sha, url: `${this.repoApi}/commits/${c.sha}` },
      protected: false,
      protection_url: `${this.repoApi}/branches/${name}/protection`,
    };
  }

  invitation(inv: InvitationRecord): Json {
    const b = base('GET', '/repos/{owner}/{repo}/invitations');
    const repo = this.repository();
    return {
      ...b,
      id: inv.id,
      node_id: nodeId('RI', inv.id),
      repository: {
        ...(b.repository as Json),
        id: repo.id,
        node_id: repo.node_id,
        name: repo.name,
        full_name: repo.full_name,
        owner: repo.owner,
        html_url: repo.html_url,
        url: repo.url,
        private: true,
      },
      invitee: this.user(inv.invitee),
      inviter: this.user(inv.inviter),
      permissions:
        inv.permission === 'push' ? 'write' : inv.permission === 'pull' ? 'read' : inv.permission,
      created_at: inv.created_at,
      url: `${this.repoApi}/invitations/${inv.id}`,
      html_url: `${this.repoHtml}/invitations`,
      expired: false,
    };
  }

  collaborator(login: string, permission: string): Json {
    const role = roleName(permission);
    return {
      ...base('GET', '/repos/{owner}/{repo}/collaborators'),
      ...this.user(login),
      permissions: permissionFlags(permission),
      role_name: role,
    };
  }

  collaboratorPermission(login: string, permission: string | null): Json {
    const b = base('GET', '/repos/{owner}/{repo}/collaborators/{username}/permission');
    const perm = permission ?? 'none';
    const legacy =
      perm === 'push' || perm === 'maintain'
        ? 'write'
        : perm === 'pull' || perm === 'triage'
          ? 'read'
          : perm;
    return {
      ...b,
      permission: legacy,
      role_name: permission ? roleName(permission) : 'none',
      user: {
        ...this.user(login),
        permissions: permissionFlags(permission ?? 'none'),
        role_name: permission ? roleName(permission) : 'none',
      },
    };
  }
}

const roleName = (permission: string): string =>
  ({ pull: 'read', push: 'write' })[permission] ?? permission;

function permissionFlags(permission: string): Json {
  const order = ['pull', 'triage', 'push', 'maintain', 'admin'];
  const rank = order.indexOf(permission);
  return Object.fromEntries(order.map((p, i) => [p, rank >= i]));
}

const PUBLIC_USER_KEYS = new Set(
  (
    'login id user_view_type node_id avatar_url gravatar_id url html_url followers_url ' +
    'following_url gists_url starred_url subscriptions_url organizations_url repos_url ' +
    'events_url received_events_url type site_admin name company blog location email ' +
    'notification_email hireable bio twitter_username public_repos public_gists followers ' +
    'following created_at updated_at'
  ).split(' '),
);
