import { renderActionWorkflow } from '../../src/cli/init-files.js';

/** The gatepass.yml `gatepass init` writes for an access repo (what adopters run). */
export function generatedActionWorkflow(deadlineTimer: 'app' | 'action' = 'action'): string {
  return renderActionWorkflow({
    org: 'acme',
    repo: 'access',
    branch: 'main',
    targetRepos: [],
    teams: true,
    secrets: [],
    deadlineTimer,
  });
}

export const WORKFLOW = 'the gatepass.yml `gatepass init` writes';

/** The schedule of that workflow, `*\/N * * * *`, in seconds. */
export function scheduleInterval(): number {
  const m = /cron:\s*'\*\/(\d+) \* \* \* \*'/.exec(generatedActionWorkflow());
  if (!m) throw new Error(`${WORKFLOW}: no */N-minute cron schedule found`);
  return Number(m[1]) * 60;
}
