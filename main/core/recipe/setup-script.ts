// The droplet's setup script: the real work of the recipe, run from cloud-init's runcmd with strict
// bash, an error trap that records the failed step in the beacon, and one log file. One script, two
// halves: `bake` runs the install half (packages, images; nothing personal), `personalise` the second
// half (user, secrets, services) on a disk baked before, `full` both. Every step converges on a re-run.
import { ACTIVITY_SERVICE, BEACON_SERVER_COMMAND, BEACON_SERVICE } from './beacon'
import { FIREWALL_RULES_MARKER } from './hardening'
import { NGINX_SETUP_LOG_CLOSED, SETUP_LOG_SERVICE } from './setup-log-server'
import { DESKTOP_USER, DROPLET_PATHS, FIREWALL_ALLOWED_TCP_PORTS, GUACAMOLE_IMAGE, GUACD_IMAGE } from './paths'
import { RECIPE_VERSION } from './version'

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

/** Everything the script installs with apt, in order (the boot rehearsal serves exactly these offline). */
export const RECIPE_APT_PACKAGES = ['ufw', 'docker.io', ...DESKTOP_PACKAGES] as const

export const VNC_GEOMETRY = '1600x900'
export type SetupMode = 'full' | 'bake' | 'personalise'

/*
 * Notes on choices that only show on a real droplet (kept out of the script, which travels compressed):
 * - NEEDRESTART_SUSPEND: with mode "a" alone needrestart may restart docker.service after an install
 *   that replaced a library, killing the background image pulls.
 * - DPkg::Lock::Timeout covers the dpkg lock only; apt's lists lock (apt-get update) is taken without
 *   waiting, hence `retry`. Acquire::Retries retries single downloads from the mirror. --force-unsafe-io
 *   skips dpkg's fsyncs (a crash mid-install fails the deploy either way); man-db's trigger is skipped.
 * - on_exit: set -u, ${VAR:?} and fatal signals (a reboot mid-setup) bypass the ERR trap, which left the
 *   beacon at "still running" forever and policy-rc.d in place. Background jobs do not inherit EXIT.
 * - Nothing connects to 5901: TigerVNC black-marks every new connection from an address, and after five
 *   it refuses guacd (the same 127.0.0.1) for 10 s, doubling. `ss` sees the listener without connecting,
 *   and UseBlacklist=0 turns the blacklist off (VNC listens on loopback only).
 * - tigervncserver@.service is Type=forking and reports success before Xvnc listens, so the script waits
 *   for the listener: a desktop that dies at once is a start-vnc failure, not "done".
 * - guacd's image runs `guacd -f -b 0.0.0.0 -L $LOG_LEVEL "$@"`; musl's getopt stops at the first
 *   non-option, so only options may follow the image name for a later -b to win.
 * - The Guacamole images are pulled in the background as soon as Docker is in, and the web app starts the
 *   moment its image is there (Tomcat warms up while apt installs the desktop). Docker Hub allows 10
 *   anonymous pulls per hour per IPv4 address, and DigitalOcean reuses addresses: pulls back off
 *   (30 s, doubling) and a refusal is named in the beacon.
 *   Only a pull-images failure carries that reason: the background pulls may be refused while another
 *   step (start-vnc, say) fails, and that failure is not Docker Hub's. Each round of pulls starts without an old
 *   refusal, so a re-run that fails for another cause is not called a rate limit.
 * - The Tomcat hook is mounted as entrypoint.d/800-*, after the image's 700-configure-features: that step
 *   adds the RemoteIpValve (REMOTE_IP_VALVE_ENABLED) in front of each element under <Host>, and once the
 *   hook has removed the access log there is none, so a hook sourced earlier silently loses the valve.
 * - A full run writes image.json as well once the install half is in: a hibernation snapshot of its disk
 *   resumes with personalise, which refuses a disk without it.
 * - secrets.env is shredded as soon as the passwords are set; the desktop user's password only ever
 *   reaches the droplet as a SHA-512 crypt hash (chpasswd -e). A re-run keeps the passwords it finds.
 * - The log is served to the app (setup-log-server.ts until Nginx owns 443, then Nginx), so nothing
 *   secret is ever written to it; it is group www-data (Nginx's workers, and the small server's
 *   SupplementaryGroups) and no one else's. A log server that cannot start never fails the setup.
 */

