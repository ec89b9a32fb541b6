const TOKEN_PATTERN =
  /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|v1\.[0-9a-f]{40})\b/g;

/** Removes anything that looks like a GitHub token, whatever a server put in its message. */
export const redactTokens = (s: string): string => s.replace(TOKEN_PATTERN, '[redacted]');
