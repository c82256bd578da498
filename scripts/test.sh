#!/usr/bin/env bash
# `npm test`: installs what it needs, then runs every test layer. The integration layer brings the
# real local stack up (or reuses it) in its global setup.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx vitest run "$@"
