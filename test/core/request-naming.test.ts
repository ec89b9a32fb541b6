import { describe, expect, it } from '@jest/globals';
import {
  extensionBranchPrefix,
  extensionGrantId,
  nextExtensionNumber,
  requestBranch,
  requestGrantId,
  requestIssueOf,
} from '../../src/core/request-naming.js';
import { isPolicyFile, isUnderGrants } from '../../src/core/repo-layout.js';

describe('request naming', () => {
  it('names a request and its extensions after the issue, and finds the issue again', () => {
    expect(requestGrantId(42)).toBe('req-42');
    expect(extensionGrantId(42, 3)).toBe('req-42-ext-3');
    expect(requestBranch(requestGrantId(42))).toBe('gatepass/req-42');
    expect(requestIssueOf(requestBranch(requestGrantId(42)))).toBe(42);
    expect(requestIssueOf(requestBranch(extensionGrantId(42, 3)))).toBe(42);
    expect(extensionBranchPrefix(42)).toBe('gatepass/req-42-ext-');
  });

  it('finds no issue in branches that are not request branches', () => {
    for (const b of [
      undefined,
      'main',
      'gatepass/req-0',
      'gatepass/req-42-ext-',
      'x/req-42',
      'gatepass/req-42/x',
    ])
      expect(requestIssueOf(b)).toBeNull();
  });

  it('numbers an extension with the lowest number no branch and no grant file uses', () => {
    expect(nextExtensionNumber(42, [], [])).toBe(1);
    expect(nextExtensionNumber(42, ['gatepass/req-42-ext-1'], ['req-42-ext-2.yaml'])).toBe(3);
    // Another request's extensions and other files take nothing.
    expect(
      nextExtensionNumber(
        42,
        ['gatepass/req-7-ext-1'],
        ['req-7-ext-1.yaml', 'req-142-ext-1.yaml', 'req-42.yaml'],
      ),
    ).toBe(1);
    expect(nextExtensionNumber(42, [], ['req-42-ext-1.yaml', 'req-42-ext-3.yaml'])).toBe(2);
  });
});

describe('repository layout', () => {
  it('counts every YAML file below policies/, at any depth, as a policy file', () => {
    expect(isPolicyFile('policies/prod.yaml')).toBe(true);
    expect(isPolicyFile('policies/team/db.yml')).toBe(true);
    expect(isPolicyFile('policies/README.md')).toBe(false);
    expect(isPolicyFile('policies-old/prod.yaml')).toBe(false);
    expect(isPolicyFile('grants/prod/req-1.yaml')).toBe(false);
  });

  it('tells paths inside grants/ from look-alikes', () => {
    expect(isUnderGrants('grants')).toBe(true);
    expect(isUnderGrants('grants/prod-db/req-1.yaml')).toBe(true);
    expect(isUnderGrants('grantsx/a')).toBe(false);
  });
});
