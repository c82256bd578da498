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

# Debian's chromium, which test/integration/temporal-ui.test.ts drives headless (playwright-core's
# own browser downloads are not used). Installed as the stack installs slapd and PostgreSQL: as
# root on a Debian-family system; otherwise the command is printed and that test fails until then.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  chromium_install="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium from Debian's archive (the Temporal UI test drives it headless)..."
    sh -c "$chromium_install" 2>&1 | { grep -E '^(Get|Setting up|E:)' || true; } | sed 's/^/  /' || true
    if ! command -v chromium >/dev/null 2>&1; then
      echo "setup: could not install chromium (see above); test/integration/temporal-ui.test.ts will fail until it is installed: $chromium_install" >&2
    fi
  else
    echo "setup: chromium is not installed; test/integration/temporal-ui.test.ts needs it. Install it with:" >&2
    echo "  sudo sh -c '$chromium_install'" >&2
    echo "(or set CHROMIUM to a Chromium binary)" >&2
  fi
fi
