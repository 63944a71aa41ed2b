#!/usr/bin/env bash
# Builds the rehearsal's base image: Debian 12 (bookworm) with systemd, cloud-init and what a
# DigitalOcean Ubuntu image has that the recipe relies on (python3, curl, openssl, sudo, an SSH server,
# en_US.UTF-8). The cache key is a hash of this file, so any change here builds a fresh image.
# Usage: build-rootfs.sh DEST MIRROR [SECURITY_MIRROR]   (DEST must not exist; it appears only when complete)
set -euo pipefail
dest=$1
mirror=$2
security=${3:-}
tmp="$dest.partial"
cleanup() { umount "$tmp/proc" 2>/dev/null || true; }
trap cleanup EXIT
rm -rf "$tmp"

# debootstrap's own resolver does not follow virtual packages (python3-cryptography needs one), so it
# lays only the base; apt inside the new root installs the rest.
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,locales bookworm "$tmp" "$mirror"

{
  echo "deb $mirror bookworm main"
  echo "deb $mirror bookworm-updates main"
  if [ -n "$security" ]; then echo "deb $security bookworm-security main"; fi
} >"$tmp/etc/apt/sources.list"
cp /etc/resolv.conf "$tmp/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
mount -t proc proc "$tmp/proc"
packages=(cloud-init python3 python3-yaml curl openssl ca-certificates iproute2 openssh-server sudo procps kmod less netbase gpg)
chroot "$tmp" apt-get -q -o Acquire::Retries=3 update
DEBIAN_FRONTEND=noninteractive chroot "$tmp" apt-get -y -q -o Acquire::Retries=3 -o Dpkg::Options::=--force-unsafe-io \
  install --no-install-recommends "${packages[@]}"
chroot "$tmp" apt-get clean
umount "$tmp/proc"
rm -f "$tmp/usr/sbin/policy-rc.d" "$tmp/etc/resolv.conf"

# cloud-init's locale module asks for en_US.UTF-8, and Debian's locale-gen ignores its arguments.
echo 'en_US.UTF-8 UTF-8' >"$tmp/etc/locale.gen"
chroot "$tmp" locale-gen >/dev/null
echo 'LANG=en_US.UTF-8' >"$tmp/etc/default/locale"

# What the image (not user data) decides: NoCloud seed only, the network set up by the harness, and
# apt sources kept as the image has them (the rehearsal's local repository).
cat >"$tmp/etc/cloud/cloud.cfg.d/90-dictumal-rehearsal.cfg" <<'CFG'
datasource_list: [ NoCloud, None ]
network: {config: disabled}
apt:
  preserve_sources_list: true
CFG

# apt: no translations, and the sources are written for each boot.
printf 'Acquire::Languages "none";\n' >"$tmp/etc/apt/apt.conf.d/99-dictumal-rehearsal"
rm -f "$tmp/etc/apt/sources.list" "$tmp"/etc/apt/sources.list.d/*
rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/archives/*.deb

# Every boot is a new machine: no machine id, no cloud-init state (cloud-init replaces the host keys).
: >"$tmp/etc/machine-id"
rm -rf "$tmp/var/lib/cloud"
echo localhost >"$tmp/etc/hostname"

mv "$tmp" "$dest"
