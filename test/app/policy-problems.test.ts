import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import type { FakeGitHub } from '../helpers/fake-github.js';
import { readFixture } from '../helpers/fixtures.js';
import {
  buildAccessRepo,
  dave,
  issueEvent,
  requestBody,
  useFakeAccessRepo,
} from '../helpers/app.js';

let gh: FakeGitHub;
let probot: Probot;

// Issue #14 (smaller): a broken policy file was skipped silently, and the requester was told
// "there is no resource named …" (the old code's answer to both of these requests).
describe('a request for a resource whose policy file is invalid', () => {
  useFakeAccessRepo(
    (w) => ({ gh: gh, probot: probot } = w),
    () =>
      buildAccessRepo({
        'policies/payments.yaml': readFixture('policies/alias-bomb.yaml'),
        '.github/CODEOWNERS': '* @acme/admins\n/policies/payments.yaml @acme/payments-leads\n',
      }),
  );

  it('tells the requester which file is invalid and who owns it, and opens nothing', async () => {
    gh.fileIssue(42, dave);
    await probot.receive(issueEvent({ body: requestBody({ resource: 'payments-db' }) }));
    expect(gh.pulls.size).toBe(0);
    const body = gh.issue(42).comments.at(-1)!.body;
    expect(body).toContain('`policies/payments.yaml` (owned by @acme/payments-leads)');
    expect(body).toContain('invalid');
    expect(body).not.toContain('there is no resource named');
    expect(gh.issue(42).labels).toEqual(['gatepass:invalid']);
  });

  it('changes nothing for a resource a valid file defines', async () => {
    gh.fileIssue(42, dave);
    await probot.receive(issueEvent({}));
    expect(gh.pullFor('gatepass/req-42')).toBeDefined();
  });
});
