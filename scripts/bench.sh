#!/usr/bin/env bash
# Bundles the TypeScript benchmarks with esbuild (no extra runtime) and runs them. The benches
# reuse test helpers; those import `@jest/globals`, which only loads inside Jest, hence the alias.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
npx esbuild bench/index.ts --bundle --platform=node --format=esm --target=node20 --packages=external \
  --alias:@jest/globals=./bench/support/jest-globals.ts \
  --outfile=.tmp/bench.mjs --log-level=warning
node .tmp/bench.mjs "$@"
