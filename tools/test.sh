#!/usr/bin/env bash
# The README's test command: set up what is missing, then run every test through one pytest run
# (unit, integration against a real nats-server, lint and sanity, Molecule scenarios).
set -euo pipefail
"$(dirname "$0")/bootstrap.sh"
source "$(dirname "$0")/env.sh"
cd "$CIM_NATS_ROOT"
mkdir -p .artifacts
set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure here, not a pass" >&2
  exit 1
fi
exit "$rc"
