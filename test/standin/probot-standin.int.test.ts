import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Probot, ProbotOctokit, type Context } from 'probot';
import {
  expectNoContractProblems,
  startGitHubStandIn,
  type GitHubStandIn,
} from './github-standin.js';

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

let gh: GitHubStandIn | undefined;
afterEach(async () => {
  await gh?.stop();
  gh = undefined;
});

describe('a Probot app against the stand-in', () => {
  it('authenticates as the app installation and acts as its bot on the events it receives', async () => {
    // Probot needs the stand-in's URL and the stand-in needs Probot's receiver: tie the knot.
    const holder: { app?: Probot } = {};
    const standin = await startGitHubStandIn({
      owner: 'acme',
      repo: 'access',
      users: [{ login: 'alice', id: 101 }],
      app: { id: 7, slug: 'gatepass', botId: 9007, webhookSecret: 'shh' },
      // In-process: the delivery goes through Probot's own signature check.
      deliver: (d) =>
        (holder.app as Probot).webhooks.verifyAndReceive({
          id: d.id,
          name: d.name as never,
          payload: d.body,
          signature: d.signature,
        }),
    });
    gh = standin;
    const app = new Probot({
      appId: 7,
      privateKey,
      secret: 'shh',
      baseUrl: standin.apiUrl,
      Octokit: ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } }),
    });
    holder.app = app;
    await app.load((p: Probot) => {
      p.on('issues.opened', async (context: Context<'issues.opened'>) => {
        await context.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
          ...context.repo(),
          issue_number: context.payload.issue.number,
          body: `Thanks @${context.payload.sender.login}`,
        });
      });
    });

    const n = await standin.as('alice').openIssue({ title: 'Access please' });

    const comments = [...standin.state.comments.values()];
    expect(comments).toEqual([
      expect.objectContaining({ issue: n, user: 'gatepass[bot]', body: 'Thanks @alice' }),
    ]);
    expect(standin.requests.map((r) => `${r.operationId} ${r.status} ${r.actor ?? 'app'}`)).toEqual(
      [
        'issues/create 201 alice',
        'apps/create-installation-access-token 201 app',
        'issues/create-comment 201 gatepass[bot]',
      ],
    );
    expect(standin.events.map((e) => `${e.name}.${e.action} ${e.status}`)).toEqual([
      'issues.opened 200',
      'issue_comment.created 200',
    ]);
    expectNoContractProblems(standin);
  });
});
