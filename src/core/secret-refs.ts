import type { PolicySet, Resource } from './policy.js';

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * The names of the secrets a resource needs from the action's environment: every `env:NAME`
 * in its target, and a `command` target's `env` list. Names only: values never leave GitHub.
 */
export function secretNames(resource: Resource): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = ENV_REF.exec(v);
      if (m?.[1]) names.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(resource.target);
  const target = resource.target as { env?: unknown };
  if (resource.provider === 'command' && Array.isArray(target.env))
    for (const n of target.env) if (typeof n === 'string') names.add(n);
  return [...names].sort();
}

export function policySecretNames(policies: PolicySet): string[] {
  return [...new Set([...policies.resources.values()].flatMap(secretNames))].sort();
}
