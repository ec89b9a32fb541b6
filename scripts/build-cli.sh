#!/usr/bin/env bash
# Bundles the CLI into one self-contained ESM file: action/cli.js (committed next to the action,
# so an access repo runs `node action/cli.js …` with nothing installed and nothing fetched from
# a registry; a test fails if it is stale). Usage: scripts/build-cli.sh [outfile]
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bundle.mjs src/cli/bin.ts "${1:-action/cli.js}"
