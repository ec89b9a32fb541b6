import { parseDuration, type Seconds } from '../core/duration.js';
import type { Problem } from '../core/problem.js';
import { type Result, ok, fail } from '../core/problem.js';

/*
 * Small pure checks shared by the providers' `validateTarget`. The JSON Schema has already
 * checked shapes; these check meaning, and every message names the offending key.
 */

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function problem(key: string, message: string): Problem {
  return { path: `target.${key}`, message: `target.${key}: ${message}` };
}

/** A secret must be named (`env:NAME`), never written inline in a policy file. */
export function checkEnvRef(target: Record<string, unknown>, key: string): Problem[] {
  const v = target[key];
  if (typeof v !== 'string' || !v.startsWith('env:') || !ENV_NAME.test(v.slice(4))) {
    return [
      problem(
        key,
        'must reference an environment variable as env:NAME; secrets never go in policy',
      ),
    ];
  }
  return [];
}

export function checkStringList(
  target: Record<string, unknown>,
  key: string,
  opts: { required: boolean; pattern?: RegExp; patternHelp?: string; maxLength?: number },
): Problem[] {
  const v = target[key];
  if (v === undefined) return opts.required ? [problem(key, 'is required')] : [];
  if (!Array.isArray(v)) return [problem(key, 'must be a list of strings')];
  if (opts.required && v.length === 0) return [problem(key, 'must not be empty')];
  const out: Problem[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    if (typeof item !== 'string' || item.length === 0) {
      out.push(problem(`${key}[${i}]`, 'must be a non-empty string'));
    } else if (item.length > (opts.maxLength ?? 256) || item.includes('\0')) {
      out.push(problem(`${key}[${i}]`, 'is too long or holds a NUL character'));
    } else if (opts.pattern && !opts.pattern.test(item)) {
      out.push(
        problem(`${key}[${i}]`, `${JSON.stringify(item)} ${opts.patternHelp ?? 'is not allowed'}`),
      );
    } else if (seen.has(item)) {
      out.push(problem(`${key}[${i}]`, `${JSON.stringify(item)} is listed twice`));
    }
    if (typeof item === 'string') seen.add(item);
  });
  return out;
}

/**
 * Timeouts may be shorter than a grant could be (`30s`), so besides everything parseDuration
 * takes this accepts plain seconds `Ns`, bounded to `[min, max]`.
 */
export function parseTimeout(input: unknown, min: Seconds, max: Seconds): Result<Seconds> {
  let seconds: number | undefined;
  const plain = typeof input === 'string' ? /^\s*(\d{1,6})s\s*$/i.exec(input) : null;
  if (plain) seconds = Number(plain[1]);
  else {
    const parsed = parseDuration(input);
    if (!parsed.ok) return parsed;
    seconds = parsed.value;
  }
  if (seconds < min || seconds > max) {
    return fail({ message: `must be between ${min}s and ${max}s, got ${seconds}s` });
  }
  return ok(seconds);
}

/** A repository-relative path that cannot climb out of the checkout. */
export function isSafeRelativePath(p: unknown): p is string {
  return (
    typeof p === 'string' &&
    p.length > 0 &&
    p.length <= 512 &&
    /^[A-Za-z0-9._/-]+$/.test(p) &&
    !p.startsWith('/') &&
    !p.split('/').some((seg) => seg === '..' || seg === '')
  );
}
