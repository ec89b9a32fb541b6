/**
 * Expected bad input is reported as a Problem value, never thrown: the edge (CLI, comment,
 * check run) decides how to show it to the person who can fix it.
 */
export interface Problem {
  /** Repository-relative file the problem is in, when it comes from a file. */
  file?: string;
  /** Dotted path inside the document, e.g. `resources.prod-db.max_duration`. */
  path?: string;
  /** 1-based line where the offending value can be found. */
  line?: number;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(...problems: Problem[]): Result<T> => ({ ok: false, problems });

/** `file:line: message` (or a subset when location is unknown), the format editors jump to. */
export function formatProblem(p: Problem): string {
  const where = [p.file, p.line].filter((x) => x !== undefined && x !== '').join(':');
  const path = p.path ? ` (${p.path})` : '';
  return where ? `${where}: ${p.message}${path}` : `${p.message}${path}`;
}
