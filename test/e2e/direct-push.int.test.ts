import { describe, expect, it, jest } from '@jest/globals';
import { serializeGrant } from '../../src/core/grant-file.js';
import type { Grant } from '../../src/core/grant.js';
import { audit, grantOnMain, mainSha, roleExists, runAction } from '../../demo/steps.js';
import { JUSTIFICATION, useWorld } from '../helpers/e2e.js';

// End to end: PostgreSQL, the app and the action per test; slow on a loaded machine.
jest.setTimeout(120_000);

const world = useWorld();

describe('a grant pushed straight to the default branch (threat #5)', () => {
  it('is refused by the action and flagged by audit --verify', async () => {
    const w = await world.start();
    // alice can push to main (an admin bypass, a broken branch protection): she writes herself a grant.
    const grant: Grant = {
      id: 'req-99',
      resource: 'prod-db',
      requester: { login: 'alice', id: 101 },
      duration: 3600,
      justification: JUSTIFICATION,
      ticket: 'INC-7',
      source: { issue: 99, pull_request: 100 },
      policy_commit: await mainSha(w),
      status: 'pending',
      requested_at: w.clock.now().toISOString(),
    };
    const pushed = await w.gh.as('alice').push({
      branch: 'main',
      files: { 'grants/prod-db/req-99.yaml': serializeGrant(grant) },
      message: 'Grant prod-db to alice',
    });

    const run = await runAction(w);
    expect(run.events.map((e) => `${e.grant} ${e.event}`)).toEqual(['req-99 refused']);
    expect(await roleExists(w, 'req-99')).toBe(false);
    const refused = await grantOnMain(w, 'req-99', 'prod-db');
    expect(refused).toMatchObject({ status: 'denied' });
    expect(refused!.end_reason).toMatch(/^refused: /);
    // The action asked GitHub about the pull request the grant claims; it does not exist.
    expect(w.gh.requests.filter((r) => r.operationId === 'pulls/get').map((r) => r.status)).toEqual(
      [404],
    );

    const report = await audit(w);
    expect(report.code).toBe(1);
    expect(report.out).toMatch(
      new RegExp(
        `ERROR direct-push ${pushed.slice(0, 12)}: prod-db/req-99 changed without gatepass trailers \\(a direct push; the author claims to be alice`,
      ),
    );
  });
});
