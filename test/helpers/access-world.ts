import { expect } from '@jest/globals';
import type { Clock } from '../../src/core/clock.js';
import type { Grant } from '../../src/core/grant.js';
import { grantPath, parseGrant, serializeGrant } from '../../src/core/grant-file.js';
import { ISSUE_STARTED_AT } from '../../src/core/reconcile-plan.js';
import { parseTrailers } from '../../src/core/trailers.js';
import {
  reconcile,
  type CrashPoint,
  type ReconcileResult,
} from '../../src/engine/reconcile/index.js';
import { githubTeamProvider } from '../../src/providers/github-team.js';
import type { Provider } from '../../src/providers/provider.js';
import { landMergedRequest, MemoryGitHub, MemoryGrantStore } from './memory-ports.js';
import { FakeProvider } from './reconcile.js';

/*
 * A world for issue #13's model-based test: the REAL reconcile engine over in-memory ports, the
 * REAL github-team provider over MemoryGitHub's teams, and a per-grant credential model
 * (FakeProvider, like postgres). Actions change it as people and the app would; checks say
 * whether the access held is what the grants explain.
 */
export const alice = { login: 'alice', id: 1001 };
export const bob = { login: 'bob', id: 1002 };
const T0 = Date.parse('2030-01-01T10:00:00.000Z');
export const TEAMS = ['acme/sre', 'acme/ops'] as const;
export type Team = (typeof TEAMS)[number];
export const RANK = { member: 0, maintainer: 1 } as const;

export const policy = (team: Team) => `resources:
  sre:
    description: Team access
    provider: github-team
    target: { team: ${team}, role: member }
    max_duration: 4h
    default_duration: 1h
    requesters: [alice]
    approvers: [acme/leads]
    approvals_required: 1
  db:
    description: Production database
    provider: postgres
    target: { admin_url: 'env:PG', database: app, roles: [readonly] }
    max_duration: 4h
    default_duration: 1h
    requesters: [alice]
    approvers: [acme/leads]
    approvals_required: 1
`;

export type Action =
  | { kind: 'request'; resource: 'sre' | 'db'; hours: number }
  | { kind: 'extend'; pick: number; hours: number }
  | { kind: 'run' }
  | { kind: 'crash'; point: CrashPoint; nth: number }
  | { kind: 'advance'; minutes: number }
  | { kind: 'revoke'; pick: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'target' }
  | { kind: 'rename' }
  | { kind: 'approver-leaves' }
  | { kind: 'approver-returns' };

export interface Start {
  /** Alice's role in each team before any grant (pre-existing access). */
  pre: Record<Team, 'member' | 'maintainer' | null>;
}

export class World {
  now = T0;
  readonly clock: Clock = { now: () => new Date(this.now) };
  readonly store = new MemoryGrantStore(
    { 'policies/example.yaml': policy('acme/sre') },
    'Policies',
  );
  readonly github = new MemoryGitHub().addUser(alice).addUser(bob);
  readonly db = new FakeProvider();
  team: Team = 'acme/sre';
  n = 0;
  readonly log: string[] = [];
  /** Effects made while the remote held no `issuing` marker for the grant: must stay empty. */
  readonly unmarked: string[] = [];
  readonly providers: Record<string, Provider>;

  constructor(
    readonly start: Start,
    /** A real per-grant provider in place of the model (the postgres provider on a real server). */
    readonly real: { db?: Provider; env?: Record<string, string>; keys?: string[] } = {},
  ) {
    if (real.keys) this.github.addUser(alice, real.keys);
    this.github.addToTeam('acme/leads', bob.id);
    for (const t of TEAMS) {
      const role = start.pre[t];
      if (role) this.github.addToTeam(t, alice.id, role);
      else this.github.teams.set(t, this.github.teams.get(t) ?? new Map());
    }
    // A permanent member gatepass never touches.
    this.github.addUser({ login: 'carol', id: 1003 }).addToTeam('acme/sre', 1003);
    const marked = (p: Provider): Provider => ({
      ...p,
      issue: async (grant, ctx) => {
        if (this.remoteGrant(grant.id)?.issued?.[ISSUE_STARTED_AT] === undefined)
          this.unmarked.push(grant.id);
        return p.issue.call(p, grant, ctx);
      },
    });
    const db = this.db;
    this.providers = {
      'github-team': marked(githubTeamProvider),
      postgres: marked(
        real.db ?? {
          kind: 'postgres',
          validateTarget: () => [],
          issue: (g) => db.issue(g),
          extend: (g) => db.extend(g),
          revoke: (g) => db.revoke(g),
          list: () => db.list(),
          removeDrift: (a) => db.removeDrift(a),
        },
      ),
    };
  }

