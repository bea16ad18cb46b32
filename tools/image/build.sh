#!/usr/bin/env bash
# Builds a systemd test image without any container registry: debootstrap a Debian root
# filesystem, then `docker import` it. `build.sh <version>` builds cim-nats/debian<version>-systemd:latest
# from that release of tools/image/releases.txt (12 when none is given). The image carries a label
# with the hash of its recipe (this script, packages.txt and the release), so it is rebuilt only
# when the recipe changes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=${1:-12}
suite=$(awk -v v="$version" '$1 == v {print $2}' "$here/releases.txt")
[ -n "$suite" ] || { echo "Debian $version is not in $here/releases.txt" >&2; exit 1; }
image=cim-nats/debian$version-systemd:latest
mirror=${CIM_NATS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

recipe_hash=$( (cat "$here/build.sh" "$here/packages.txt"; echo "$suite") | sha256sum | cut -c1-16)
# No such image yet: empty, so it is built below.
current=$(docker image inspect -f '{{ index .Config.Labels "cim.nats.recipe" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$recipe_hash" ]; then
  echo "test image $image is up to date (recipe $recipe_hash)"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }
work=$(mktemp -d /var/tmp/cim-nats-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
packages=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)

echo "building $image from Debian $version ($suite, recipe $recipe_hash); this takes a few minutes"
debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2; exit 1; }

root=$work/rootfs
# A container has no consoles or kernel modules to manage: mask the units that would wait on them.
for unit in getty@tty1.service serial-getty@.service console-getty.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-modules-load.service sys-kernel-config.mount \
    sys-kernel-debug.mount sys-fs-fuse-connections.mount systemd-remount-fs.service \
    systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
: >"$root/etc/machine-id"
echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*.sources
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*

tar -C "$root" -c . | docker import \
  --change 'CMD ["/sbin/init"]' \
  --change "ENV container=docker" \
  --change "LABEL cim.nats.recipe=$recipe_hash" \
  --change "LABEL cim.nats.debian=$version" \
  - "$image" >/dev/null
echo "built $image"
