// The droplet's setup script: the real work of the recipe, run once from cloud-init's runcmd with
// strict bash, an error trap that records the failed step in the beacon, and one log file.
import { BEACON_SERVER_COMMAND, BEACON_SERVICE } from './beacon'
import { DESKTOP_USER, DROPLET_PATHS, FIREWALL_ALLOWED_TCP_PORTS, GUACAMOLE_IMAGE, GUACD_IMAGE } from './paths'

/** Without recommends: ~150 packages instead of ~365 (see reference/droplet-stack.md). */
export const DESKTOP_PACKAGES = [
  'xfce4',
  'xfce4-terminal',
  'mousepad',
  'dbus-x11',
  'xfonts-base',
  // Recommends would bring an icon theme and a UI font; without them panels show blank icons.
  'adwaita-icon-theme',
  'fonts-dejavu-core',
  'tigervnc-standalone-server',
  'tigervnc-common',
  'tigervnc-tools',
  'nginx',
] as const

export const VNC_GEOMETRY = '1600x900'

/*
 * Notes on choices that only show on a real droplet (kept out of the script to save user-data bytes;
 * see also the user-data size budget test):
 * - NEEDRESTART_SUSPEND: with mode "a" alone needrestart may restart docker.service after an install
 *   that replaced a library, killing the background image pulls.
 * - DPkg::Lock::Timeout covers the dpkg lock only; apt's lists lock (apt-get update) is taken without
 *   waiting, hence `retry`. Acquire::Retries retries single downloads from the mirror.
 * - on_exit: set -u, ${VAR:?} and fatal signals (a reboot mid-setup) bypass the ERR trap, which left the
 *   beacon at "still running" forever and policy-rc.d in place, silently keeping every later package
 *   from starting its service. Background jobs do not inherit EXIT or ERR-on-async, so the pulls are safe.
 * - tigervncpasswd is Debian's binary; `vncpasswd` is only an alternatives link to it.
 * - tigervncserver@.service is Type=forking and reports success before Xvnc listens, so a session
 *   that dies at once would still have ended in "done"; waiting for 5901 makes that a start-vnc failure.
 */

