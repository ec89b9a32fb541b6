import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import af from 'ajv-formats';
import fc from 'fast-check';
import { GRANT_SCHEMA } from '../../src/core/grant-schema.js';
import { validateGrantSchema } from '../../src/core/generated/grant-validator.js';
import { validatePolicySchema } from '../../src/core/generated/policy-validator.js';
import { POLICY_SCHEMA } from '../../src/core/policy-schema.js';
import { readFileSync, readdirSync } from 'node:fs';
import { buildGrant } from '../helpers/build.js';
import { serializeGrant } from '../../src/core/grant-file.js';
import { parse } from 'yaml';

describe('the precompiled validators', () => {
  it('is what scripts/gen-validators.mjs generates from the current schema (regenerate if not)', () => {
    expect(() =>
      execFileSync('node', ['scripts/gen-validators.mjs', '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('judges grant files exactly as ajv compiling the schema at run time does', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    af.default(ajv);
    const live = ajv.compile(GRANT_SCHEMA);
    const valid = parse(serializeGrant(buildGrant())) as Record<string, unknown>;
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(valid), 'extra'),
        fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(undefined)),
        (key, value) => {
          const doc = { ...valid, [key]: value };
          const a = live(doc);
          const b = (validateGrantSchema as (d: unknown) => boolean)(doc);
          expect(b).toBe(a);
          expect(JSON.stringify((validateGrantSchema as { errors?: unknown }).errors ?? null)).toBe(
            JSON.stringify(live.errors ?? null),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('judge policy files exactly as ajv compiling the policy schema at run time does', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    af.default(ajv);
    ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
    const live = ajv.compile(POLICY_SCHEMA);
    const dir = 'test/fixtures/policies';
    const docs = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => {
        try {
          return parse(readFileSync(`${dir}/${f}`, 'utf8')) as unknown;
        } catch {
          return undefined;
        }
      })
      .filter((d) => d !== undefined);
    expect(docs.length).toBeGreaterThan(5);
    for (const doc of docs) {
      const pre = validatePolicySchema as ((d: unknown) => boolean) & { errors?: unknown };
      expect(pre(doc)).toBe(live(doc));
      expect(JSON.stringify(pre.errors ?? null)).toBe(JSON.stringify(live.errors ?? null));
    }
  });
});
