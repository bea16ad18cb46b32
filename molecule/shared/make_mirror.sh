#!/usr/bin/env bash
# make_mirror.sh OUT VERSION=BIN [VERSION=BIN ...] [--tamper VERSION]
# A release-shaped tree under OUT/releases, as nats-server's releases are laid out:
#   v<VERSION>/nats-server-v<VERSION>-linux-<arch>.tar.gz and v<VERSION>/SHA256SUMS
# from real nats-server binaries. --tamper changes that version's archive after its checksum was
# taken, so a test can prove a sha256 mismatch is refused.
set -euo pipefail
out=$1; shift
case $(uname -m) in
  x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7l) arch=arm7 ;; *) arch=$(uname -m) ;;
esac
rm -rf "$out" && mkdir -p "$out/releases"
tamper=""
while [ $# -gt 0 ]; do
  case $1 in
    --tamper) tamper=$2; shift 2; continue ;;
  esac
  version=${1%%=*} bin=${1#*=}
  shift
  name=nats-server-v$version-linux-$arch
  dir=$out/releases/v$version
  mkdir -p "$dir" "$out/stage/$name"
  cp "$bin" "$out/stage/$name/nats-server"
  printf 'test build for cim.nats\n' >"$out/stage/$name/README.md"
  tar -C "$out/stage" -czf "$dir/$name.tar.gz" "$name"
  (cd "$dir" && sha256sum "$name.tar.gz" >SHA256SUMS)
done
if [ -n "$tamper" ]; then
  printf 'tampered' >>"$out/releases/v$tamper/nats-server-v$tamper-linux-$arch.tar.gz"
fi
rm -rf "$out/stage"
