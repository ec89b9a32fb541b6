import { execFile } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';

/**
 * The bench cannot rot: every bench runs here at small sizes (`npm run bench -- --quick`). A
 * missed target is the full run's business; a bench that throws fails this test.
 */
describe('npm run bench -- --quick', () => {
  it('runs every bench to the end and prints its rows', async () => {
    const { code, stdout, stderr } = await new Promise<{
      code: number;
      stdout: string;
      stderr: string;
    }>((resolve) =>
      execFile(
        'bash',
        ['scripts/bench.sh', '--quick'],
        { timeout: 240_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      ),
    );
    if (code !== 0) throw new Error(`bench failed (exit ${code}):\n${stderr.slice(-4000)}`);
    expect(stdout).not.toMatch(/\| failed: /);
    for (const name of [
      'dry-run reconcile',
      'real run, cost per revocation step',
      'audit --json --verify, 100 grants / 501 commits, spread over a year',
      'audit --json --verify',
      'GitHub API calls per full lifecycle',
      'app: issues.opened',
      'revocation latency, PostgreSQL',
      'revocation latency, SSH certificate',
      'revocation latency, GitHub team',
      'action bundle: cold start',
    ])
      expect(stdout).toContain(name);
  }, 300_000);
});
