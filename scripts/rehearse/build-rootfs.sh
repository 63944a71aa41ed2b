#!/usr/bin/env bash
# Builds the rehearsal's base image: Debian 12 (bookworm) with systemd, cloud-init and what a
# DigitalOcean Ubuntu image has that the recipe relies on (python3, curl, openssl, sudo, an SSH server,
# en_US.UTF-8). The cache key is a hash of this file, so any change here builds a fresh image.
# Usage: build-rootfs.sh DEST MIRROR   (DEST must not exist; it appears only when complete)
set -euo pipefail
dest=$1
mirror=$2
tmp="$dest.partial"
rm -rf "$tmp"

include=systemd,systemd-sysv,dbus,cloud-init,python3,python3-yaml,curl,openssl,ca-certificates,locales
include+=,iproute2,openssh-server,sudo,procps,kmod,less,netbase,gpg,apt-transport-https

debootstrap --variant=minbase --include="$include" bookworm "$tmp" "$mirror"

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
