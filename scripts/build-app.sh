#!/usr/bin/env bash
# Bundles the app for GitHub Actions (no server) into one ESM file: action/app-dist/index.js
# (committed; a test fails if stale). Usage: scripts/build-app.sh [outfile]
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bundle.mjs src/app/actions-main.ts "${1:-action/app-dist/index.js}"