  remoteGrants(): { path: string; grant: Grant }[] {
    const out: { path: string; grant: Grant }[] = [];
    for (const [path, text] of this.store.remoteFiles())
      if (path.startsWith('grants/') && path.endsWith('.yaml')) {
        const p = parseGrant(text, path);
        if (p.ok) out.push({ path, grant: p.value });
      }
    return out;
  }

  remoteGrant(id: string): Grant | undefined {
    return this.remoteGrants().find((g) => g.grant.id === id)?.grant;
  }

  async run(
    hookOrOptions?: ((point: CrashPoint, id: string) => void) | { removeDrift?: boolean },
  ): Promise<ReconcileResult | 'crashed'> {
    const hook = typeof hookOrOptions === 'function' ? hookOrOptions : undefined;
    const removeDrift = typeof hookOrOptions === 'object' && hookOrOptions.removeDrift === true;
    try {
      return await reconcile({
        history: this.store,
        writer: this.store,
        github: this.github,
        branch: 'main',
        clock: this.clock,
        env: this.real.env ?? { PG: 'postgres://x' },
        mask: () => {},
        log: (l) => this.log.push(l),
        provider: (k) => this.providers[k]!,
        ...(hook ? { hook } : {}),
        ...(removeDrift ? { removeDrift } : {}),
      });
    } catch (e) {
      if (String(e).includes('run aborted')) {
        // The process died: what it left in the work tree is gone with it.
        await this.store.refresh();
        return 'crashed';
      }
      throw e;
    }
  }

