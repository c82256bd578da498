#!/usr/bin/env bash
# npm run check:ops: the alert rules under Prometheus's own checker. Builds promtool once from its Go
# module (github.com/prometheus/prometheus, the version below; about 7 minutes on two cores) into
# the same cache as the Temporal CLI, then runs `promtool check rules` and `promtool test rules`
# (ops/prometheus/provisioner-alerts.test.yml: recorded series, the alerts that must fire). Not part
# of `npm test` because of the first build; the suite's ops-alerts-dashboard test parses the same
# files and checks every series they query.
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
