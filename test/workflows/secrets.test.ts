import { describe, it, expect } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PINNED, renderActionWorkflow, renderAppWorkflow } from '../../src/cli/init-files.js';

/**
 * Threat #15: provider admin secrets and the apps' keys must never be reachable by code or
 * workflow definitions from a pull request. For `pull_request*` events GitHub runs the
 * workflow file as the pull request has it, so a job that can see a secret must never run on
 * them, and must sit behind an environment limited to the default branch. Checked on every
 * workflow `gatepass init` writes (both modes, with and without provider secrets) and on this
 * repository's own CI.
 */
const DIR = new URL('../../.github/workflows/', import.meta.url).pathname;

interface Job {
  if?: string;
  environment?: unknown;
  permissions?: unknown;
  steps?: { uses?: string; run?: string; with?: Record<string, unknown> }[];
}
interface Workflow {
  on: Record<string, unknown> | string[] | string;
  permissions?: unknown;
  jobs: Record<string, Job>;
}
const generated = [
  {
    file: 'gatepass.yml (github-team, postgres, ssh)',
    text: renderActionWorkflow({
      org: 'acme',
      repo: 'access',
      branch: 'main',
      targetRepos: [],
      teams: true,
      secrets: ['PROD_PG_ADMIN_URL', 'SSH_CA_KEY'],
      deadlineTimer: 'app',
    }),
  },
  {
    file: 'gatepass.yml (github-collaborator, trunk)',
    text: renderActionWorkflow({
      org: 'acme',
      repo: 'access',
      branch: 'trunk',
      targetRepos: ['infrastructure'],
      teams: false,
      secrets: [],
      deadlineTimer: 'action',
    }),
  },
  {
    file: 'gatepass-app.yml',
    text: renderAppWorkflow({ org: 'acme', repo: 'access', branch: 'main' }),
  },
];
const own = readdirSync(DIR)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => ({ file: f, text: readFileSync(join(DIR, f), 'utf8') }));
const workflows = [...generated, ...own].map((w) => ({ ...w, wf: parse(w.text) as Workflow }));
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
    for (const { wf } of workflows.filter((w) => w.file.startsWith('gatepass.yml'))) {
      expect(triggers(wf).sort()).toEqual(['push', 'schedule', 'workflow_dispatch']);
      for (const job of Object.values(wf.jobs)) expect(job.environment).toBe('gatepass');
    }
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

describe('workflows and the supply chain', () => {
  it('pin every third-party action by full commit sha, with its tag in a comment', () => {
    for (const { file, text } of workflows)
      for (const m of text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)) {
        const [, ref = '', comment = ''] = m;
        if (ref.startsWith('./')) continue;
        expect({ file, ref, pinned: /@[0-9a-f]{40}$/.test(ref) }).toEqual({
          file,
          ref,
          pinned: true,
        });
        expect({ file, ref, tag: /#\s*v\d+(\.\d+)*/.test(comment) }).toEqual({
          file,
          ref,
          tag: true,
        });
      }
    for (const pin of Object.values(PINNED)) expect(pin).toMatch(/@[0-9a-f]{40} # v\d/);
  });

  it('run Node 22 or 24, never the end-of-life Node 20', () => {
    for (const { file, wf } of workflows)
      for (const job of Object.values(wf.jobs))
        for (const step of job.steps ?? [])
          if (step.uses?.startsWith('actions/setup-node@')) {
            const v = String(step.with?.['node-version']);
            expect({ file, v, ok: /^(22|24)$|matrix\.node/.test(v) }).toEqual({
              file,
              v,
              ok: true,
            });
          }
  });

  it('give GITHUB_TOKEN nothing it does not use: no write access except the relay dispatch', () => {
    for (const { file, wf } of workflows) {
      const grants = [wf.permissions, ...Object.values(wf.jobs).map((j) => j.permissions)];
      for (const g of grants) {
        if (g === undefined || g === null) continue;
        for (const [scope, level] of Object.entries(g as Record<string, string>))
          if (level === 'write') expect({ file, scope }).toEqual({ file, scope: 'actions' });
      }
      if (file.startsWith('gatepass.yml')) expect(wf.permissions).toEqual({});
    }
  });
});
