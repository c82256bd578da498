#!/usr/bin/env bash
# npm run bench: compiles bench/ (and what it imports) into dist/, makes sure the local stack runs,
# then runs the end-to-end benchmark. Flags go to bench/run.ts, e.g.
#   bash bench/run.sh --joiners 300 --json bench/results/$(date +%F)-2core.json
# A first argument naming another benchmark runs that one instead, with the rest of the flags:
#   npm run bench -- reconcile | fence-burst | policy-rollout   (bench/<name>.ts)
# BENCH_PROFILE=<dir> also writes a V8 CPU profile of the bench process (all its threads) there;
# BENCH_LOG_LEVEL=<level> is --log-level (the bench's own processes log nothing by default).
# With the local Prometheus running (`npx provisioner stack up prometheus`), the run also prints its
# key series read back from Prometheus (bench/prometheus-report.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p bench/tsconfig.json
npx provisioner stack up >&2
script=dist/bench/run.js
case "${1:-}" in
  reconcile|fence-burst|policy-rollout) script="dist/bench/$1.js"; shift ;;
esac
if [[ -n "${BENCH_LOG_LEVEL:-}" ]]; then set -- --log-level "$BENCH_LOG_LEVEL" "$@"; fi
if [[ -n "${BENCH_PROFILE:-}" ]]; then
  mkdir -p "$BENCH_PROFILE"
  exec node --cpu-prof --cpu-prof-dir="$BENCH_PROFILE" "$script" "$@"
fi
exec node "$script" "$@"
