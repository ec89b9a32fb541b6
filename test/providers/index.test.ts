import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../src/core/errors.js';
import {
  getProvider,
  registerProvider,
  registeredProviderKinds,
} from '../../src/providers/index.js';

describe('provider registry', () => {
  it('maps each built-in kind to the provider of that kind', () => {
    for (const kind of ['postgres', 'ssh-certificate', 'command'])
      expect(getProvider(kind).kind).toBe(kind);
  });

  it('treats an unknown kind as a configuration error naming the known ones', () => {
    expect(() => getProvider('ldap')).toThrow(ConfigurationError);
    expect(() => getProvider('ldap')).toThrow(
      /unknown provider "ldap"; known providers: .*command.*postgres/,
    );
  });

  it('lets a provider be registered by kind', () => {
    const fake = {
      kind: 'github-team' as const,
      validateTarget: () => [],
      issue: async () => ({ facts: {} }),
      revoke: async () => undefined,
    };
    registerProvider('github-team', () => fake);
    expect(getProvider('github-team')).toBe(fake);
    expect(registeredProviderKinds()).toContain('github-team');
  });
});
