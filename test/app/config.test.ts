import { describe, expect, it } from '@jest/globals';
import { DEFAULT_LABELS, isAccessRepo, loadConfig } from '../../src/app/config.js';
import { ConfigurationError } from '../../src/core/errors.js';

describe('app configuration', () => {
  it('needs the access repo and defaults the rest', () => {
    const config = loadConfig({ GATEPASS_ACCESS_REPO: 'acme/access' });
    expect(config).toEqual({
      accessRepo: { owner: 'acme', repo: 'access' },
      labels: DEFAULT_LABELS,
      mergeMethod: 'squash',
      checkName: 'gatepass/approval',
    });
  });

  it('refuses to start without a valid access repo or with an unknown merge method', () => {
    expect(() => loadConfig({})).toThrow(ConfigurationError);
    expect(() => loadConfig({ GATEPASS_ACCESS_REPO: 'acme' })).toThrow(/owner\/name/);
    expect(() => loadConfig({ GATEPASS_ACCESS_REPO: 'acme/../x' })).toThrow(ConfigurationError);
    expect(() =>
      loadConfig({ GATEPASS_ACCESS_REPO: 'acme/access', GATEPASS_MERGE_METHOD: 'yolo' }),
    ).toThrow(/GATEPASS_MERGE_METHOD/);
  });

  it('refuses the rebase merge method, which would drop the approval trailers the action confirms', () => {
    expect(() =>
      loadConfig({ GATEPASS_ACCESS_REPO: 'acme/access', GATEPASS_MERGE_METHOD: 'rebase' }),
    ).toThrow(/rebase is not supported.*squash/);
  });

  it('takes label names and the merge method from the environment', () => {
    const config = loadConfig({
      GATEPASS_ACCESS_REPO: 'acme/access',
      GATEPASS_LABEL_DENIED: 'access: denied',
      GATEPASS_MERGE_METHOD: 'merge',
    });
    expect(config.labels.denied).toBe('access: denied');
    expect(config.mergeMethod).toBe('merge');
  });

  it('matches only the access repo, whatever the letter case', () => {
    const config = loadConfig({ GATEPASS_ACCESS_REPO: 'Acme/Access' });
    expect(isAccessRepo(config, 'acme/access')).toBe(true);
    expect(isAccessRepo(config, 'acme/access-fork')).toBe(false);
    expect(isAccessRepo(config, undefined)).toBe(false);
  });
});
