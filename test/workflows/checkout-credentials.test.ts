import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderActionWorkflow, renderAppWorkflow } from '../../src/cli/init-files.js';

/**
 * Issue #13: actions/checkout leaves its token in .git/config by default, where a `command`
 * provider script (or anything else the job runs) can read it. Every workflow we ship or generate checks
 * out without persisting it; the action hands git the token through its environment instead.
 */
const DIR = new URL('../../.github/workflows/', import.meta.url).pathname;

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
// This repository's own CI, and the workflows `gatepass init` writes into access repos.
const init = { org: 'acme', repo: 'access', branch: 'main' };
const files: [string, string][] = [
  ...readdirSync(DIR)
    .filter((f) => f.endsWith('.yml'))
    .map((f): [string, string] => [f, readFileSync(join(DIR, f), 'utf8')]),
  ...(['app', 'action'] as const).map((t): [string, string] => [
    `gatepass.yml (init, deadline-timer ${t})`,
    renderActionWorkflow({ ...init, targetRepos: [], teams: true, secrets: [], deadlineTimer: t }),
  ]),
  ['gatepass-app.yml (init)', renderAppWorkflow(init)],
];
const checkouts = files.flatMap(([file, text]) => {
  const wf = parse(text) as {
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
