import type { Seconds } from './duration.js';
import type { Principal } from './identity.js';

/** Provider kinds gatepass knows; anything else in a policy is a configuration problem. */
export const PROVIDER_KINDS = [
  'github-team',
  'github-collaborator',
  'postgres',
  'ssh-certificate',
  'command',
  'aws-identity-center',
  'aws-iam-role',
] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** Resource and grant names become path segments and identifiers: keep them boring. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
/** Names that would collide with gatepass's own paths under `grants/`. */
export const RESERVED_NAMES: readonly string[] = ['archive'];

export interface RequestRequirements {
  justification: { required: boolean; min_length: number };
  /** `pattern` is matched against the whole ticket (anchored by gatepass). */
  ticket: { required: boolean; pattern?: string };
}

/** Approve at once, without reviews, when the requester is in one of `requester_in`. */
export interface AutoApproveRule {
  name: string;
  requester_in: Principal[];
  /** Auto-approved grants are capped lower than reviewed ones. */
  max_duration: Seconds;
}

/** Emergency access: granted at once, capped short, reviewed after the fact. */
export interface BreakGlass {
  allowed: Principal[];
  max_duration: Seconds;
  /** The after-the-fact review is overdue after this long. */
  review_within: Seconds;
}

export interface Resource {
  name: string;
  description: string;
  provider: ProviderKind;
  /** Provider-specific; secrets only by reference (`env:NAME`), never inline. */
  target: Record<string, unknown>;
  max_duration: Seconds;
  default_duration: Seconds;
  requesters: Principal[];
  approvers: Principal[];
  approvals_required: number;
  request: RequestRequirements;
  auto_approve: AutoApproveRule[];
  break_glass?: BreakGlass;
  /** A pending request not approved within this is closed. */
  request_ttl: Seconds;
  /**
   * The longest a grant may last in total, extensions included (from issue to final expiry).
   * Defaults to twice `max_duration`.
   */
  max_total_duration: Seconds;
  /**
   * The target may let a grantee create access that outlives the grant (add team members,
   * collaborators, deploy keys, roles). Refused unless the policy says so explicitly.
   */
  allow_lasting_access?: boolean;
  /** Where the resource was defined, for messages. */
  source: { file: string; line?: number };
}

export interface PolicySet {
  resources: ReadonlyMap<string, Resource>;
}

export const DEFAULT_REQUEST_TTL: Seconds = 24 * 60 * 60;
/** `max_total_duration` when a policy names none, as a multiple of `max_duration`. */
export const DEFAULT_TOTAL_FACTOR = 2;
