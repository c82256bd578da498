#!/usr/bin/env bash
# Shared set-up for the README's commands: npm dependencies and the compiled CLI.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "provisioner needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none)); install it from https://nodejs.org" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies..."
  # `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional packages (@swc/core-*)
  # out of the lock file, which `npm ci` then rejects as out of sync.
  npm install --no-audit --no-fund
else
  npm run --silent build
fi
