import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Approval, Grant } from '../../src/core/grant.js';
import { archivePath, grantPath, serializeGrant } from '../../src/core/grant-file.js';
import type { Person } from '../../src/core/identity.js';
import { commitMessage, type EventTrailers, type GrantEvent } from '../../src/core/trailers.js';

export interface Who {
  name: string;
  email: string;
}

/** Who writes what on GitHub: the app authors its PRs (so their squash merges), GitHub commits them. */
export const APP_BOT: Who = {
  name: 'gatepass[bot]',
  email: '123+gatepass[bot]@users.noreply.github.com',
};
export const ACTION_BOT: Who = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};
export const GITHUB: Who = { name: 'GitHub', email: 'noreply@github.com' };
export const MALLORY: Who = { name: 'Mallory', email: 'mallory@example.com' };

export const POLICY = `resources:
  prod-db:
    description: Production database, read-only
    provider: postgres
    target: { admin_url: env:PROD_PG_ADMIN_URL, database: app, roles: [readonly] }
    max_duration: 4h
    default_duration: 1h
    requesters: [acme/engineers, dave]
    approvers: [alice, bob, acme/dba]
    approvals_required: 1
    break_glass: { allowed: [acme/oncall], max_duration: 1h, review_within: 24h }
  prod-admin:
    description: Production admin console
    provider: command
    target: { path: scripts/admin-access.sh }
    max_duration: 2h
    default_duration: 1h
    requesters: [acme/engineers]
    approvers: [acme/sre]
    approvals_required: 2
`;

interface FileChange {
  path: string;
  /** null deletes. */
  content: string | null;
}

interface RawCommit {
  message: string;
  author?: Who;
  committer?: Who;
  files: FileChange[];
  /** A second parent: a side commit holding the same changes (GitHub's "Merge pull request"). */
  mergeFrom?: { branch: string; message: string };
}

export interface RequestOptions {
  id: string;
  resource?: string;
  requester: Person;
  approvers?: Approval[];
  duration?: number;
  rule?: string;
  breakGlass?: string;
  justification?: string;
  pr?: number;
  /** Policy commit to record (default: the latest policy commit). */
  policy?: string;
  /** Override the commit shape (tampering). */
  author?: Who;
  subject?: string;
}

const git = (cwd: string, args: string[], input?: string): string =>
  execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    input,
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });

/**
 * Builds an access repo's default-branch history as the app and the action write it, with
 * full control of authors and times, through `git fast-import` (many commits per process).
 * Commits are queued and written on `flush()`; anything that needs a commit's sha flushes.
 */
export class AuditHistoryBuilder {
  readonly grants = new Map<string, Grant>();
  /** Milliseconds since the epoch; every commit moves it on. */
  now = Date.parse('2030-01-01T00:00:00Z');
  policyCommit = '';
  private stream: string[] = [];
  private mark = 0;
  private head = '';

  private constructor(
    readonly root: string,
    readonly dir: string,
  ) {}

