import { describe, expect, it } from '@jest/globals';
import { targetChanges } from '../../src/core/target-change.js';
import { buildGrant, buildResource } from '../helpers/github-provider-context.js';

describe('targetChanges: a live grant issued on a target the policy no longer names (finding 5)', () => {
  const team = buildResource({
    name: 'sre',
    provider: 'github-team',
    target: { team: 'acme/other', role: 'member' },
  });
  const issued = { provider: 'github-team', team: 'acme/sre', role: 'member', login: 'alice' };

  it('reports each changed key, saying where the grant will end', () => {
    expect(targetChanges(buildGrant({ id: 'req-1', issued }), team)).toEqual([
      {
        path: 'issued.team',
        message:
          'resource sre changed its target team from acme/sre to acme/other while req-1 is live; req-1 ends on acme/sre, as issued',
      },
    ]);
  });

  it('says nothing when the target is unchanged (defaults and case of names included)', () => {
    const same = buildResource({ provider: 'github-team', target: { team: 'ACME/SRE' } });
    expect(targetChanges(buildGrant({ issued }), same)).toEqual([]);
  });

  it('ignores ended grants and grants issued before targets were recorded', () => {
    expect(targetChanges(buildGrant({ status: 'expired', issued }), team)).toEqual([]);
    expect(targetChanges(buildGrant({ issued: { already_member: false } }), team)).toEqual([]);
  });

  it('compares lists and the recorded command path', () => {
    const db = buildResource({
      name: 'db',
      provider: 'postgres',
      target: { admin_url: 'env:A', database: 'app', roles: ['app_read', 'app_write'] },
    });
    const g = buildGrant({
      id: 'req-2',
      issued: { admin_url: 'env:A', database: 'app', roles: ['app_read'], keep_objects: false },
    });
    expect(targetChanges(g, db).map((p) => p.path)).toEqual(['issued.roles']);
    const cmd = buildResource({
      name: 'vpn',
      provider: 'command',
      target: { path: 'scripts/b.sh' },
    });
    expect(
      targetChanges(buildGrant({ issued: { command: 'scripts/a.sh' } }), cmd).map((p) => p.path),
    ).toEqual(['issued.command']);
  });
});
