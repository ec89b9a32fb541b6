// Bundles one entry into one ESM file for Node (the action, the app inside Actions).
// Usage: node scripts/bundle.mjs <entry.ts> <outfile>
import { build } from 'esbuild';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: node scripts/bundle.mjs <entry.ts> <outfile>');
  process.exit(2);
}

/**
 * `@actions/core` imports `@actions/http-client` (and with it undici, ~770 KiB) at load time
 * for one feature gatepass never uses: OIDC tokens (`getIDToken`). The bundle gets a stand-in
 * that fails loudly if that feature is ever called, and loads nothing.
 */
const noActionsHttpClient = {
  name: 'no-actions-http-client',
  setup(b) {
    b.onResolve({ filter: /^@actions\/http-client(\/.*)?$/ }, (args) => ({
      path: args.path,
      namespace: 'no-actions-http-client',
    }));
    b.onLoad({ filter: /.*/, namespace: 'no-actions-http-client' }, () => ({
      contents: `
        const unavailable = () => {
          throw new Error('gatepass bundles no HTTP client for @actions/core (OIDC tokens are not used)');
        };
        export class HttpClient { constructor() { unavailable(); } }
        export class BearerCredentialHandler { constructor() { unavailable(); } }
      `,
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  preserveSymlinks: true,
  legalComments: 'none',
  logLevel: 'error',
  plugins: [noActionsHttpClient],
  // esbuild's ESM output cannot `require` Node built-ins that CommonJS dependencies ask for;
  // the banner gives it a real `require`.
  banner: {
    js: "import { createRequire as __gatepassCreateRequire } from 'node:module'; const require = __gatepassCreateRequire(import.meta.url);",
  },
});
