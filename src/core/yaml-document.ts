import { parseDocument, LineCounter, isMap, isSeq, isScalar, isPair, type Node } from 'yaml';
import { type Result, ok, fail, type Problem } from './problem.js';

/**
 * YAML from the access repo is hostile until proven otherwise: size is bounded before parsing,
 * aliases are bounded (billion-laughs), only the core schema is used (no custom tags), and
 * every value can be traced back to its line for messages.
 */
export interface YamlDocument {
  value: unknown;
  /** 1-based line of the value at `path` (or of its nearest existing ancestor). */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

export const MAX_YAML_BYTES = 256 * 1024;
const MAX_ALIASES = 50;

export function parseYaml(
  text: string,
  file: string,
  maxBytes = MAX_YAML_BYTES,
): Result<YamlDocument> {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    return fail({ file, message: `file is larger than ${Math.round(maxBytes / 1024)} KiB` });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    schema: 'core',
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const lineAt = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;
  const errors = [...doc.errors, ...doc.warnings];
  if (errors.length > 0) {
    return fail(
      ...errors.map((e): Problem => ({
        file,
        line: lineAt(e.pos[0]),
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // toJS throws on alias bombs and similar resource exhaustion: report, never crash.
    return fail({ file, message: `YAML: ${(e as Error).message}` });
  }

  const lineOf = (path: readonly (string | number)[]): number | undefined => {
    let node: unknown = doc.contents;
    let line = lineAt((doc.contents as Node | null)?.range?.[0]);
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key),
        );
        if (!pair) break;
        // Point at the key: that is where a person looks for `max_duration: ...`.
        line = lineAt((pair.key as Node).range?.[0]) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        const item = node.items[key] as Node | undefined;
        if (!item) break;
        line = lineAt(item.range?.[0]) ?? line;
        node = item;
      } else break;
    }
    return line;
  };
  return ok({ value, lineOf });
}

/** `resources.prod-db.max_duration` from `['resources', 'prod-db', 'max_duration']`. */
export const dottedPath = (path: readonly (string | number)[]): string =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
