import type { Grant } from '../../core/grant.js';
import { ARCHIVE_DIR, GRANTS_DIR } from '../../core/repo-layout.js';
import { unexplainedAccess, type ObservedAccess } from '../../core/ownership.js';
import { REPO_PERMISSIONS } from '../../core/permission.js';
import { parseGrant } from '../../core/grant-file.js';
import type { Resource } from '../../core/policy.js';
import { collaboratorAccess } from '../../providers/github-collaborator.js';
import { grantRecords, type SharedAccess } from '../../providers/github-shared.js';
import { teamAccess } from '../../providers/github-team.js';
import type { LiveAccess } from '../../providers/provider.js';
import type { State } from './state.js';
import { providerContext, safeMessage } from './steps.js';
import type { RunContext } from './types.js';

/** Shared access (held by person and level, not by a credential of its own), by provider kind. */
const SHARED: Record<
  string,
  { spec: SharedAccess; levels: readonly string[]; target(r: Resource): string }
> = {
  'github-team': {
    spec: teamAccess,
    levels: ['member', 'maintainer'],
    target: (r) => String(r.target.team),
  },
  'github-collaborator': {
    spec: collaboratorAccess,
    levels: REPO_PERMISSIONS,
    target: (r) => String(r.target.repository),
  },
};

/**
 * Every grant of the resources with shared access, ended ones included: whether a person's
 * access is explained depends on their latest record there. Reads the archive folders of
 * those resources only (one listing per month folder, one read per archived grant of theirs).
 */
async function sharedGrants(ctx: RunContext, s: State, resources: Set<string>): Promise<Grant[]> {
  const out = s.grants.map((g) => g.grant);
  if (resources.size === 0) return out;
  const root = `${GRANTS_DIR}/${ARCHIVE_DIR}`;
  const paths: string[] = [];
  for (const y of await ctx.history.listDir('HEAD', root)) {
    if (y.type !== 'tree') continue;
    for (const m of await ctx.history.listDir('HEAD', `${root}/${y.name}`)) {
      if (m.type !== 'tree') continue;
      for (const r of await ctx.history.listDir('HEAD', `${root}/${y.name}/${m.name}`)) {
        if (r.type !== 'tree' || !resources.has(r.name)) continue;
        const dir = `${root}/${y.name}/${m.name}/${r.name}`;
        for (const f of await ctx.history.listDir('HEAD', dir))
          if (f.type === 'blob' && f.name.endsWith('.yaml')) paths.push(`${dir}/${f.name}`);
      }
    }
  }
  const texts = await ctx.history.readFiles('HEAD', paths);
  for (const path of paths) {
    const parsed = parseGrant(texts.get(path) ?? '', path);
    // An unreadable archived file explains nothing; the audit reports it.
    if (parsed.ok) out.push(parsed.value);
  }
  return out;
}

/**
 * Access a provider lists that no live grant explains, reported (and removed when asked and the
 * provider can prove it gave it). For per-grant credentials that is an entry whose grant is not
 * live. For shared access (team membership, repository permission) it is access of a person
 * gatepass has a record of on that target, above what their live grants and the pre-state they
 * recorded explain (`unexplainedAccess`): e.g. a membership left behind after every grant ended.
 * Shared access is never removed automatically: gatepass cannot prove who gave it (someone may
 * have added the person by hand since), so it is reported for a person to judge.
 * The run's other results stand whatever happens here: a failure is one `drift` failure per
 * resource.
 */
export async function detectDrift(ctx: RunContext, s: State): Promise<void> {
  const { result, log } = ctx;
  const live = new Set(
    s.grants
      .filter((g) => g.grant.status === 'active' || g.grant.status === 'approved')
      .map((g) => g.grant.id),
  );
  const liveGrants = s.grants.map((g) => g.grant).filter((g) => live.has(g.id));
  const sharedResources = new Set(
    [...s.policies.resources.values()]
      .filter((r) => SHARED[r.provider] && ctx.providerFor(r.provider).list)
      .map((r) => r.name),
  );
  let all: Grant[] | undefined;
  for (const resource of s.policies.resources.values()) {
    const provider = ctx.providerFor(resource.provider);
    if (!provider.list) continue;
    try {
      const pctx = providerContext(ctx, resource, liveGrants);
      const listed = await provider.list(pctx);
      const shared = SHARED[resource.provider];
      const found: { access: LiveAccess; explained?: string; removable: boolean }[] = [];
      if (shared) {
        all ??= await sharedGrants(ctx, s, sharedResources);
        const target = shared.target(resource);
        const observed: (ObservedAccess & { access: LiveAccess })[] = [];
        for (const a of listed) {
          const level = a.level === undefined ? -1 : shared.levels.indexOf(a.level);
          if (!a.person || level < 0) continue;
          observed.push({ person: a.person.id, level, key: a.key, access: a });
        }
        for (const u of unexplainedAccess(observed, grantRecords(all, shared.spec, target))) {
          const o = observed.find((x) => x.key === u.key && x.person === u.person)!;
          found.push({
            access: o.access,
            explained: u.explained === null ? 'none' : shared.levels[u.explained]!,
            removable: false,
          });
        }
      } else {
        for (const access of listed)
          if (access.unexplained || (access.grantId !== undefined && !live.has(access.grantId)))
            found.push({ access, removable: !access.unexplained || access.grantId !== undefined });
      }
      for (const { access, explained, removable } of found) {
        let removed = false;
        if (removable && ctx.options.removeDrift && provider.removeDrift) {
          await provider.removeDrift(access, pctx);
          removed = true;
        }
        result.drift.push({
          resource: resource.name,
          access,
          removed,
          ...(explained !== undefined ? { explained } : {}),
        });
        log(
          `drift on ${resource.name}: ${access.description} has no live grant${explained !== undefined ? ` (gatepass accounts for ${explained})` : ''}${removed ? ' (removed)' : ''}`,
        );
      }
    } catch (e) {
      result.failures.push({ grant: resource.name, step: 'drift', message: safeMessage(e) });
    }
  }
}
