#!/usr/bin/env bash
# `npm run rehearse`: the boot rehearsal in two phases.
# 1. prepare, in the host's network namespace (it needs the apt mirror): the cached Debian 12 image, the
#    local package repository, the stand-in package and the CLI build.
# 2. the rehearsal itself, inside a private *client* namespace (192.0.2.1) joined by veths to two
#    machine namespaces: the deployment's (192.0.2.2) and the image path's (192.0.2.3), which boot at
#    the same time. No address, link or route is added to the host's own namespace: this machine's own
#    network may be 192.0.2.0/24 itself.
# Extra arguments (e.g. reporters) go to phase 2's `vitest run`.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() {
  echo "npm run rehearse: $*" >&2
  exit 1
}
[ "$(uname -s)" = Linux ] || fail "the boot rehearsal needs Linux (this is $(uname -s))."
[ "$(id -u)" = 0 ] || fail "the boot rehearsal needs root (it makes network namespaces and boots a container): run it as root or with sudo."
missing=()
for tool in debootstrap systemd-nspawn dpkg-scanpackages dpkg-deb ip nsenter openssl python3 dbus-run-session gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] ||
  fail "the boot rehearsal needs ${missing[*]}: apt-get install debootstrap systemd-container dpkg-dev iproute2 util-linux openssl python3 dbus gnome-keyring libsecret-tools."

CLIENT=dictumal-rehearsal-client
MACHINE=dictumal-rehearsal
IMAGE=dictumal-rehearsal-image
state=$(mktemp /tmp/dictumal-rehearsal-state.XXXXXX)

cleanup() {
  set +e
  # A rehearsal killed hard can leave its container running: end exactly those nspawn processes, by id.
  for pid in $(pgrep -x systemd-nspawn || true); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE -- "--network-namespace-path=/run/netns/($MACHINE|$IMAGE) "; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  # …and the overlays it had mounted for them.
  local run_dir
  run_dir=$(grep -o '"runDir":"[^"]*"' "$state" 2>/dev/null | cut -d'"' -f4 || true)
  if [[ "$run_dir" == /var/tmp/dictumal-rehearsal-* ]]; then
    sleep 2
    grep -o " $run_dir/[^ ]*" /proc/self/mounts | sort -r | while read -r mount; do umount -l "$mount"; done
    if [ "${DICTUMAL_REHEARSAL_KEEP:-}" != 1 ]; then rm -rf "$run_dir"; fi
  fi
  ip netns del "$CLIENT" 2>/dev/null || true
  ip netns del "$MACHINE" 2>/dev/null || true
  ip netns del "$IMAGE" 2>/dev/null || true
  rm -rf "$state" "${keyring:-}"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "=== boot rehearsal: prepare (image, package repository, stand-ins, CLI)"
DICTUMAL_REHEARSAL_PHASE=prepare DICTUMAL_REHEARSAL_STATE="$state" npx vitest run -c vitest.rehearsal.config.ts

# Leftovers of a run that was killed before its trap ran carry these fixed names.
for ns in "$CLIENT" "$MACHINE" "$IMAGE"; do ip netns del "$ns" 2>/dev/null || true; done
for ns in "$CLIENT" "$MACHINE" "$IMAGE"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip -n "$CLIENT" addr add 192.0.2.1/32 dev lo
# DigitalOcean's metadata service: a link-local route from each machine, answered by a stand-in in the
# client namespace (the rehearsal's own process), as a host outside the droplet.
ip -n "$CLIENT" addr add 169.254.169.254/32 dev lo
link=0
for pair in "$MACHINE:192.0.2.2" "$IMAGE:192.0.2.3"; do
  ns=${pair%%:*}
  address=${pair#*:}
  ip -n "$CLIENT" link add "rh$link" type veth peer name eth0 netns "$ns"
  ip -n "$CLIENT" link set "rh$link" up
  ip -n "$CLIENT" route add "$address/32" dev "rh$link" src 192.0.2.1
  ip -n "$ns" addr add "$address/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add 169.254.169.254/32 dev eth0
  link=$((link + 1))
done

echo "=== boot rehearsal: boot and checks (inside network namespace $CLIENT)"
# nsenter --net changes only the network namespace (ip netns exec would also remount /sys and hide the
# cgroup hierarchy nspawn needs). dbus-run-session: a private session bus for the rehearsal's own keyring,
# gone with the run.
keyring=$(mktemp -d /tmp/dictumal-rehearsal-keyring.XXXXXX)
DICTUMAL_REHEARSAL_STATE="$state" DICTUMAL_REHEARSAL_NETNS="$MACHINE" DICTUMAL_REHEARSAL_IMAGE_NETNS="$IMAGE" \
  DICTUMAL_REHEARSAL_PRIVATE_BUS=1 \
  nsenter --net="/run/netns/$CLIENT" -- dbus-run-session -- env XDG_DATA_HOME="$keyring" bash -c '
    printf %s dictumal-rehearsal | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    exec npx vitest run -c vitest.rehearsal.config.ts "$@"' rehearsal "$@"
