import { expect, it } from '@jest/globals';
import { runAwsDemo } from '../../demo/aws-story.js';

it('npm run demo -- --aws tells its whole story: every step checks what it claims', async () => {
  let out = '';
  const code = await runAwsDemo({ out: (s) => (out += s) });
  expect({ code, failed: out.split('\n').filter((l) => l.includes('✗')) }).toEqual({
    code: 0,
    failed: [],
  });
  expect(out).toContain('verify: no findings');
  expect(out).toMatch(/\[8\/8\] .* ✓/);
}, 120_000);
