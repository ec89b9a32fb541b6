import { describe, it, expect } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Threat #15: provider admin secrets and the app's key must never be reachable by code or
 * workflow definitions from a pull request. For `pull_request*` events GitHub runs the
 * workflow file as the pull request has it, so a job that can see a secret must never run on
 * them, and must sit behind an environment limited to the default branch.
 */
const DIR = new URL('../../.github/workflows/', import.meta.url).pathname;

interface Workflow {
  on: Record<string, unknown> | string[] | string;
  jobs: Record<string, { if?: string; environment?: unknown; steps?: unknown[] }>;
}
const workflows = readdirSync(DIR)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => ({ file: f, text: readFileSync(join(DIR, f), 'utf8') }))
  .map((w) => ({ ...w, wf: parse(w.text) as Workflow }));
const triggers = (wf: Workflow): string[] =>
  typeof wf.on === 'string' ? [wf.on] : Array.isArray(wf.on) ? wf.on : Object.keys(wf.on);
const PR_EVENTS = ['pull_request', 'pull_request_review', 'pull_request_review_comment'];

describe('workflows and secrets (threat #15)', () => {
  it('never use pull_request_target', () => {
    for (const { file, wf } of workflows)
      expect([file, triggers(wf)]).not.toContainEqual([
        file,
        expect.arrayContaining(['pull_request_target']),
      ]);
  });

  it('run the issuing action only on push, schedule and manual dispatch, in a protected environment', () => {
    const { wf } = workflows.find((w) => w.file === 'gatepass.yml')!;
    expect(triggers(wf).sort()).toEqual(['push', 'schedule', 'workflow_dispatch']);
    for (const job of Object.values(wf.jobs)) expect(job.environment).toBeDefined();
  });

  it('keep every job that can see a secret away from pull request events, behind an environment', () => {
    for (const { file, wf } of workflows) {
      const prTriggered = triggers(wf).some((t) => PR_EVENTS.includes(t));
      for (const [name, job] of Object.entries(wf.jobs)) {
        if (!JSON.stringify(job).includes('secrets.')) continue;
        expect({ file, name, environment: job.environment !== undefined }).toEqual({
          file,
          name,
          environment: true,
        });
        if (prTriggered)
          for (const event of PR_EVENTS.filter((e) => triggers(wf).includes(e)))
            expect({ file, name, if: job.if }).toEqual({
              file,
              name,
              if: expect.stringContaining(`github.event_name != '${event}'`),
            });
      }
    }
  });
});
