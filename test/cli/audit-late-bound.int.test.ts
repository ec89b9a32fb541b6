import { afterEach, describe, expect, it } from '@jest/globals';
import type { AuditReport } from '../../src/engine/audit/render.js';
import { AuditHistoryBuilder } from '../helpers/audit-history.js';
import { dave } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';

let h: AuditHistoryBuilder | undefined;
afterEach(() => h?.cleanup());

async function lateEnds(b: AuditHistoryBuilder, extra: string[]) {
  b.flush();
  const run = await runCli(
    ['audit', b.dir, '--verify', '--json', '--now', '2031-01-01T00:00:00Z', ...extra],
    b.dir,
  );
  const report = JSON.parse(run.out) as AuditReport;
  return report.findings!.filter((f) => f.kind === 'late-end');
}

describe('audit --verify: how late an end may be', () => {
  it('allows one interval (5 min) by default, 2 min when the app keeps the deadlines', async () => {
    const b = (h = await AuditHistoryBuilder.create());
    b.approve({ id: 'req-1', requester: dave });
    b.tick(1).issue('req-1');
    // Expires 60 min after issue; ended 3 minutes late.
    b.tick(60 + 3).end('req-1', 'expired');
    expect(await lateEnds(b, [])).toEqual([]);
    const app = await lateEnds(b, ['--deadline-timer', 'app']);
    expect(app.map((f) => f.grant)).toEqual(['prod-db/req-1']);
    expect(app[0]!.message).toMatch(
      /stayed live 3m\d*s? past its expiry .* more than the 2m bound \(lateness 18\d s\)/,
    );
    // An explicit bound wins over the timer's default.
    expect(await lateEnds(b, ['--deadline-timer', 'app', '--sweep', '5m'])).toEqual([]);
  });

  it('refuses an unknown timer', async () => {
    const b = (h = await AuditHistoryBuilder.create());
    const run = await runCli(['audit', b.dir, '--deadline-timer', 'cron'], b.dir);
    expect(run.code).toBe(2);
    expect(run.err).toContain('--deadline-timer is app or action');
  });
});
