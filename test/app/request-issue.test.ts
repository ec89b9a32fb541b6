import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { parseGrant } from '../../src/core/grant-file.js';
import { APP_BOT, FakeGitHub } from '../helpers/fake-github.js';
import {
  dave,
  issueEvent,
  mallory,
  requestBody,
  ciBot,
  useFakeAccessRepo,
} from '../helpers/app.js';

let gh: FakeGitHub;
let probot: Probot;
useFakeAccessRepo((w) => ({ gh, probot } = w));

const grantFile = 'grants/prod-db/req-42.yaml';

describe('an access-request issue', () => {
  it('becomes one branch, one grant file, one pull request, with its check, labels and a link', async () => {
    const policyCommit = gh.head;
    await probot.receive(issueEvent({}));

    const pr = gh.pullFor('gatepass/req-42')!;
    expect(pr).toBeDefined();
    expect(pr.user).toEqual(APP_BOT);
    expect(pr.base_ref).toBe('main');
    expect(pr.body).toContain('Access request from #42');
    expect(pr.body).not.toMatch(/closes #42/i);
    // CODEOWNERS (which setup requires) makes GitHub request the approvers: no second call.
    expect(gh.calls.filter((c) => c.includes('requested_reviewers'))).toEqual([]);
    // Pending from the start, on the commit the app wrote, before the PR existed.
    expect(gh.checkRuns).toMatchObject([
      { name: 'gatepass/approval', head_sha: pr.head_sha, status: 'in_progress' },
    ]);
    expect(gh.calls.indexOf('POST /repos/acme/access/check-runs')).toBeLessThan(
      gh.calls.indexOf('POST /repos/acme/access/pulls'),
    );
    // No approver team is read before any review exists: only the requester's membership.
    expect(gh.calls.filter((c) => c.startsWith('GET /orgs/'))).toEqual([
      'GET /orgs/acme/teams/engineers/memberships/dave',
    ]);
    expect(pr.labels).toEqual(['gatepass:pending']);
    // exactly one file, in exactly one commit on top of the default branch
    const branchTree = gh.tree('gatepass/req-42');
    expect([...branchTree.keys()].filter((p) => !gh.tree('main').has(p))).toEqual([grantFile]);
    expect(gh.commitOf('gatepass/req-42').parent).toBe(policyCommit);
    const grant = parseGrant(branchTree.get(grantFile)!, grantFile);
    expect(grant.ok && grant.value).toMatchObject({
      id: 'req-42',
      status: 'pending',
      resource: 'prod-db',
      duration: 7200,
      requester: { login: 'dave', id: dave.id },
      source: { issue: 42 },
      policy_commit: policyCommit,
      requested_at: '2030-01-01T10:00:00.000Z',
    });
    expect(gh.commitOf('gatepass/req-42').message).toContain('Gatepass-Event: requested');
    expect(gh.issue(42).labels).toEqual(['gatepass:pending']);
    expect(gh.issue(42).comments.map((c) => c.body)).toEqual([
      expect.stringContaining(`Opened #${pr.number}`),
    ]);
  });

  it('makes a bounded number of API calls', async () => {
    await probot.receive(issueEvent({}));
    console.log(`issue opened → PR: ${gh.calls.length} API calls\n  ${gh.calls.join('\n  ')}`);
    expect(gh.calls.length).toBeLessThanOrEqual(14);
  });

  it('opens nothing twice when the delivery is duplicated', async () => {
    const ev = issueEvent({});
    await probot.receive(ev);
    await probot.receive({ ...ev });
    expect([...gh.pulls.values()]).toHaveLength(1);
    expect(gh.issue(42).comments).toHaveLength(1);
  });

  it('refuses an edited issue after the PR exists: nothing changes and it says the request is frozen', async () => {
    await probot.receive(issueEvent({}));
    const pr = gh.pullFor('gatepass/req-42')!;
    const before = gh.tree('gatepass/req-42');
    const edited = issueEvent({
      action: 'edited',
      body: requestBody({ duration: 4 * 3600, resource: 'prod-db' }),
    });
    await probot.receive(edited);
    await probot.receive(
      issueEvent({ action: 'edited', body: requestBody({ duration: 3 * 3600 }) }),
    );
    expect([...gh.pulls.values()]).toHaveLength(1);
    expect(gh.tree('gatepass/req-42')).toBe(before);
    expect(gh.branches.get('gatepass/req-42')).toBe(pr.head_sha);
    const frozen = gh.issue(42).comments.filter((c) => c.body.includes('frozen'));
    expect(frozen).toHaveLength(1);
    expect(frozen[0]!.body).toContain(`#${pr.number}`);
  });

  it('answers problems with one comment and a label, updated (not repeated) on later edits', async () => {
    await probot.receive(issueEvent({ body: requestBody({ duration: 8 * 3600 }) }));
    await probot.receive(
      issueEvent({
        action: 'edited',
        body: requestBody({ resource: 'prod-dbx' }),
        labels: ['access-request', 'gatepass:invalid'],
      }),
    );
    expect(gh.pulls.size).toBe(0);
    expect([...gh.branches.keys()]).toEqual(['main']);
    expect(gh.issue(42).labels).toEqual(['gatepass:invalid']);
    const comments = gh.issue(42).comments;
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(
      'there is no resource named "prod-dbx"; did you mean "prod-db"?',
    );
  });

  it('opens the PR once a fixed issue is valid, and marks the old problems fixed', async () => {
    await probot.receive(issueEvent({ body: requestBody({ duration: 8 * 3600 }) }));
    await probot.receive(
      issueEvent({ action: 'edited', labels: ['access-request', 'gatepass:invalid'] }),
    );
    const pr = gh.pullFor('gatepass/req-42')!;
    expect(gh.issue(42).labels).toEqual(['gatepass:pending']);
    expect(gh.issue(42).comments[0]!.body).toContain(`now in #${pr.number}`);
  });

  it('refuses a grant whose duration exceeds the maximum', async () => {
    await probot.receive(issueEvent({ body: requestBody({ duration: 5 * 3600 }) }));
    expect(gh.pulls.size).toBe(0);
    expect(gh.issue(42).comments[0]!.body).toContain('longer than the 4h allowed');
  });

  it('refuses a resource name with ../ before building any path', async () => {
    await probot.receive(issueEvent({ body: requestBody({ resource: '../policies/prod' }) }));
    expect(gh.pulls.size).toBe(0);
    expect([...gh.branches.keys()]).toEqual(['main']);
    expect(gh.calls.some((c) => c.includes('..'))).toBe(false);
    expect(gh.issue(42).comments[0]!.body).toContain('must not contain "/"');
  });

  it('refuses a requester who is not among the requesters', async () => {
    await probot.receive(issueEvent({ author: mallory }));
    expect(gh.pulls.size).toBe(0);
    expect(gh.issue(42).comments[0]!.body).toContain('@mallory may not request "prod-db"');
  });

  it('ignores issues from bots and issues that are not requests', async () => {
    await probot.receive(issueEvent({ author: ciBot }));
    await probot.receive(issueEvent({ body: 'The README has a typo', labels: ['bug'] }));
    expect(gh.calls).toEqual([]);
  });

  it('ignores a delivery for another repository', async () => {
    await probot.receive(issueEvent({ repo: 'acme/other' }));
    await probot.receive(issueEvent({ repo: 'evil/access' }));
    expect(gh.calls).toEqual([]);
  });

  it('repairs on the next delivery when GitHub failed after the branch was made', async () => {
    gh.failNext('POST', /\/pulls$/, 502);
    await expect(probot.receive(issueEvent({}))).rejects.toThrow();
    expect(gh.branches.has('gatepass/req-42')).toBe(true);
    expect(gh.pulls.size).toBe(0);

    await probot.receive(issueEvent({}));
    expect(gh.pulls.size).toBe(1);
    const grantCommits = [...gh.commits.values()].filter((c) =>
      c.message.includes('Gatepass-Event: requested'),
    );
    expect(grantCommits).toHaveLength(1);
    expect(gh.issue(42).comments).toHaveLength(1);
  });

  it('repairs when GitHub failed between creating the branch and writing the grant file', async () => {
    gh.failNext('PUT', /\/contents\//, 500);
    await expect(probot.receive(issueEvent({}))).rejects.toThrow();
    await probot.receive(issueEvent({}));
    expect(gh.tree('gatepass/req-42').has(grantFile)).toBe(true);
    expect(gh.pulls.size).toBe(1);
  });
});
