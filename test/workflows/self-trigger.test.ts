import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { renderActionWorkflow } from '../../src/cli/init-files.js';
import { fixedClock } from '../../src/core/clock.js';
import { grantPath, serializeGrant } from '../../src/core/grant-file.js';
import { reconcile } from '../../src/engine/reconcile/index.js';
import { landMergedRequest, MemoryGitHub, MemoryGrantStore } from '../helpers/memory-ports.js';
import { FakeProvider, POLICY, alice, bob } from '../helpers/reconcile.js';

/**
 * The action's own pushes must not start a run of the workflow (each would cost a runner, an
 * app token and API calls, and find nothing to do), while a merged grant PR must.
 */
// The gatepass.yml `gatepass init` writes into access repos.
const WORKFLOW = renderActionWorkflow({
  org: 'acme',
  repo: 'access',
  branch: 'main',
  targetRepos: [],
  teams: true,
  secrets: [],
  deadlineTimer: 'action',
});
const job = (parse(WORKFLOW) as { jobs: Record<string, { if?: string }> }).jobs.reconcile!;

/** The job's condition for a push event whose head commit has `message`. */
function runsOnPush(message: string): boolean {
  const m =
    /^\$\{\{ github\.event_name != 'push' \|\| !startsWith\(github\.event\.head_commit\.message, '([^']+)'\) \}\}$/.exec(
      job.if ?? '',
    );
  if (!m) throw new Error(`unexpected job condition: ${job.if}`);
  return !message.startsWith(m[1]!);
}

describe('the workflow and the action’s own pushes', () => {
  it('skips a push of any commit the action makes, through a whole lifecycle', async () => {
    const store = new MemoryGrantStore({ 'policies/example.yaml': POLICY }, 'Policies');
    const github = new MemoryGitHub().addUser(alice).addUser(bob);
    const provider = new FakeProvider();
    const grant = {
      id: 'req-1',
      resource: 'prod-db',
      requester: alice,
      duration: 3600,
      justification: 'Investigating slow checkout queries (INC-7)',
      source: { issue: 1, pull_request: 1001 },
      policy_commit: store.remoteHead,
      status: 'pending' as const,
      requested_at: '2030-01-01T10:00:00.000Z',
    };
    const before = new Set(store.commits.keys());
    landMergedRequest(store, github, {
      path: grantPath(grant.resource, grant.id),
      text: serializeGrant(grant),
      pr: 1001,
      grantId: grant.id,
      resource: grant.resource,
      requester: alice,
      reviewers: [bob],
      mergedAt: '2030-01-01T10:05:00Z',
    });
    const merges = [...store.commits.keys()].filter((c) => !before.has(c));
    const mergedAt = new Set(store.commits.keys());
    for (const at of ['2030-01-01T10:10:00Z', '2030-01-01T12:00:00Z'])
      await reconcile({
        history: store,
        writer: store,
        github,
        branch: 'main',
        clock: fixedClock(at),
        env: {},
        mask: () => {},
        log: () => {},
        provider: () => provider,
      });
    const own = [...store.commits.entries()].filter(([c]) => !mergedAt.has(c));
    // approve, issuing, issued, expired
    expect(own).toHaveLength(4);
    for (const [, c] of own) expect(runsOnPush(c.message)).toBe(false);
    // The merge of the grant PR starts the run that issues.
    for (const c of merges) expect(runsOnPush(store.commits.get(c)!.message)).toBe(true);
  });

  it('runs for a merge commit as the app titles it', () => {
    expect(runsOnPush('Grant prod-db to alice (req-1) (#1001)\n\nGatepass-Grant: req-1')).toBe(
      true,
    );
  });
});
