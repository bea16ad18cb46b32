#!/usr/bin/env bash
# make_mirror.sh BIN OUT: a release-shaped tree under OUT/releases from a nats-server binary:
#   v2.15.1/nats-server-v2.15.1-linux-amd64.tar.gz + SHA256SUMS   (good)
#   v2.15.2/nats-server-v2.15.2-linux-amd64.tar.gz + SHA256SUMS   (archive tampered after summing)
set -euo pipefail
bin=$1 out=$2
case $(uname -m) in
  x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7l) arch=arm7 ;; *) arch=$(uname -m) ;;
esac
rm -rf "$out" && mkdir -p "$out/releases"
for version in 2.15.1 2.15.2; do
  name=nats-server-v$version-linux-$arch
  dir=$out/releases/v$version
  mkdir -p "$dir" "$out/stage/$name"
  cp "$bin" "$out/stage/$name/nats-server"
  printf 'test build for cim.nats\n' >"$out/stage/$name/README.md"
  tar -C "$out/stage" -czf "$dir/$name.tar.gz" "$name"
  (cd "$dir" && sha256sum "$name.tar.gz" >SHA256SUMS)
done
# Tamper with 2.15.2 after its checksum was taken.
printf 'tampered' >>"$out/releases/v2.15.2/nats-server-v2.15.2-linux-$arch.tar.gz"
rm -rf "$out/stage"
