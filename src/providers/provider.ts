import type { Grant } from '../core/grant.js';
import type { Resource, ProviderKind } from '../core/policy.js';
import type { Problem } from '../core/problem.js';
import type { Clock } from '../core/clock.js';
import type { Person } from '../core/identity.js';
import type { ProviderGitHub } from '../core/ports.js';

/** What a provider reports after issuing: facts recorded in the grant (never a secret). */
export interface Issued {
  /** Non-secret facts kept in the grant file under `issued`. */
  facts: Record<string, string | number | boolean | string[]>;
  /**
   * Something to deliver to the requester on the request issue (a certificate, or a password
   * already encrypted to their SSH keys). Never plaintext secrets.
   */
  delivery?: { title: string; body: string };
}

/** Access that exists in the target; drift is any that no active grant explains. */
export interface LiveAccess {
  /** The grant id the access belongs to, when the provider can tell. */
  grantId?: string;
  /** Human-readable description of the access, e.g. `team acme/sre: alice`. */
  description: string;
  /** Provider-specific key passed back to `removeDrift`. */
  key: string;
  /** The GitHub account holding shared access (team member, collaborator), for drift checks. */
  person?: { login: string; id: number };
  /** The level of that access (`member`/`maintainer`, or a repository permission). */
  level?: string;
  /**
   * The provider knows that no live grant explains this access even though it has no grant id
   * for it (an AWS account assignment of a user gatepass maps, held by no live grant).
   */
  unexplained?: boolean;
}

/**
 * Something created during a grant's window that can give access after it ends (a team member
 * added, a collaborator, an invitation, a deploy key, a webhook). Reported, never removed:
 * gatepass cannot tell who made it or why.
 */
export interface Residue {
  kind:
    'team-member' | 'team-invitation' | 'collaborator' | 'invitation' | 'deploy-key' | 'webhook';
  description: string;
  /** When it was created, where GitHub says (members and collaborators carry no date). */
  created_at?: string;
}

/** Everything a provider may touch, injected so providers stay testable. */
export interface ProviderContext {
  resource: Resource;
  /** Environment to resolve `env:NAME` references from (secrets live only here). */
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  /** Registers a value to be masked in logs (the Action's `setSecret`). */
  mask(secret: string): void;
  /** Grants that are live for the same resource (to keep shared access until the last ends). */
  liveGrants: readonly Grant[];
  log(message: string): void;
  /** The requester's public SSH keys as published on GitHub (`GET /users/{username}/keys`). */
  publicKeys(person: Person): Promise<string[]>;
  /**
   * Root of the access repo's checkout. Providers may write files below it (the SSH KRL); the
   * caller commits them with the grant's state change.
   */
  workdir: string;
  /** The GitHub API, for providers that grant GitHub access (github-team, github-collaborator). */
  github?: ProviderGitHub;
  /** Answers read earlier in the same step (see `StepReads`); absent outside the engine. */
  stepReads?: StepReads;
}

/**
 * Answers a provider read earlier in the same step. `prepareIssue` observes the pre-state, the
 * engine pushes the `issuing` marker, and `issue` acts: milliseconds apart, so `issue` takes the
 * answer instead of asking GitHub a second time. A stale answer can only make `issue` skip an add
 * or add again (the person ends with less access, never more than the grant). A resumed issue (a
 * later run, after a crash) has none and asks afresh.
 */
export class StepReads {
  private readonly answers = new Map<string, unknown>();

  put(key: string, value: unknown): void {
    this.answers.set(key, value);
  }

  /** The answer under `key`, once (a second `take` asks GitHub again); undefined when none. */
  take<T>(key: string): { value: T } | undefined {
    if (!this.answers.has(key)) return undefined;
    const value = this.answers.get(key) as T;
    this.answers.delete(key);
    return { value };
  }
}

export interface Provider {
  readonly kind: ProviderKind;
  /** Checks the provider-specific `target` of a resource at policy validation time. Pure. */
  validateTarget(target: Record<string, unknown>): Problem[];
  /**
   * Observes the access the requester has before gatepass acts (e.g. an existing team
   * membership). The action commits these facts under `grant.issued` BEFORE calling `issue`, so
   * a retry after a crash between the effect and its commit reads the true pre-state from the
   * grant instead of mistaking access gatepass gave for access the person already had.
   * Providers whose access is per grant (a role or certificate of its own) need none.
   */
  prepareIssue?(grant: Grant, ctx: ProviderContext): Promise<Issued['facts']>;
  /**
   * Idempotent by grant id: issuing an already-issued grant must not create a second credential.
   * `grant.issued` holds what `prepareIssue` observed (and the action's `issue_started_at`) when
   * this is the first attempt or a retry.
   */
  issue(grant: Grant, ctx: ProviderContext): Promise<Issued>;
  /**
   * Moves the native expiry of an issued grant to `grant.expires_at` (an approved extension),
   * keeping the same credential: no revoke, no re-issue. Idempotent. Providers whose access has
   * no native expiry (GitHub team or repository access, which the sweep ends) leave it out.
   * May return new facts and a delivery (e.g. re-signed certificates).
   */
  extend?(grant: Grant, ctx: ProviderContext): Promise<Issued | void>;
  /**
   * Idempotent; succeeds when the access is already gone. May return facts about what it did
   * (e.g. the deny that ended AWS role sessions), merged into `grant.issued` by the commit that
   * ends the grant.
   */
  revoke(grant: Grant, ctx: ProviderContext): Promise<Issued['facts'] | void>;
  /**
   * For resources with `allow_lasting_access`: what was created on the grant's recorded target
   * during its window (`issued_at` to `ended_at`, or now) that can outlive it. The engine
   * reports it in the job summary and the audit.
   */
  residue?(grant: Grant, ctx: ProviderContext): Promise<Residue[]>;
  /**
   * Connects to the target and reports what would go wrong or is unsafe before any grant
   * (`gatepass validate --check-targets`): problems fail validation, warnings do not (e.g. a
   * PostgreSQL superuser admin; an AWS permission set whose session outlives `max_duration`).
   */
  checkTarget?(ctx: ProviderContext): Promise<{ problems: string[]; warnings: string[] }>;
  /**
   * Paths below the access repo's checkout the provider writes (the SSH KRL): the engine commits
   * them with the step's grant files, and nothing else the provider left in the tree.
   */
  files?(resource: Resource): string[];
  /** Lists access the provider created, for drift detection. */
  list?(ctx: ProviderContext): Promise<LiveAccess[]>;
  /** Removes access found by `list` that no active grant explains. */
  removeDrift?(access: LiveAccess, ctx: ProviderContext): Promise<void>;
}

/** Resolves an `env:NAME` reference from the context's environment. */
export function resolveSecretRef(ref: unknown, env: ProviderContext['env']): string | undefined {
  if (typeof ref !== 'string' || !ref.startsWith('env:')) return undefined;
  const v = env[ref.slice(4)];
  return v === undefined || v === '' ? undefined : v;
}