  static async create(policy = POLICY): Promise<AuditHistoryBuilder> {
    const root = mkdtempSync(join(tmpdir(), 'gatepass-audit-'));
    const dir = join(root, 'repo');
    git(root, ['init', '--quiet', dir]);
    const b = new AuditHistoryBuilder(root, dir);
    b.commit({
      message: 'Initial access repo\n',
      author: { name: 'Admin', email: 'admin@example.com' },
      files: [
        { path: 'policies/access.yaml', content: policy },
        { path: 'grants/.gitkeep', content: '' },
      ],
    });
    b.policyCommit = b.flush();
    return b;
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Moves the clock on by `minutes`. */
  tick(minutes: number): this {
    this.now += minutes * 60_000;
    return this;
  }

  iso(at = this.now): string {
    return new Date(at).toISOString();
  }

  /** Queues one commit on main (any shape: tests use it to tamper). */
  commit(c: RawCommit): number {
    this.now += 1000;
    const when = `${Math.floor(this.now / 1000)} +0000`;
    const author = c.author ?? ACTION_BOT;
    const committer = c.committer ?? author;
    const body = (m: string) => `data ${Buffer.byteLength(m)}\n${m}\n`;
    const files = c.files
      .map((f) =>
        f.content === null ? `D ${f.path}\n` : `M 100644 inline ${f.path}\n${body(f.content)}`,
      )
      .join('');
    const from = (first: boolean) => (first && this.head ? `from ${this.head}\n` : '');
    let merge = '';
    if (c.mergeFrom) {
      const side = ++this.mark;
      this.stream.push(
        `commit refs/heads/${c.mergeFrom.branch}\nmark :${side}\n` +
          `author ${author.name} <${author.email}> ${when}\ncommitter ${author.name} <${author.email}> ${when}\n` +
          body(c.mergeFrom.message) +
          (this.head ? `from ${this.head}\n` : `from refs/heads/main\n`) +
          files,
      );
      merge = `merge :${side}\n`;
    }
    const mark = ++this.mark;
    const first = !this.stream.some((s) => s.startsWith('commit refs/heads/main'));
    this.stream.push(
      `commit refs/heads/main\nmark :${mark}\n` +
        `author ${author.name} <${author.email}> ${when}\ncommitter ${committer.name} <${committer.email}> ${when}\n` +
        body(c.message) +
        from(first) +
        merge +
        files,
    );
    return mark;
  }

  /** Writes the queued commits; returns the new head. */
  flush(): string {
    if (this.stream.length === 0) return this.head;
    const marks = join(this.root, 'marks');
    git(
      this.dir,
      ['fast-import', '--quiet', '--force', `--export-marks=${marks}`],
      this.stream.join(''),
    );
    this.stream = [];
    this.head = git(this.dir, ['rev-parse', 'refs/heads/main']).trim();
    return this.head;
  }

  /** A policy change the way it should arrive: a squash-merged PR `(#n)`, or a merge commit. */
  changePolicy(text: string, how: { pr?: number; merge?: boolean; direct?: Who } = {}): string {
    const files = [{ path: 'policies/access.yaml', content: text }];
    if (how.direct) this.commit({ message: 'Loosen policy\n', author: how.direct, files });
    else if (how.merge)
      this.commit({
        message: `Merge pull request #${how.pr ?? 7} from acme/policy\n\nUpdate policy\n`,
        author: { name: 'Alice', email: 'alice@example.com' },
        committer: GITHUB,
        files,
        mergeFrom: { branch: `policy-${how.pr ?? 7}`, message: 'Update policy\n' },
      });
    else
      this.commit({
        message: `Update policy (#${how.pr ?? 7})\n`,
        author: { name: 'Alice', email: 'alice@example.com' },
        committer: GITHUB,
        files,
      });
    this.policyCommit = this.flush();
    return this.policyCommit;
  }

  private trailers(g: Grant, event: GrantEvent, extra: Partial<EventTrailers> = {}): EventTrailers {
    return { grant: g.id, event, resource: g.resource, at: this.iso(), ...extra };
  }

  private grantOf(id: string): Grant {
    const g = this.grants.get(id);
    if (!g) throw new Error(`no grant ${id}`);
    return g;
  }

  /** The app's squash merge of an approved grant PR: the file, status pending, event `approved`. */
  approve(o: RequestOptions): Grant {
    const resource = o.resource ?? 'prod-db';
    const issue = Number(/\d+/.exec(o.id)?.[0] ?? 1);
    const pr = o.pr ?? issue + 1;
    const approvers = o.approvers ?? [
      { login: 'alice', id: 101, review_id: 9000 + issue, via: 'alice' },
    ];
    const rule = o.rule ?? (o.breakGlass ? 'break_glass' : 'reviews');
    const grant: Grant = {
      id: o.id,
      resource,
      status: 'pending',
      requester: o.requester,
      duration: o.duration ?? 3600,
      justification: o.justification ?? `Investigating slow checkout queries (INC-${issue})`,
      ticket: `INC-${issue}`,
      source: { issue, pull_request: pr },
      policy_commit: o.policy ?? this.policyCommit,
      requested_at: this.iso(this.now - 20 * 60_000),
      ...(o.breakGlass ? { break_glass: { reason: o.breakGlass } } : {}),
    };
    this.grants.set(o.id, grant);
    const t = this.trailers(grant, 'approved', {
      requestedBy: o.requester,
      approvedBy: approvers,
      policy: grant.policy_commit,
      rule,
      pullRequest: pr,
    });
    this.commit({
      message: commitMessage(o.subject ?? `Grant ${resource} to ${o.requester.login} (#${pr})`, t),
      author: o.author ?? APP_BOT,
      committer: GITHUB,
      files: [{ path: grantPath(resource, o.id), content: serializeGrant(grant) }],
    });
    // The action fills the approval it re-verified when it issues.
    grant.approval = { approved_at: this.iso(), rule, approvers };
    return grant;
  }

  /** The action confirms the approval it re-verified: status approved, `(#pr)` in the subject. */
  confirm(id: string, o: { pr?: number } = {}): void {
    const g = this.grantOf(id);
    const pr = o.pr ?? g.source.pull_request!;
    g.status = 'approved';
    this.commit({
      message: commitMessage(
        `gatepass: approve ${g.resource}/${g.id} (#${pr})`,
        this.trailers(g, 'approved', {
          approvedBy: g.approval?.approvers,
          rule: g.approval?.rule,
          pullRequest: pr,
        }),
      ),
      author: ACTION_BOT,
      files: [{ path: grantPath(g.resource, g.id), content: serializeGrant(g) }],
    });
  }

  /** The action issues: status active, issued_at/expires_at, Gatepass-Expires. */
  issue(id: string, o: { author?: Who; expiresAt?: string; edit?: (g: Grant) => void } = {}): void {
    const g = this.grantOf(id);
    g.status = 'active';
    g.issued_at = this.iso(this.now + 1000);
    g.expires_at = o.expiresAt ?? this.iso(this.now + 1000 + g.duration * 1000);
    o.edit?.(g);
    this.commit({
      message: commitMessage(
        `Issue ${g.id}`,
        this.trailers(g, 'issued', { at: g.issued_at, expires: g.expires_at, actor: 'schedule' }),
      ),
      author: o.author ?? ACTION_BOT,
      files: [{ path: grantPath(g.resource, g.id), content: serializeGrant(g) }],
    });
  }

  /** The app records a `/revoke` from a person. */
  requestRevoke(id: string, by: Person): void {
    const g = this.grantOf(id);
    g.revoke_requested = { by, at: this.iso(this.now + 1000) };
    this.commit({
      message: commitMessage(
        `Revoke requested for ${g.id}`,
        this.trailers(g, 'revoke-requested', {
          at: g.revoke_requested.at,
          actor: `${by.login} (${by.id})`,
        }),
      ),
      author: APP_BOT,
      committer: GITHUB,
      files: [{ path: grantPath(g.resource, g.id), content: serializeGrant(g) }],
    });
  }

  /** The action ends a grant (expired by the schedule, or revoked for a person). */
  end(
    id: string,
    event: 'expired' | 'revoked' | 'refused',
    o: { actor?: string; author?: Who } = {},
  ): void {
    const g = this.grantOf(id);
    g.status = event === 'refused' ? 'denied' : event;
    g.ended_at = this.iso(this.now + 1000);
    g.end_reason = event;
    if (event === 'refused') delete g.approval;
    this.commit({
      message: commitMessage(
        `${event[0]!.toUpperCase()}${event.slice(1)} ${g.id}`,
        this.trailers(g, event, { at: g.ended_at, actor: o.actor ?? 'schedule' }),
      ),
      author: o.author ?? ACTION_BOT,
      files: [{ path: grantPath(g.resource, g.id), content: serializeGrant(g) }],
    });
  }

  /** The action files an ended grant under grants/archive/YYYY/MM (a rename). */
  archive(id: string, o: { withEvent?: boolean; author?: Who } = {}): void {
    const g = this.grantOf(id);
    const from = grantPath(g.resource, g.id);
    const event = g.status as GrantEvent;
    this.commit({
      message: o.withEvent
        ? commitMessage(`Archive ${g.id}`, this.trailers(g, event === 'denied' ? 'refused' : event))
        : `Archive ${g.id}\n`,
      author: o.author ?? ACTION_BOT,
      files: [
        { path: from, content: null },
        { path: archivePath(g), content: serializeGrant(g) },
      ],
    });
  }

  /** The whole story of one well-behaved grant, ending by schedule after `minutes` of use. */
  lifecycle(o: RequestOptions, minutes = 60): void {
    this.approve(o);
    this.tick(1);
    this.issue(o.id);
    this.tick(minutes);
    this.end(o.id, 'expired');
    this.tick(1);
    this.archive(o.id, { withEvent: true });
  }
}
