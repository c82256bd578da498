#!/usr/bin/env bash
# Shared set-up for the README's commands: npm dependencies and the compiled CLI.
# Idempotent and quick when nothing changed: installs only when node_modules is missing or older
# than package-lock.json, and builds only when a source is newer than the last build.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "provisioner needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none)); install it from https://nodejs.org" >&2
  exit 1
fi

stamp=dist/.setup-built
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci, exactly as package-lock.json says)..."
  # npm ci builds dist/ too (the `prepare` script).
  if ! npm ci --no-audit --no-fund; then
    echo "setup: npm ci failed (see the npm output above); the project needs its npm dependencies to run" >&2
    exit 1
  fi
  mkdir -p dist && touch "$stamp"
elif [ ! -e "$stamp" ] || [ -n "$(find . \( -path ./node_modules -o -path ./dist -o -path ./.provisioner -o -path ./.git \) -prune -o \
    \( -name '*.ts' -o -name 'tsconfig*.json' -o -name package.json \) -newer "$stamp" -print -quit)" ]; then
  echo "setup: building dist/ (tsc)..."
  npm run --silent build
  touch "$stamp"
fi

# The SCIM compliance checker (Python) that test/targets/scim-compliance.test.ts runs against our
# target app; the test fails with this script's name when it is missing.
if ! bash scripts/scim-compliance/install.sh; then
  echo "setup: could not install the SCIM compliance checker; test/targets/scim-compliance.test.ts will fail until scripts/scim-compliance/install.sh succeeds" >&2
fi
