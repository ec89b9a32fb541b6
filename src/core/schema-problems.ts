import type { ErrorObject } from 'ajv';
import type { Problem } from './problem.js';
import { dottedPath, type YamlDocument } from './yaml-document.js';

/** JSON pointer `/resources/prod-db/max_duration` → `['resources', 'prod-db', 'max_duration']`. */
export function pointerToPath(pointer: string): (string | number)[] {
  // Only canonical integers can be array indexes; `00` or `01` can only be map keys.
  return pointerSegments(pointer).map((s) => (/^(0|[1-9]\d{0,8})$/.test(s) ? Number(s) : s));
}

/** The raw segments of a JSON pointer, all strings: for callers that know they are map keys. */
export function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Turns ajv errors into Problems a person can act on: file, dotted path, line, and a message
 * in plain words. Noise from `if/then` and `anyOf` bookkeeping is dropped.
 */
export function schemaProblems(
  errors: readonly ErrorObject[] | null | undefined,
  doc: YamlDocument,
  file: string,
): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const path = pointerToPath(e.instancePath);
    let message: string;
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      path.push(extra);
      message = `unknown key "${extra}"`;
    } else if (e.keyword === 'required') {
      message = `missing required key "${String((e.params as { missingProperty: string }).missingProperty)}"`;
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) =>
        JSON.stringify(v),
      );
      message = `must be one of ${allowed.join(', ')}`;
    } else if (e.keyword === 'pattern' || e.keyword === 'format') {
      message = `${e.message ?? 'is not valid'}`;
    } else {
      message = e.message ?? `is not valid (${e.keyword})`;
    }
    const key = `${dottedPath(path)}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, path: dottedPath(path) || undefined, line: doc.lineOf(path), message });
  }
  return out;
}
