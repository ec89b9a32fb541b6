#!/usr/bin/env bash
# Bundles the app for GitHub Actions (no server) into one ESM file: action/app-dist/index.js
# (committed; a test fails if stale). Usage: scripts/build-app.sh [outfile]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-action/app-dist/index.js}"
npx esbuild src/app/actions-main.ts --bundle --platform=node --format=esm --target=node20 \
  --preserve-symlinks --legal-comments=none --log-level=error --outfile="$out" \
  --banner:js="import { createRequire as __gatepassCreateRequire } from 'node:module'; const require = __gatepassCreateRequire(import.meta.url);"
