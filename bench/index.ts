import { writeFile, mkdir } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import type { Bench, BenchRow } from './types.js';
import { reconcileBench } from './reconcile.bench.js';
import { auditBench } from './audit.bench.js';
import { lifecycleBench } from './lifecycle.bench.js';
import { webhookBench } from './webhook.bench.js';
import { revocationPostgresBench } from './revocation-postgres.bench.js';
import { revocationSshBench } from './revocation-ssh.bench.js';
import { revocationSweepBench } from './revocation-sweep.bench.js';
import { revocationTimerBench } from './revocation-timer.bench.js';
import { actionStartBench } from './action-start.bench.js';
import { QUICK } from './support/scale.js';

/**
 * `npm run bench`: runs every measurement in one go and prints one table (and JSON, to compare
 * across commits). A missed target is shown in the table; it never fails the run. A bench that
 * throws does: the run exits 1, so the quick mode in `npm test` catches a bench that rotted.
 */
const benches: Bench[] = [
  // Each area registers its benchmark here.
  reconcileBench,
  auditBench,
  lifecycleBench,
  webhookBench,
  revocationPostgresBench,
  revocationSshBench,
  revocationSweepBench,
  revocationTimerBench,
  actionStartBench,
];

function table(rows: BenchRow[]): string {
  const header = ['figure', 'baseline', 'measured', 'ratio', 'target', 'met'];
  const body = rows.map((r) => [
    r.figure,
    r.baseline,
    r.measured,
    r.ratio === undefined ? '' : r.ratio.toFixed(2),
    r.target,
    r.met === null ? 'n/a' : r.met ? 'yes' : 'NO',
  ]);
  const lines = [header, header.map(() => '---'), ...body].map(
    (cells) => `| ${cells.join(' | ')} |`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  let failed = 0;
  const rows: BenchRow[] = [];
  for (const b of benches) {
    if (only.length > 0 && !only.includes(b.name)) continue;
    process.stderr.write(`bench: ${b.name}…\n`);
    const started = Date.now();
    try {
      rows.push(...(await b.run()));
    } catch (e) {
      failed += 1;
      process.stderr.write(`bench: ${b.name} FAILED: ${(e as Error).stack ?? String(e)}\n`);
      rows.push({
        figure: b.name,
        baseline: '',
        measured: `failed: ${(e as Error).message}`,
        target: '',
        met: false,
      });
    }
    process.stderr.write(
      `bench: ${b.name} done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
    );
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
  process.stdout.write(
    `${table(rows)}\n\nmachine: ${machine}${QUICK ? ' (quick mode: small sizes, figures not comparable)' : ''}\n`,
  );
  if (!QUICK) {
    await mkdir('bench-results', { recursive: true });
    await writeFile(
      'bench-results/latest.json',
      JSON.stringify({ machine, at: new Date().toISOString(), rows }, null, 2) + '\n',
    );
  }
  if (failed > 0) {
    process.stderr.write(`bench: ${failed} bench(es) failed\n`);
    process.exitCode = 1;
  }
}

await main();
