import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { landGrant, pendingGrant, setupRepo, type TestRepo } from '../helpers/reconcile.js';

let repo: TestRepo;
beforeEach(async () => {
  repo = await setupRepo();
});
afterEach(() => repo.cleanup());

it('gatepass reconcile --dry-run prints the plan of a checkout without a token', async () => {
  await landGrant(repo, pendingGrant(repo, 7), 1007);
  await repo.repo.fetch('origin', 'main');
  await repo.repo.resetHard('refs/remotes/origin/main');
  const r = await runCli(['reconcile', '.', '--dry-run', '--at', '2030-01-01T10:06:00Z'], repo.dir);
  expect(r).toEqual({
    code: 0,
    out: 'verify prod-db/req-7: check its pull request and approvals, then approve (or refuse)\n',
    err: '',
  });
});

it('reports corrupt grant files with file and line, and exits 1', async () => {
  repo.write('grants/prod-db/req-8.yaml', 'id: req-8\nstatus: [\n');
  await repo.repo.add(['grants']);
  await repo.repo.commit('corrupt');
  const r = await runCli(['reconcile', '--dry-run'], repo.dir);
  expect(r.code).toBe(1);
  expect(r.out).toBe('nothing to do\n');
  expect(r.err).toMatch(/^grants\/prod-db\/req-8\.yaml:\d+: /);
});

it('refuses to run without --dry-run', async () => {
  const r = await runCli(['reconcile'], repo.dir);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/only runs with --dry-run/);
});
