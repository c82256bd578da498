#!/usr/bin/env bash
# Measures our SCIM target app against an independent RFC 7643/7644 compliance checker
# (scim2-tester, pinned in scripts/scim-compliance/requirements.txt): installs the checker into
# .provisioner/scim-compliance/venv, starts a target app on a free port with a fresh token, runs
# every check and prints the counts and each failure. Exit status 1 when an applicable check failed.
#   bash scripts/scim-compliance.sh [--profile standard] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=standard
json=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --json) json=(--json); shift ;;
    *) echo "usage: bash scripts/scim-compliance.sh [--profile <name>] [--json]" >&2; exit 2 ;;
  esac
done

if [ ! -d node_modules ]; then
  echo "scim-compliance: node_modules is missing; run bash scripts/setup.sh first" >&2
  exit 1
fi
launcher=dist/scripts/scim-compliance/target.js
if [ ! -e "$launcher" ] || [ -n "$(find targets scripts/scim-compliance observability -name '*.ts' -newer "$launcher" -print -quit)" ]; then
  echo "scim-compliance: building dist/ (tsc)..." >&2
  npx tsc -p tsconfig.build.json >&2
fi
bash scripts/scim-compliance/install.sh >&2

SCIM_COMPLIANCE_TOKEN=$(node -p 'require("node:crypto").randomBytes(24).toString("base64url")')
export SCIM_COMPLIANCE_TOKEN
work=$(mktemp -d)
# The app stops when this script's end closes its stdin (the fifo's writer), whatever the exit path.
mkfifo "$work/stdin"
node dist/scripts/scim-compliance/target.js --profile "$profile" <"$work/stdin" >"$work/url" &
exec 3>"$work/stdin"
trap 'exec 3>&-; wait; rm -rf "$work"' EXIT

for _ in $(seq 1 100); do
  [ -s "$work/url" ] && break
  kill -0 $! 2>/dev/null || { echo "scim-compliance: the target app did not start (see its output above)" >&2; exit 1; }
  sleep 0.1
done
url=$(head -n 1 "$work/url")
[ -n "$url" ] || { echo "scim-compliance: the target app did not print its URL within 10 s" >&2; exit 1; }
echo "scim-compliance: checking $url (profile $profile)" >&2
.provisioner/scim-compliance/venv/bin/python scripts/scim-compliance/run.py --url "$url" "${json[@]}"
