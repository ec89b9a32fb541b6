import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { landGrant, pendingGrant, setupRepo, type TestRepo } from '../test/helpers/reconcile.js';
import { median, ms } from './support/stats.js';
import { scale } from './support/scale.js';
import type { Bench, BenchRow } from './types.js';

/**
 * Cold start of the committed action bundle: from spawning `node action/dist/index.js` to its
 * first request to the GitHub API, which it makes to verify a freshly merged grant (after reading
 * inputs, fetching the access repo and planning). The API is a local HTTP server that notes the
 * time of the first request; the bench then stops the action. Baseline: `node -e ''` to exit.
 */
const RUNS = scale(7, 1);
const BUNDLE = 'action/dist/index.js';

interface FirstRequest {
  server: Server;
  url: string;
  /** Resolves with the time and path of the next request. */
  next(): Promise<{ at: number; path: string }>;
}

async function apiServer(): Promise<FirstRequest> {
  let waiting: ((r: { at: number; path: string }) => void) | undefined;
  const server = createServer((req, res) => {
    const at = performance.now();
    waiting?.({ at, path: `${req.method} ${req.url}` });
    waiting = undefined;
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"message":"bench"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    next: () => new Promise((r) => (waiting = r)),
  };
}

/** Wall time of `node <args>` to exit, with an empty environment but PATH. */
function nodeRun(args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: 'ignore',
      env: { PATH: process.env.PATH ?? '' },
    });
    child.on('error', reject);
    child.on('exit', () => resolve(performance.now() - t0));
  });
}

async function actionToFirstCall(
  api: FirstRequest,
  repo: TestRepo,
): Promise<{ took: number; path: string }> {
  const first = api.next();
  const t0 = performance.now();
  const child = spawn(process.execPath, [BUNDLE], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      GITHUB_WORKSPACE: repo.dir,
      GITHUB_REPOSITORY: 'acme/access',
      GITHUB_API_URL: api.url,
      INPUT_TOKEN: 'ghs_benchbenchbenchbenchbench000000',
      INPUT_BRANCH: 'main',
    },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const outcome = await Promise.race([
    first.then((f) => ({ ...f, exit: undefined })),
    exited.then((exit) => ({ at: 0, path: '', exit })),
  ]);
  if (outcome.exit !== undefined)
    throw new Error(`the action exited (${outcome.exit}) before calling the API:\n${output}`);
  child.kill('SIGKILL');
  await exited;
  return { took: outcome.at - t0, path: outcome.path };
}

export const actionStartBench: Bench = {
  name: 'action-start',
  async run(): Promise<BenchRow[]> {
    const repo = await setupRepo();
    const api = await apiServer();
    try {
      const grant = pendingGrant(repo, 1);
      await landGrant(repo, grant, 1001);
      const base: number[] = [];
      const load: number[] = [];
      const action: number[] = [];
      let path = '';
      // Interleaved, so a slow moment of the machine hits both alike.
      for (let i = 0; i < RUNS; i++) {
        base.push(await nodeRun(['-e', '']));
        // Without inputs the bundle stops at once: this is loading it, and nothing else.
        load.push(await nodeRun([BUNDLE]));
        const r = await actionToFirstCall(api, repo);
        action.push(r.took);
        path = r.path;
      }
      const b = median(base);
      const a = median(action);
      const l = median(load);
      return [
        {
          figure: 'action bundle: cold start to first API call',
          baseline: `node -e '' to exit: ${ms(b, 0)}`,
          measured: `${ms(a, 0)}, +${ms(a - b, 0)} over bare node (loading the bundle alone: ${ms(l, 0)}); first call ${path}; median of ${RUNS}`,
          ratio: a / b,
          target: 'reported (no target)',
          met: null,
          notes:
            'includes loading the 1 MB bundle, reading inputs, git fetch + reset of the access repo, reading grants and policies, planning',
        },
      ];
    } finally {
      api.server.close();
      repo.cleanup();
    }
  },
};
