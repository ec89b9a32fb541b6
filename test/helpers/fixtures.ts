import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
// Bundled by `npm run bench`, this module's URL is the bundle's; the checkout's copy is at the cwd.
const root = existsSync(here) ? here : join(process.cwd(), 'test', 'fixtures');

export const readFixture = (path: string): string => readFileSync(join(root, path), 'utf8');
