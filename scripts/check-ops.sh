#!/usr/bin/env bash
# npm run check:ops: the alert rules under Prometheus's own checker, on their own (the suite runs the
# same two commands in test/integration/ops-promtool.test.ts). Builds promtool once from its Go
# module (github.com/prometheus/prometheus, the version below; minutes on two cores) into the same
# cache as the Temporal CLI and the stack's Prometheus, then runs `promtool check rules` and
# `promtool test rules` (ops/prometheus/provisioner-alerts.test.yml: recorded series, the alerts
# that must fire).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${PROMETHEUS_VERSION:-v0.316.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/provisioner/bin"
promtool="$cache/promtool-$version"
if ! command -v go >/dev/null 2>&1 && [[ ! -x "$promtool" ]]; then
  echo "check-ops: promtool needs Go to build (or put a promtool at $promtool)" >&2
  exit 2
fi
if [[ ! -x "$promtool" ]]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d)"
  echo "check-ops: building promtool $version (once; cached in $cache)" >&2
  GOBIN="$tmp" go install "github.com/prometheus/prometheus/cmd/promtool@$version"
  mv "$tmp/promtool" "$promtool"
  rmdir "$tmp"
fi
"$promtool" check rules ops/prometheus/provisioner-alerts.yml
(cd ops/prometheus && "$promtool" test rules provisioner-alerts.test.yml)
