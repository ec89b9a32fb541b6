/**
 * Unexpected failures, declared in one place. Expected bad input is a Problem value instead
 * (see problem.ts); these are for things that should not happen in a correct setup.
 */
export class GatepassError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The access repo or the app/action is configured in a way that cannot work. */
export class ConfigurationError extends GatepassError {}

/** GitHub answered in a way the adapter cannot use (after retries). */
export class GitHubApiError extends GatepassError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A credential provider failed to issue, revoke or list. Its message must never hold a secret. */
export class ProviderError extends GatepassError {}

/** A git command failed. */
export class GitError extends GatepassError {}
