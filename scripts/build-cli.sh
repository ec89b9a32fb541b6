#!/usr/bin/env bash
# Bundles the CLI into one self-contained ESM file: action/cli.js (committed next to the action,
# so an access repo runs `node action/cli.js …` with nothing installed and nothing fetched from
# a registry; a test fails if it is stale). Usage: scripts/build-cli.sh [outfile]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-action/cli.js}"
npx esbuild src/cli/bin.ts --bundle --platform=node --format=esm --target=node20 \
  --preserve-symlinks --legal-comments=none --log-level=warning --outfile="$out" \
  --banner:js="import { createRequire as __gatepassCreateRequire } from 'node:module'; const require = __gatepassCreateRequire(import.meta.url);"
