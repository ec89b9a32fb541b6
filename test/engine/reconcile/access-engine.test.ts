import { describe, expect, it } from '@jest/globals';
import { formatProblem } from '../../../src/core/problem.js';
import { buildAuditReport } from '../../../src/engine/audit/build.js';
import { alice, policy, World } from '../../helpers/access-world.js';

/**
 * Issue #13, engine half: drift by ownership records, target changes reported and ended on the
 * recorded target, residue found at a grant's end. The real engine and the real github-team
 * provider over in-memory GitHub.
 */
const NONE = { pre: { 'acme/sre': null, 'acme/ops': null } } as const;
const ok = <T>(r: T | 'crashed'): T => {
  if (r === 'crashed') throw new Error('unexpected crash');
  return r;
};

describe('drift detection by ownership records', () => {
  it('reports a membership no live grant and no recorded pre-state explains, and never removes it', async () => {
    const w = new World(NONE);
    w.request('sre', 1);
    ok(await w.run());
    expect(w.role('acme/sre')).toBe(0);
    w.now += 2 * 3600_000;
    ok(await w.run());
    expect(w.role('acme/sre')).toBeNull();
    // Someone puts alice back by hand after every grant ended: no grant id says it is drift.
    w.github.addToTeam('acme/sre', alice.id);
    const r = ok(await w.run({ removeDrift: true }));
    expect(
      r.drift.map((d) => [d.resource, d.access.person?.login, d.explained, d.removed]),
    ).toEqual([['sre', 'alice', 'none', false]]);
    // Not removed: gatepass cannot prove it gave it. carol, with no record, is not judged.
    expect(w.role('acme/sre')).toBe(0);
    expect(w.log.some((l) => l.includes('drift on sre: team acme/sre: alice'))).toBe(true);
  });

  it('reports nothing while a live grant or the pre-state explains the access', async () => {
    const w = new World({ pre: { 'acme/sre': null, 'acme/ops': 'maintainer' } });
    w.request('sre', 1);
    const r = ok(await w.run());
    expect(r.drift).toEqual([]);
    w.now += 2 * 3600_000;
    expect(ok(await w.run()).drift).toEqual([]);
  });
});

describe('a target changed while grants are live', () => {
  it('is reported by reconcile, and the grant ends on the team it was issued on', async () => {
    const w = new World({ pre: { 'acme/sre': null, 'acme/ops': 'member' } });
    w.request('sre', 1);
    ok(await w.run());
    await w.apply({ kind: 'target' });
    const r = ok(await w.run());
    expect(r.problems.map(formatProblem).join('\n')).toContain(
      'resource sre changed its target team from acme/sre to acme/ops while req-1 is live; req-1 ends on acme/sre, as issued',
    );
    w.now += 2 * 3600_000;
    ok(await w.run());
    expect(w.role('acme/sre')).toBeNull();
    // Her own membership of the new target is not taken.
    expect(w.role('acme/ops')).toBe(0);
  });
});

describe('residue of a grant with allow_lasting_access', () => {
  it('is looked for at the end, reported in the result, kept in the end commit and found by audit --verify', async () => {
    const w = new World(NONE);
    w.store.commitOnRemote(
      {
        'policies/example.yaml': policy('acme/sre').replace(
          'target: { team: acme/sre, role: member }',
          'target: { team: acme/sre, role: maintainer }\n    allow_lasting_access: true',
        ),
      },
      'Policy: sre maintainers may add members',
    );
    w.request('sre', 1);
    ok(await w.run());
    expect(w.role('acme/sre')).toBe(1);
    // During the window, the maintainer adds a friend and invites another.
    w.github.addUser({ login: 'mallory', id: 1666 }).addToTeam('acme/sre', 1666);
    w.github.dated.teamInvitations.push({
      id: 1,
      name: 'trudy',
      created_at: new Date(w.now + 60_000).toISOString(),
    });
    w.now += 2 * 3600_000;
    const r = ok(await w.run());
    expect(w.role('acme/sre')).toBeNull();
    expect(r.residue.map((x) => [x.grant, x.residue.kind, x.residue.description])).toEqual([
      ['req-1', 'team-member', 'mallory joined acme/sre'],
      ['req-1', 'team-invitation', 'trudy was invited to acme/sre'],
    ]);
    expect(w.remoteGrant('req-1')?.issued?.residue).toEqual([
      'team-member: mallory joined acme/sre',
      'team-invitation: trudy was invited to acme/sre',
    ]);
    const report = await buildAuditReport(w.store, { verify: true, now: new Date(w.now) });
    const residue = (report.findings ?? []).filter((f) => f.kind === 'residue');
    expect(residue.map((f) => [f.grant, f.severity])).toEqual([['sre/req-1', 'error']]);
    expect(residue[0]!.message).toContain('mallory joined acme/sre');
    // Recording the residue in the end commit is not mistaken for a change of the grant.
    const kinds = (report.findings ?? []).map((f) => f.kind);
    for (const k of ['widened', 'impossible-timeline', 'invalid-grant-file'] as const)
      expect(kinds).not.toContain(k);
  });
});
