import { describe, expect, it } from '@jest/globals';
import type { Probot } from 'probot';
import { FakeGitHub } from '../helpers/fake-github.js';
import { POLICY, carol, dave, issueEvent, useFakeAccessRepo } from '../helpers/app.js';

/**
 * The app reads policies as the action, the audit and `validate` do (one loader, recursive,
 * with each provider's target checks): what one path enforces, every path enforces.
 */
let gh: FakeGitHub;
let probot: Probot;
let files: Record<string, string> = {};

function accessRepo(): FakeGitHub {
  const repo = new FakeGitHub({ 'grants/.gitkeep': '', ...files });
  repo.teams.set('acme/dba', [carol]);
  repo.teams.set('acme/engineers', [dave, carol]);
  return repo;
}

describe('policies as the app sees them', () => {
  describe('in a subfolder (policies/team/prod.yaml)', () => {
    useFakeAccessRepo(
      (w) => ({ gh, probot } = w),
      () => {
        files = { 'policies/team/prod.yaml': POLICY };
        return accessRepo();
      },
    );

    it('are found: a request for their resource opens its pull request', async () => {
      await probot.receive(issueEvent({}));
      expect(gh.pullFor('gatepass/req-42')).toBeDefined();
      expect(gh.issue(42).labels).toEqual(['gatepass:pending']);
    });
  });

  describe('with a target the provider refuses (a superuser role)', () => {
    useFakeAccessRepo(
      (w) => ({ gh, probot } = w),
      () => {
        files = { 'policies/prod.yaml': POLICY.replace('roles: [readonly]', 'roles: [postgres]') };
        return accessRepo();
      },
    );

    it('define nothing: the request is refused and no pull request is opened', async () => {
      expect(POLICY).toContain('roles: [readonly]');
      await probot.receive(issueEvent({}));
      expect(gh.pulls.size).toBe(0);
      expect([...gh.branches.keys()]).toEqual(['main']);
      // The requester is told the policy file is invalid, not that the resource does not exist.
      expect(gh.issue(42).comments[0]!.body).toContain(
        'the policy file `policies/prod.yaml` is invalid',
      );
    });
  });
});
