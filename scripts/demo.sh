#!/usr/bin/env bash
# `npm run demo`: bundles the demo driver with esbuild (like the bench) and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp/demo
npx esbuild demo/index.ts --bundle --platform=node --format=esm --target=node20 --packages=external \
  --outfile=.tmp/demo/demo.mjs --log-level=warning
node .tmp/demo/demo.mjs "$@"
