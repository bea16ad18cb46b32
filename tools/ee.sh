#!/usr/bin/env bash
# Render the execution environment's build context (no image is built here): the collection
# tarball of this checkout into .artifacts/ee/collections/cim-nats.tar.gz (the name
# execution-environment.yml installs), then `ansible-builder create` into .artifacts/ee/context/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$CIM_NATS_ROOT"
out=.artifacts/ee
rm -rf "$out"
mkdir -p "$out/collections"
ansible-galaxy collection build --force --output-path "$out/collections" >/dev/null
mv "$out"/collections/cim-nats-*.tar.gz "$out/collections/cim-nats.tar.gz"
ansible-builder create -f execution-environment.yml -c "$out/context" --output-filename Containerfile
echo "build it with: podman build -f $out/context/Containerfile -t cim-nats-ee $out/context"
