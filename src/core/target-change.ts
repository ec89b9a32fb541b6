import type { Grant } from './grant.js';
import type { ProviderKind, Resource } from './policy.js';
import type { Problem } from './problem.js';

/*
 * Revoke acts on the target recorded when a grant was issued (`issued` facts), never on the
 * policy's current one. This tells the policy owners when the two differ for a live grant: the
 * grant will end on its old target, and the new target only applies to later grants.
 */

/** Target keys each provider records in `issued`, with the fact's name and the default. */
const RECORDED: Record<ProviderKind, readonly (readonly [string, string, unknown?])[]> = {
  'github-team': [
    ['team', 'team'],
    ['role', 'role', 'member'],
  ],
  'github-collaborator': [
    ['repository', 'repository'],
    ['permission', 'permission'],
  ],
  postgres: [
    ['admin_url', 'admin_url'],
    ['database', 'database'],
    ['roles', 'roles'],
    ['keep_objects', 'keep_objects', false],
  ],
  'ssh-certificate': [
    ['ca_key', 'ca_key'],
    ['principals', 'principals'],
    ['krl_path', 'krl_path', 'ssh/revoked.krl'],
  ],
  command: [['path', 'command']],
  'aws-identity-center': [
    ['region', 'region'],
    ['instance_arn', 'instance_arn'],
    ['account_id', 'account_id'],
    ['permission_set_arn', 'permission_set_arn'],
  ],
  'aws-iam-role': [
    ['role_arn', 'role_arn'],
    ['region', 'region'],
  ],
};

const same = (a: unknown, b: unknown): boolean =>
  Array.isArray(a) && Array.isArray(b)
    ? a.length === b.length && a.every((x, i) => same(x, b[i]))
    : typeof a === 'string' && typeof b === 'string'
      ? a === b || (a.includes('/') && a.toLowerCase() === b.toLowerCase())
      : a === b;

const shown = (v: unknown): string => (Array.isArray(v) ? v.join(', ') : String(v));

/**
 * For a live grant (active, or approved with an issue under way): each target value that
 * differs between what it recorded at issue and the resource now. Grants issued before targets
 * were recorded cannot be compared and give nothing.
 */
export function targetChanges(grant: Grant, resource: Resource): Problem[] {
  if (grant.status !== 'active' && grant.status !== 'approved') return [];
  const facts = grant.issued;
  if (!facts) return [];
  const out: Problem[] = [];
  for (const [key, fact, fallback] of RECORDED[resource.provider]) {
    if (!(fact in facts)) continue;
    const now = resource.target[key] ?? fallback;
    if (same(facts[fact], now)) continue;
    out.push({
      path: `issued.${fact}`,
      message: `resource ${resource.name} changed its target ${key} from ${shown(facts[fact])} to ${shown(now)} while ${grant.id} is live; ${grant.id} ends on ${shown(facts[fact])}, as issued`,
    });
  }
  return out;
}
