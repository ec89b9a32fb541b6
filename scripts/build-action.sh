#!/usr/bin/env bash
# Bundles the action into one ESM file: action/dist/index.js (committed; a test fails if stale).
# Usage: scripts/build-action.sh [outfile]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-action/dist/index.js}"
# esbuild's ESM output cannot `require` Node built-ins that CommonJS dependencies ask for;
# the banner gives it a real `require`.
npx esbuild src/action/index.ts --bundle --platform=node --format=esm --target=node20 \
  --preserve-symlinks --legal-comments=none --log-level=warning --outfile="$out" \
  --banner:js="import { createRequire as __gatepassCreateRequire } from 'node:module'; const require = __gatepassCreateRequire(import.meta.url);"
