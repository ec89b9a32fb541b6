import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Issue #13: actions/checkout leaves its token in .git/config by default, where a `command`
 * provider script (or anything else the job runs) can read it. Every shipped workflow checks
 * out without persisting it; the action hands git the token through its environment instead.
 */
const DIR = new URL('../../.github/workflows/', import.meta.url).pathname;

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
const checkouts = readdirSync(DIR)
  .filter((f) => f.endsWith('.yml'))
  .flatMap((file) => {
    const wf = parse(readFileSync(join(DIR, file), 'utf8')) as {
      jobs: Record<string, { steps?: Step[] }>;
    };
    return Object.entries(wf.jobs).flatMap(([job, j]) =>
      (j.steps ?? [])
        .filter((s) => s.uses?.startsWith('actions/checkout@'))
        .map((s) => ({ where: `${file} ${job}`, step: s })),
    );
  });

describe('shipped workflows', () => {
  it('check out with persist-credentials: false', () => {
    expect(checkouts.length).toBeGreaterThanOrEqual(3);
    for (const { where, step } of checkouts)
      expect([where, step.with?.['persist-credentials']]).toEqual([where, false]);
  });
});