  request(resource: 'sre' | 'db', hours: number, extendsId?: string): void {
    const n = ++this.n;
    const grant: Grant = {
      id: `req-${n}`,
      resource,
      requester: alice,
      duration: hours * 3600,
      justification: 'Investigating slow checkout queries (INC-7)',
      source: { issue: n, pull_request: n + 1000 },
      policy_commit: this.store.remoteHead,
      status: 'pending',
      requested_at: new Date(this.now).toISOString(),
      ...(extendsId ? { extends: extendsId } : {}),
    };
    landMergedRequest(this.store, this.github, {
      path: grantPath(resource, grant.id),
      text: serializeGrant(grant),
      pr: n + 1000,
      grantId: grant.id,
      resource,
      requester: alice,
      reviewers: [bob],
      mergedAt: new Date(this.now).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
  }

  /** What the app commits for a revoke (by an approver) or a cancel (by the requester). */
  askRevoke(pick: number, by: { login: string; id: number }, which: (g: Grant) => boolean): void {
    const live = this.remoteGrants().filter(
      (g) => which(g.grant) && !g.grant.revoke_requested && !g.path.includes('/archive/'),
    );
    if (live.length === 0) return;
    const { path, grant } = live[pick % live.length]!;
    const next: Grant = {
      ...grant,
      revoke_requested: { by, at: new Date(this.now).toISOString() },
    };
    this.store.commitOnRemote(
      { [path]: serializeGrant(next) },
      `Revoke ${grant.id}\n\nGatepass-Grant: ${grant.id}\nGatepass-Event: revoke-requested`,
    );
  }

  async apply(a: Action): Promise<void> {
    switch (a.kind) {
      case 'request':
        return this.request(a.resource, a.hours);
      case 'extend': {
        const active = this.remoteGrants().filter(
          (g) => g.grant.status === 'active' && !g.grant.extends,
        );
        if (active.length === 0) return;
        const t = active[a.pick % active.length]!.grant;
        return this.request(t.resource as 'sre' | 'db', a.hours, t.id);
      }
      case 'run':
        await this.run();
        return;
      case 'crash': {
        let seen = 0;
        // The fresh run comes with a later `run` (other things may happen in between: a
        // rename, an approver leaving), or with the final run.
        await this.run((point) => {
          if (point === a.point && seen++ === a.nth) throw new Error('killed');
        });
        return;
      }
      case 'advance':
        this.now += a.minutes * 60_000;
        return;
      case 'revoke':
        // `/revoke` by an approver once the request is merged: active, or not issued yet
        // (merged and pending, approved, or with an issue started and crashed).
        return this.askRevoke(a.pick, bob, (g) =>
          ['active', 'approved', 'pending'].includes(g.status),
        );
      case 'cancel':
        return this.askRevoke(
          a.pick,
          alice,
          (g) => g.status === 'approved' || g.status === 'pending',
        );
      case 'target':
        this.team = this.team === 'acme/sre' ? 'acme/ops' : 'acme/sre';
        this.store.commitOnRemote(
          { 'policies/example.yaml': policy(this.team) },
          'Policy: move sre',
        );
        return;
      case 'rename': {
        const u = this.github.users.get(alice.id)!;
        u.login = u.login === 'alice' ? 'alice-renamed' : 'alice';
        return;
      }
      case 'approver-leaves':
        this.github.teams.get('acme/leads')!.delete(bob.id);
        return;
      case 'approver-returns':
        this.github.addToTeam('acme/leads', bob.id);
        return;
    }
  }

  role(team: Team, id = alice.id): number | null {
    const m = this.github.teams.get(team)?.get(id);
    return m ? RANK[m.role] : null;
  }

  /** Grants that may hold access now: active within their window, or with an issue started. */
  liveOn(team: Team): number[] {
    return this.remoteGrants()
      .map((g) => g.grant)
      .filter(
        (g) =>
          (g.status === 'active' || (g.status === 'approved' && g.issued?.[ISSUE_STARTED_AT])) &&
          String(g.issued?.team ?? '').toLowerCase() === team,
      )
      .map((g) => RANK[(g.issued?.role as 'member' | 'maintainer') ?? 'member']);
  }

  /** access ⊆ pre-existing ∪ live grants, on every team and for per-grant credentials. */
  checkHeld(where: string): void {
    for (const t of TEAMS) {
      const pre = this.start.pre[t] === null ? null : RANK[this.start.pre[t]!];
      const allowed = Math.max(pre ?? -1, ...this.liveOn(t));
      const held = this.role(t) ?? -1;
      if (held > allowed)
        throw new Error(
          `${where}: alice holds ${held} on ${t}, explained ${allowed} (pre ${pre}, live ${JSON.stringify(this.liveOn(t))})`,
        );
    }
    const live = new Set(
      this.remoteGrants()
        .map((g) => g.grant)
        .filter((g) => g.status === 'active' || g.issued?.[ISSUE_STARTED_AT] !== undefined)
        .filter((g) => g.status === 'active' || g.status === 'approved')
        .map((g) => g.id),
    );
    for (const id of this.db.world.keys())
      if (!live.has(id)) throw new Error(`${where}: a credential of ${id} outlived its grant`);
    expect(this.role('acme/sre', 1003)).toBe(0);
    expect(this.unmarked).toEqual([]);
  }

  /** A complete run leaves no grant past its window still holding. */
  checkNothingDue(where: string): void {
    for (const { grant } of this.remoteGrants())
      if (grant.status === 'active' && Date.parse(grant.expires_at!) <= this.now)
        throw new Error(`${where}: ${grant.id} is active past its expiry ${grant.expires_at}`);
  }

  /** After everything ended and one run: exactly the pre-state, every end in git. */
  async checkEnd(): Promise<void> {
    this.github.addToTeam('acme/leads', bob.id);
    this.now += 12 * 3600_000;
    const r = await this.run();
    if (r === 'crashed') throw new Error('unexpected crash');
    expect(r.failures).toEqual([]);
    for (const t of TEAMS)
      expect([t, this.role(t)]).toEqual([
        t,
        this.start.pre[t] === null ? null : RANK[this.start.pre[t]!],
      ]);
    expect([...this.db.world.keys()]).toEqual([]);
    expect(r.drift).toEqual([]);
    // Every grant ended, and its end is a pushed commit with its trailers.
    const ends = new Map<string, string>();
    for (let sha: string | undefined = this.store.remoteHead; sha;) {
      const c: { message: string; parents: string[] } = this.store.commits.get(sha)!;
      const t = parseTrailers(c.message);
      if (t && !ends.has(t.grant)) ends.set(t.grant, t.event);
      sha = c.parents[0];
    }
    for (const { grant, path } of this.remoteGrants()) {
      expect([grant.id, path.includes('/archive/')]).toEqual([grant.id, true]);
      expect(['expired', 'revoked', 'denied', 'cancelled']).toContain(grant.status);
      // An extension is closed in the commit that extends its target (that grant's trailers).
      if (!grant.extends)
        expect(['expired', 'revoked', 'refused', 'denied', 'cancelled']).toContain(
          ends.get(grant.id),
        );
    }
  }
}
