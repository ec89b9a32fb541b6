import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layering the code is built on (docs/architecture.md): entries wire things together and
 * never import one another; the engines sit below them; the pure core knows nothing above it.
 */
const SRC = resolve(import.meta.dirname, '../../src');

function filesUnder(dir: string): string[] {
  return readdirSync(join(SRC, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Top-level folders of src/ that a file imports (relative imports only). */
function importedAreas(file: string): { spec: string; area: string }[] {
  const text = readFileSync(file, 'utf8');
  const out: { spec: string; area: string }[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)) {
    const target = relative(SRC, resolve(dirname(file), m[1]!));
    out.push({ spec: m[1]!, area: target.split('/')[0]! });
  }
  return out;
}

const ENTRIES = ['app', 'action', 'cli'];

describe('module layering', () => {
  it.each(ENTRIES)('src/%s imports no other entry', (entry) => {
    expect(filesUnder(entry).length).toBeGreaterThan(0);
    const offending = filesUnder(entry).flatMap((f) =>
      importedAreas(f)
        .filter((i) => ENTRIES.includes(i.area) && i.area !== entry)
        .map((i) => `${relative(SRC, f)} → ${i.spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('the engines import no entry', () => {
    const offending = filesUnder('engine').flatMap((f) =>
      importedAreas(f)
        .filter((i) => ENTRIES.includes(i.area) || i.area === 'git' || i.area === 'github')
        .map((i) => `${relative(SRC, f)} → ${i.spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('the pure core imports nothing outside itself', () => {
    const offending = filesUnder('core').flatMap((f) =>
      importedAreas(f)
        .filter((i) => i.area !== 'core')
        .map((i) => `${relative(SRC, f)} → ${i.spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('the check sees a cross-entry import when there is one', () => {
    // Guards the regular expression above: a test that cannot fail proves nothing.
    const probe = join(SRC, 'cli', 'probe.ts');
    const text = "import { run } from '../action/run.js';\n";
    const areas = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map(
      (m) => relative(SRC, resolve(dirname(probe), m[1]!)).split('/')[0],
    );
    expect(areas).toEqual(['action']);
  });
});