export function setupScript(): string {
  const p = DROPLET_PATHS
  const user = DESKTOP_USER
  const home = `/home/${user}`
  const ufwAllows = FIREWALL_ALLOWED_TCP_PORTS.map((port) => `ufw allow ${port}/tcp`).join('\n')
  return `#!/bin/bash
# Dictumal droplet setup: desktop user, firewall, XFCE + TigerVNC, Guacamole in Docker, Nginx on 443.
# Runs once from cloud-init runcmd. Output: ${p.log}. A failed step is published in the beacon.
set -euo pipefail
set -o errtrace
umask 022
touch ${p.log}
chmod 0640 ${p.log}
exec >>${p.log} 2>&1

BEACON=${p.beaconScript}
STEP=boot
export DEBIAN_FRONTEND=noninteractive
# needrestart must neither ask nor restart services (docker mid-pull) during setup.
export NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
RETRY_DELAY=\${DICTUMAL_RETRY_DELAY:-15}
FAILED=

step() {
  STEP=$1
  echo "==> $(date -u +%Y-%m-%dT%H:%M:%SZ) step $STEP"
  "$BEACON" step "$STEP"
}

on_error() {
  local code=$1 line=$2
  trap - ERR
  set +e
  FAILED=1
  echo "!! $(date -u +%Y-%m-%dT%H:%M:%SZ) step $STEP failed with exit code $code (line $line)"
  rm -f /usr/sbin/policy-rc.d
  "$BEACON" fail "$STEP" "$code"
  # Keep the beacon reachable if Nginx never took over port 80.
  if ! systemctl is-active --quiet nginx; then start_beacon_server; fi
  exit "$code"
}
trap 'on_error $? $LINENO' ERR

on_exit() {
  local code=$?
  rm -f /usr/sbin/policy-rc.d
  if [ "$code" -ne 0 ] && [ -z "$FAILED" ]; then on_error "$code" "?"; fi
}
trap on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

retry() {
  local attempt=1 code
  until "$@"; do
    code=$?
    if [ "$attempt" -ge 3 ]; then return "$code"; fi
    echo "-- attempt $attempt failed (exit $code): $*"
    sleep $((attempt * RETRY_DELAY))
    attempt=$((attempt + 1))
  done
}

wait_for_port() {
  local port=$1 seconds=$2
  while [ "$seconds" -gt 0 ]; do
    if timeout 2 bash -c ": </dev/tcp/127.0.0.1/$port" 2>/dev/null; then return 0; fi
    sleep 1
    seconds=$((seconds - 1))
  done
  echo "!! nothing listens on 127.0.0.1:$port"
  return 1
}

start_beacon_server() {
  systemctl is-active --quiet ${BEACON_SERVICE}.service || ${BEACON_SERVER_COMMAND}
}

# shellcheck source=/dev/null
. ${p.secretsEnv}
: "\${VNC_PASSWORD:?missing from ${p.secretsEnv}}" "\${USER_PASSWORD:?missing from ${p.secretsEnv}}"

echo "==> $(date -u +%Y-%m-%dT%H:%M:%SZ) Dictumal setup starting"
start_beacon_server
systemctl is-active --quiet dictumal-beacon-watch.service ||
  systemd-run --no-block --collect --unit=dictumal-beacon-watch "$BEACON" watch

step create-user
if ! id ${user} >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --groups sudo ${user}
fi
printf '${user}:%s\\n' "$USER_PASSWORD" | chpasswd
install -d -o ${user} -g ${user} -m 0755 ${home}/Desktop
install -o ${user} -g ${user} -m 0644 ${p.constitution} ${p.desktopConstitution}
install -d -o ${user} -g ${user} -m 0700 ${home}/.ssh
keys=${home}/.ssh/authorized_keys
: >"$keys"
# DigitalOcean puts the account keys chosen at create time into root's file.
for source in /root/.ssh/authorized_keys ${p.authorizedKeys}; do
  if [ -f "$source" ]; then
    grep -E '^(ssh-|ecdsa-|sk-)' "$source" >>"$keys" || true
  fi
done
sort -u -o "$keys" "$keys"
chown ${user}:${user} "$keys"
chmod 0600 "$keys"

step configure-firewall
if ! command -v ufw >/dev/null; then
  retry "\${APT[@]}" update
  "\${APT[@]}" install --no-install-recommends ufw
fi
ufw default deny incoming
ufw default allow outgoing
${ufwAllows}
ufw --force enable

step install-docker
retry "\${APT[@]}" update
"\${APT[@]}" install --no-install-recommends docker.io
systemctl enable --now docker
# The images download while apt installs the desktop.
retry docker pull --quiet ${GUACD_IMAGE} &
pull_guacd=$!
retry docker pull --quiet ${GUACAMOLE_IMAGE} &
pull_guacamole=$!

step install-packages
# Packaged services must not start yet: the beacon still owns port 80, and Nginx would fight it.
printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
"\${APT[@]}" install --no-install-recommends ${DESKTOP_PACKAGES.join(' ')}
rm -f /usr/sbin/policy-rc.d

step pull-images
wait "$pull_guacd"
wait "$pull_guacamole"

step start-vnc
# install -d would make ~/.config root-owned, and XFCE could not save anything.
install -d -o ${user} -g ${user} -m 0755 ${home}/.config
vnc_passwd=$(command -v tigervncpasswd || command -v vncpasswd)
for dir in ${home}/.vnc ${home}/.config/tigervnc; do
  install -d -o ${user} -g ${user} -m 0700 "$dir"
  printf '%s\\n' "$VNC_PASSWORD" | "$vnc_passwd" -f >"$dir/passwd"
  printf 'session=xfce\\ngeometry=${VNC_GEOMETRY}\\nlocalhost\\nsecuritytypes=vncauth\\nalwaysshared\\n' >"$dir/config"
  chown ${user}:${user} "$dir/passwd" "$dir/config"
  chmod 0600 "$dir/passwd" "$dir/config"
done
printf '#!/bin/sh\\nunset SESSION_MANAGER DBUS_SESSION_BUS_ADDRESS\\nexec dbus-launch --exit-with-session startxfce4\\n' >${home}/.vnc/xstartup
chown ${user}:${user} ${home}/.vnc/xstartup
chmod 0755 ${home}/.vnc/xstartup
printf ':1=${user}\\n' >/etc/tigervnc/vncserver.users
systemctl enable --now tigervncserver@:1
# Type=forking succeeds before Xvnc listens: a dead desktop must fail here, not end in "done".
if ! wait_for_port 5901 90; then
  systemctl status --no-pager --lines=30 tigervncserver@:1 || true
  tail -n 30 ${home}/.vnc/*.log || true
  false
fi

step start-guacamole
docker rm -f guacd guacamole >/dev/null 2>&1 || true
# Host networking: nothing is published past UFW, and guacd reaches the loopback-only VNC server.
docker run -d --name guacd --restart unless-stopped --network host \\
  ${GUACD_IMAGE} /opt/guacamole/sbin/guacd -b 127.0.0.1 -L info -f
docker run -d --name guacamole --restart unless-stopped --network host \\
  --env-file ${p.guacamoleEnv} ${GUACAMOLE_IMAGE}

step configure-https
install -m 0644 ${p.nginxSite} /etc/nginx/sites-available/dictumal
rm -f /etc/nginx/sites-enabled/default
ln -sf /etc/nginx/sites-available/dictumal /etc/nginx/sites-enabled/dictumal
nginx -t
touch ${p.stateDir}/nginx
systemctl stop ${BEACON_SERVICE}.service || true
systemctl enable nginx
systemctl restart nginx

step "done"
echo "==> $(date -u +%Y-%m-%dT%H:%M:%SZ) Dictumal setup finished"
`
}
