#!/usr/bin/env bash
# Bundles the action into one ESM file: action/dist/index.js (committed; a test fails if stale).
# Usage: scripts/build-action.sh [outfile]
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bundle.mjs src/action/index.ts "${1:-action/dist/index.js}"
