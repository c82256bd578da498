#!/usr/bin/env bash
# `npm run demo`: installs what it needs, then runs the demo (stack, apps, provisioner dev, hires).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/provisioner.js demo "$@"
