#!/usr/bin/env bash
# Installs the SCIM compliance checker (scim2-tester, pinned in requirements.txt) into a virtualenv
# of its own under .provisioner/, where scripts/scim-compliance.sh and the compliance test find it.
# Idempotent and quick when nothing changed: reinstalls only when requirements.txt is newer than
# the last install. Needs python3 (3.11 or newer, with venv) and the network on the first run.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.provisioner/scim-compliance/venv
stamp=$venv/.installed
requirements=scripts/scim-compliance/requirements.txt

if [ -e "$stamp" ] && [ ! "$requirements" -nt "$stamp" ]; then exit 0; fi

if ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "scim-compliance: the checker (scim2-tester) needs python3 3.11 or newer (found: $(python3 --version 2>&1 || echo none))" >&2
  exit 1
fi
echo "scim-compliance: installing scim2-tester into $venv..."
mkdir -p "$(dirname "$venv")"
if [ ! -x "$venv/bin/python" ] && ! python3 -m venv "$venv"; then
  echo "scim-compliance: python3 -m venv failed; install your distribution's python3-venv package" >&2
  exit 1
fi
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"; then
  echo "scim-compliance: pip could not install $requirements (see pip's output above)" >&2
  exit 1
fi
touch "$stamp"
