#!/usr/bin/env bash
# Everything a fresh machine needs before the sandbox or the tests: the pinned venv, the
# collection link, a running Docker engine and the systemd test image. Safe to run again: each
# step does nothing when it is already done.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CIM_NATS_ROOT"

# 1. Python tool chain, reinstalled only when requirements.txt changes.
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing the pinned tool chain into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" >"$stamp"
fi

# 1b. Real nats-server binaries of the releases the tests run against (tools/server_releases.txt).
tools/server_releases.sh 2> >(grep -v "^WARNING: Location" >&2)

# 2. This checkout as the collection cim.nats.
mkdir -p .collections/ansible_collections/cim
ln -sfn "$CIM_NATS_ROOT" .collections/ansible_collections/cim/nats

# 3. A Docker engine: use a running one; on Debian as root, install and start one.
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
      echo "==> installing docker.io and debootstrap from Debian"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
    fi
    if ! docker info >/dev/null 2>&1; then
      echo "==> starting dockerd (log: /var/log/cim-nats-dockerd.log)"
      nohup dockerd >/var/log/cim-nats-dockerd.log 2>&1 &
      for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
  fi
  docker info >/dev/null 2>&1 || {
    echo "No Docker engine is reachable. Install and start Docker (and debootstrap to build the" >&2
    echo "local test image), or run this as root on Debian to have it done for you." >&2
    exit 1; }
fi

# 4. The systemd test images: one per Debian release of tools/image/releases.txt (the default
# Molecule scenario runs on each; the main one, Debian 12, is $CIM_NATS_LOCAL_IMAGE).
command -v debootstrap >/dev/null || {
  [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }; }
for version in $(awk '!/^#/ && NF {print $1}' tools/image/releases.txt); do
  tools/image/build.sh "$version"
done