export function setupScript(): string {
  const p = DROPLET_PATHS
  const user = DESKTOP_USER
  const home = `/home/${user}`
  const ufwAllows = FIREWALL_ALLOWED_TCP_PORTS.map((port) => `ufw allow ${port}/tcp`).join('\n  ')
  return `#!/bin/bash
# Dictumal droplet setup. Usage: setup full|bake|personalise. Output: ${p.log}.
set -euo pipefail
set -o errtrace
umask 022
MODE=\${1:-full}
case "$MODE" in full | bake | personalise) ;; *) echo "usage: setup full|bake|personalise" >&2; exit 2 ;; esac
touch ${p.log}
chmod 0640 ${p.log}
chgrp www-data ${p.log} || true
exec >>${p.log} 2>&1

BEACON=${p.beaconScript}
STATE=${p.stateDir}
STEP=boot
STEP_AT=$SECONDS
export DEBIAN_FRONTEND=noninteractive
export NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io)
RETRY_DELAY=\${DICTUMAL_RETRY_DELAY:-15}
FAILED=
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

step() {
  if [ "$STEP" != boot ]; then echo "<== $(now) step $STEP took $((SECONDS - STEP_AT)) s"; fi
  STEP=$1
  STEP_AT=$SECONDS
  echo "==> $(now) step $STEP"
  "$BEACON" step "$STEP"
}

on_error() {
  local code=$1 line=$2 reason=
  trap - ERR
  set +e
  FAILED=1
  echo "!! $(now) step $STEP failed with exit code $code (line $line)"
  # The background pulls stop too: a failed droplet starts no containers behind the user's back.
  if [ -n "\${IMAGES:-}" ]; then kill "$IMAGES" 2>/dev/null || true; fi
  rm -f /usr/sbin/policy-rc.d
  if [ "$STEP" = pull-images ]; then reason=$(cat "$STATE/reason" 2>/dev/null); fi
  "$BEACON" fail "$STEP" "$code" \${reason:+"$reason"}
  # Keep the beacon reachable if Nginx never took over port 80, and the setup log if not 443.
  if ! systemctl is-active --quiet nginx; then start_beacon_server; fi
  start_setup_log_server
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

# Waits until something listens on 127.0.0.1:PORT, without connecting to it.
wait_for_listener() {
  local port=$1 seconds=$2
  while [ "$seconds" -gt 0 ]; do
    if [ -n "$(ss -Hltn "sport = :$port")" ]; then return 0; fi
    sleep 1
    seconds=$((seconds - 1))
  done
  echo "!! nothing listens on port $port"
  return 1
}

start_beacon_server() {
  systemctl is-active --quiet ${BEACON_SERVICE}.service || ${BEACON_SERVER_COMMAND}
}

# Serves the setup log on 443 until Nginx does (the marker), for deployments that have a log key.
start_setup_log_server() {
  if [ -e "$STATE/nginx" ] || [ ! -s ${p.logKey} ]; then return 0; fi
  # Its unit arrived with write_files, after systemd read its units.
  systemctl daemon-reload && systemctl start --no-block ${SETUP_LOG_SERVICE}.service ||
    echo "-- the setup log server did not start (exit $?)"
}

pull_image() {
  local image=$1 attempt=1 delay=$((RETRY_DELAY * 2)) out
  if docker image inspect "$image" >/dev/null 2>&1; then return 0; fi
  until out=$(timeout 600 docker pull --quiet "$image" 2>&1); do
    echo "$out"
    if grep -qiE 'toomanyrequests|rate limit' <<<"$out"; then echo docker-rate-limit >"$STATE/reason"; fi
    if [ "$attempt" -ge 5 ]; then return 1; fi
    echo "-- pull of $image failed (attempt $attempt); next try in $delay s"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2))
  done
  echo "$out"
  rm -f "$STATE/reason"
}

# Running containers started with the same configuration are left alone: a re-run (or the personalise
# run of a resumed hibernation, same secrets) must not cut a desktop session someone already opened.
start_containers() {
  local config
  config=$({ cat ${p.guacamoleEnv} ${p.guacamoleHook}; echo "${GUACD_IMAGE} ${GUACAMOLE_IMAGE} r${RECIPE_VERSION}"; } | sha256sum)
  if [ "$(cat "$STATE/containers" 2>/dev/null)" = "$config" ] &&
    [ "$(docker ps --format '{{.Names}}' | grep -cxE 'guacd|guacamole')" = 2 ]; then
    echo "-- guacd and guacamole already run with this configuration"
    return 0
  fi
  docker rm -f guacd guacamole >/dev/null 2>&1 || true
  # Host networking: nothing is published past UFW, and guacd reaches the loopback-only VNC server.
  docker run -d --name guacd --restart unless-stopped --network host ${GUACD_IMAGE} -b 127.0.0.1 -L info
  docker run -d --name guacamole --restart unless-stopped --network host --env-file ${p.guacamoleEnv} \\
    -v ${p.guacamoleHook}:/opt/guacamole/entrypoint.d/800-dictumal.sh:ro ${GUACAMOLE_IMAGE}
  printf '%s' "$config" >"$STATE/containers"
}

# Background: images, then (unless baking) the containers, so Tomcat warms up while apt works.
images() {
  trap - ERR
  rm -f "$STATE/reason"
  echo "--> $(now) pulling ${GUACD_IMAGE} and ${GUACAMOLE_IMAGE}"
  pull_image ${GUACD_IMAGE}
  pull_image ${GUACAMOLE_IMAGE}
  echo "<-- $(now) images ready"
  # An early start only: a failure here is reported by the start-guacamole step, which tries again.
  if [ "$MODE" != bake ]; then start_containers || echo "-- early container start failed (exit $?)"; fi
}

install_half() {
  step configure-firewall
  firewall
  step install-docker
  # man-db rebuilds its index after every install; nobody reads man pages on the way to a desktop.
  rm -f /var/lib/man-db/auto-update
  retry "\${APT[@]}" update
  "\${APT[@]}" install --no-install-recommends docker.io
  systemctl enable --now docker
  images &
  IMAGES=$!
  step install-packages
  # Packaged services must not start yet: the beacon still owns port 80, and Nginx would fight it.
  printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  "\${APT[@]}" install --no-install-recommends ${DESKTOP_PACKAGES.join(' ')}
  rm -f /usr/sbin/policy-rc.d
}

firewall() {
  if ! command -v ufw >/dev/null; then
    retry "\${APT[@]}" update
    "\${APT[@]}" install --no-install-recommends ufw
  fi
  if ! grep -q ${FIREWALL_RULES_MARKER} /etc/ufw/before.rules; then
    sed -i '/^# End required lines/r ${p.firewallRules}' /etc/ufw/before.rules
    grep -q ${FIREWALL_RULES_MARKER} /etc/ufw/before.rules
  fi
  ufw default deny incoming
  ufw default allow outgoing
  ${ufwAllows}
  ufw --force enable
  ufw reload
}

# Work inside the desktop user's home is done as that user: a symlink planted there (~/.config -> /etc)
# then leads nowhere the user could not write already. Root only reads what the user cannot.
as_user() { runuser -u ${user} -- "$@"; }
# shellcheck disable=SC2016 # expanded by the inner sh, on purpose
user_file() { as_user sh -c 'umask 077; cat >"$1.tmp" && chmod "$2" "$1.tmp" && mv -f "$1.tmp" "$1"' sh "$1" "$2"; }

create_user() {
  if ! id ${user} >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash --groups sudo ${user}
  fi
  install -d -o ${user} -g ${user} -m 0750 ${home}
  if [ -n "$USER_PASSWORD_HASH" ]; then printf '${user}:%s\\n' "$USER_PASSWORD_HASH" | chpasswd -e; fi
  as_user mkdir -p ${home}/Desktop ${home}/.ssh
  as_user chmod 0700 ${home}/.ssh
  # Placed once: a resumed desktop keeps the user's own edits of it.
  if [ -f ${p.constitution} ] && ! as_user test -e ${p.desktopConstitution}; then
    user_file ${p.desktopConstitution} 0644 <${p.constitution}
  fi
  # DigitalOcean puts the account keys chosen at create time into root's file; lines the user added stay.
  local keys=${home}/.ssh/authorized_keys source
  {
    as_user cat "$keys" 2>/dev/null || true
    for source in /root/.ssh/authorized_keys ${p.authorizedKeys}; do
      if [ -f "$source" ]; then grep -E '^(ssh-|ecdsa-|sk-)' "$source" || true; fi
    done
  } | awk '!seen[$0]++' | user_file "$keys" 0600
}

start_vnc() {
  # Made by the user, so ~/.config is the user's and XFCE can save its settings.
  as_user mkdir -p ${home}/.config ${home}/.vnc ${home}/.config/tigervnc
  local dir vnc_passwd
  vnc_passwd=$(command -v tigervncpasswd || command -v vncpasswd)
  for dir in ${home}/.vnc ${home}/.config/tigervnc; do
    as_user chmod 0700 "$dir"
    if [ -n "$VNC_PASSWORD" ]; then printf '%s\\n' "$VNC_PASSWORD" | "$vnc_passwd" -f | user_file "$dir/passwd" 0600; fi
    if ! as_user test -s "$dir/passwd"; then
      echo "!! no VNC password: setup stopped before VNC was set up and the secrets are gone (they never stay on disk); destroy and deploy again"
      false
    fi
    printf 'session=xfce\\ngeometry=${VNC_GEOMETRY}\\nlocalhost\\nsecuritytypes=vncauth\\nalwaysshared\\nUseBlacklist=0\\n' | user_file "$dir/config" 0600
  done
  printf '#!/bin/sh\\nunset SESSION_MANAGER DBUS_SESSION_BUS_ADDRESS\\nexec dbus-launch --exit-with-session startxfce4\\n' | user_file ${home}/.vnc/xstartup 0755
  printf ':1=${user}\\n' >/etc/tigervnc/vncserver.users
  systemctl enable --now tigervncserver@:1
  if ! wait_for_listener 5901 90; then
    systemctl status --no-pager --lines=30 tigervncserver@:1 || true
    tail -n 30 ${home}/.vnc/*.log || true
    false
  fi
}

# Secrets leave the disk at once: shredded there, kept in RAM (/run) only until VNC has its password,
# so a re-run after an early failure still has them and a reboot forgets them. A re-run without them
# keeps the passwords already set.
VNC_PASSWORD=
USER_PASSWORD_HASH=
if [ "$MODE" != bake ] && [ -f ${p.secretsEnv} ]; then
  install -d -m 0700 ${p.runDir}
  install -m 0600 ${p.secretsEnv} ${p.runSecrets}
  shred -u ${p.secretsEnv}
fi
if [ "$MODE" != bake ] && [ -f ${p.runSecrets} ]; then
  while IFS='=' read -r key value; do
    case "$key" in
      VNC_PASSWORD) VNC_PASSWORD=$value ;;
      USER_PASSWORD_HASH) USER_PASSWORD_HASH=$value ;;
    esac
  done <${p.runSecrets}
fi

echo "==> $(now) Dictumal setup starting ($MODE)"
start_beacon_server
start_setup_log_server
systemctl is-active --quiet dictumal-beacon-watch.service ||
  systemd-run --no-block --collect --unit=dictumal-beacon-watch "$BEACON" watch
IMAGES=

if [ "$MODE" = personalise ] && [ ! -f ${p.imageFile} ]; then
  echo "!! personalise needs a disk baked by a Dictumal image build (${p.imageFile} is missing)"
  false
fi
if [ "$MODE" != bake ]; then
  step create-user
  create_user
fi
if [ "$MODE" = personalise ]; then
  step configure-firewall
  firewall
  images &
  IMAGES=$!
else
  install_half
  if [ "$MODE" = full ]; then printf '{"recipeVersion":${RECIPE_VERSION},"installedAt":"%s"}\\n' "$(now)" >${p.imageFile}; fi
fi

if [ "$MODE" = bake ]; then
  step pull-images
  wait "$IMAGES"
  printf '{"recipeVersion":${RECIPE_VERSION},"bakedAt":"%s"}\\n' "$(now)" >${p.imageFile}
  step "done"
  echo "==> $(now) Dictumal image baked"
  exit 0
fi

step start-vnc
start_vnc
rm -f ${p.runSecrets}
systemctl daemon-reload
systemctl enable --now ${ACTIVITY_SERVICE}.service

step pull-images
# Reaped: its PID is not ours to kill after this (on_error).
if [ -n "$IMAGES" ]; then wait "$IMAGES"; IMAGES=; fi

step start-guacamole
start_containers
wait_for_listener 4822 60
wait_for_listener 8080 180

step configure-https
install -m 0644 ${p.nginxSite} /etc/nginx/sites-available/dictumal
rm -f /etc/nginx/sites-enabled/default
ln -sf /etc/nginx/sites-available/dictumal /etc/nginx/sites-enabled/dictumal
# Without a log key (a deployment made before keys) the setup log location answers 404, always.
if [ ! -f ${p.nginxSetupLogAuth} ]; then (umask 077 && printf '%s\\n' '${NGINX_SETUP_LOG_CLOSED}' >${p.nginxSetupLogAuth}); fi
nginx -t
systemctl stop ${BEACON_SERVICE}.service ${SETUP_LOG_SERVICE}.service || true
systemctl enable nginx
# A reload keeps open desktop connections (a re-run, a resumed hibernation); a first start needs a start.
if systemctl is-active --quiet nginx; then systemctl reload nginx; else systemctl restart nginx; fi
# Only now does Nginx own ports 80 and 443: from here on bootcmd leaves the beacon and the setup log to it.
touch ${p.stateDir}/nginx

step "done"
echo "==> $(now) Dictumal setup finished"
`
}
