import type { ProviderKind } from '../core/policy.js';
import type { TargetValidator } from '../core/policy-load.js';
import { ConfigurationError } from '../core/errors.js';
import type { Provider } from './provider.js';
import { commandProvider } from './command.js';
import { postgresProvider } from './postgres.js';
import { sshCertificateProvider } from './ssh-certificate.js';
import { githubTeamProvider } from './github-team.js';
import { githubCollaboratorProvider } from './github-collaborator.js';
import { awsIdentityCenterProvider } from './aws-identity-center.js';
import { awsIamRoleProvider } from './aws-iam-role.js';

/*
 * Provider kind → factory. Adding a provider touches only its own file and this map. Factories
 * (not instances) so a provider may hold per-run state without leaking it between runs.
 */
export type ProviderFactory = () => Provider;

const factories = new Map<string, ProviderFactory>([
  ['postgres', () => postgresProvider],
  ['ssh-certificate', () => sshCertificateProvider],
  ['command', () => commandProvider],
  ['github-team', () => githubTeamProvider],
  ['github-collaborator', () => githubCollaboratorProvider],
  ['aws-identity-center', () => awsIdentityCenterProvider],
  ['aws-iam-role', () => awsIamRoleProvider],
]);

/** Registers (or replaces) the factory for a kind; tests use it to plug in fakes. */
export function registerProvider(kind: ProviderKind, factory: ProviderFactory): void {
  factories.set(kind, factory);
}

/** The provider for `kind`; an unknown kind is a configuration error, never a silent no-op. */
export function getProvider(kind: string): Provider {
  const factory = factories.get(kind);
  if (!factory) {
    const known = [...factories.keys()].sort().join(', ');
    throw new ConfigurationError(
      `unknown provider ${JSON.stringify(kind)}; known providers: ${known}`,
    );
  }
  return factory();
}

/** Policy validation hook: each provider checks its own `target` (see loadPolicies). */
export const validateTargetWithProviders: TargetValidator = (kind, target) =>
  getProvider(kind).validateTarget(target);

/** Kinds with a registered provider, for messages and validation. */
export const registeredProviderKinds = (): string[] => [...factories.keys()].sort();
