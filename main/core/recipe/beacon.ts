// The setup beacon (SPEC §4): GET http://IP/dictumal/status.json tells the engine which setup step the
// droplet is on, what came up inside it and which step failed. It never holds secrets.
import { z } from 'zod'
import { DROPLET_PATHS } from './paths'

/** Setup steps in the order they run. `boot` is written before setup starts, `done` after it ends. */
export const BEACON_STEPS = [
  'boot',
  'create-user',
  'configure-firewall',
  'install-docker',
  'install-packages',
  'pull-images',
  'start-vnc',
  'start-guacamole',
  'configure-https',
  'done',
] as const

export type BeaconStep = (typeof BEACON_STEPS)[number]

/** One line each, for error messages and the progress view. */
export const BEACON_STEP_TITLES: Record<BeaconStep, string> = {
  boot: 'Booting the droplet',
  'create-user': 'Creating the desktop user',
  'configure-firewall': 'Turning on the firewall',
  'install-docker': 'Installing Docker',
  'install-packages': 'Installing the desktop, VNC and Nginx',
  'pull-images': 'Downloading the Guacamole images',
  'start-vnc': 'Starting the VNC desktop',
  'start-guacamole': 'Starting Guacamole',
  'configure-https': 'Configuring HTTPS',
  done: 'Setup finished',
}

const beaconSchema = z.object({
  v: z.literal(1),
  step: z.enum(BEACON_STEPS),
  checks: z.object({ vnc5901: z.boolean(), guacHttp8080: z.boolean() }),
  failed: z.object({ step: z.enum(BEACON_STEPS), exitCode: z.number().int() }).nullable(),
  updatedAt: z.iso.datetime(),
})

export type Beacon = z.infer<typeof beaconSchema>

/** Validates a beacon fetched from a droplet; null when it is not one (e.g. some other server on port 80). */
export function parseBeacon(input: unknown): Beacon | null {
  const result = beaconSchema.safeParse(input)
  return result.success ? result.data : null
}

/** The sentence for a deployment that went to ERROR because a setup step failed. */
export function describeBeaconFailure(failed: NonNullable<Beacon['failed']>): string {
  return (
    `Setup on the droplet failed at step "${failed.step}" (${BEACON_STEP_TITLES[failed.step].toLowerCase()}) ` +
    `with exit code ${failed.exitCode}. See ${DROPLET_PATHS.log} on the droplet.`
  )
}

export const BEACON_SERVICE = 'dictumal-beacon'

/**
 * Starts the tiny port-80 server (python3 is on every Ubuntu cloud image) as a transient unit.
 * DefaultDependencies=no because bootcmd runs before sysinit.target, which the unit would otherwise wait for.
 */
export const BEACON_SERVER_COMMAND =
  `systemd-run --no-block --collect --unit=${BEACON_SERVICE} -p DefaultDependencies=no ` +
  '-p User=nobody -p AmbientCapabilities=CAP_NET_BIND_SERVICE -p NoNewPrivileges=yes ' +
  `python3 -m http.server 80 --bind 0.0.0.0 --directory ${DROPLET_PATHS.webRoot}`

/** bootcmd (every boot, before write_files): the beacon answers from the first seconds until Nginx owns port 80. */
export function bootcmdScript(): string {
  const { stateDir, webRoot, beaconFile } = DROPLET_PATHS
  return `if [ ! -e ${stateDir}/nginx ]; then
  mkdir -p ${stateDir} ${webRoot}/dictumal
  chmod 0700 ${stateDir}
  chmod 0755 /var/lib/dictumal ${webRoot} ${webRoot}/dictumal
  if [ ! -e ${beaconFile} ]; then
    printf '{"v":1,"step":"boot","checks":{"vnc5901":false,"guacHttp8080":false},"failed":null,"updatedAt":"%s"}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >${beaconFile}
    chmod 0644 ${beaconFile}
  fi
  systemctl is-active --quiet ${BEACON_SERVICE}.service || ${BEACON_SERVER_COMMAND} || true
fi
`
}

/**
 * /usr/local/lib/dictumal/beacon: renders status.json atomically under a lock, so the setup script
 * (steps, failures) and the watcher (checks) never interleave a half-written file.
 * DICTUMAL_ROOT and the DICTUMAL_* probe overrides exist so tests can run it unprivileged.
 */
export function beaconScript(): string {
  const steps = BEACON_STEPS.join('|')
  return `#!/bin/bash
# Dictumal setup beacon: writes ${DROPLET_PATHS.beaconFile} (step, two checks, failed step).
# Usage: beacon step NAME | fail NAME EXIT_CODE | check vnc5901|guacHttp8080 true|false | render | watch
set -euo pipefail
umask 022
root=\${DICTUMAL_ROOT:-}
state=$root${DROPLET_PATHS.stateDir}
out=$root${DROPLET_PATHS.beaconFile}
vnc_port=\${DICTUMAL_VNC_PORT:-5901}
guac_url=\${DICTUMAL_GUAC_URL:-http://127.0.0.1:8080/guacamole/}
interval=\${DICTUMAL_WATCH_INTERVAL:-2}
mkdir -p "$state" "\${out%/*}"

read_or() {
  if [ -s "$1" ]; then cat "$1"; else printf '%s' "$2"; fi
}

render() {
  local step vnc guac failed
  step=$(read_or "$state/step" boot)
  vnc=$(read_or "$state/vnc5901" false)
  guac=$(read_or "$state/guacHttp8080" false)
  failed=$(read_or "$state/failed" null)
  printf '{"v":1,"step":"%s","checks":{"vnc5901":%s,"guacHttp8080":%s},"failed":%s,"updatedAt":"%s"}\\n' \\
    "$step" "$vnc" "$guac" "$failed" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out.tmp"
  chmod 0644 "$out.tmp"
  mv -f "$out.tmp" "$out"
}

# Runs "$@" and render while holding the lock.
locked() {
  (
    flock 9
    "$@"
    render
  ) 9>"$state/lock"
}

valid_step() {
  case "$1" in
    ${steps}) ;;
    *) echo "beacon: unknown step '$1'" >&2; exit 2 ;;
  esac
}

set_step() { printf '%s' "$1" >"$state/step"; }
set_failed() { printf '{"step":"%s","exitCode":%d}' "$1" "$2" >"$state/failed"; }
set_check() { printf '%s' "$2" >"$state/$1"; }

probe_vnc() { timeout 2 bash -c ": </dev/tcp/127.0.0.1/$vnc_port" 2>/dev/null; }
probe_guacamole() { curl -fsS -o /dev/null --max-time 2 "$guac_url" 2>/dev/null; }

watch() {
  local vnc guac
  while :; do
    vnc=false
    guac=false
    if probe_vnc; then vnc=true; fi
    if probe_guacamole; then guac=true; fi
    if [ "$vnc" != "$(read_or "$state/vnc5901" false)" ] || [ "$guac" != "$(read_or "$state/guacHttp8080" false)" ]; then
      locked set_check vnc5901 "$vnc"
      locked set_check guacHttp8080 "$guac"
    fi
    if [ -s "$state/failed" ]; then exit 0; fi
    if [ "$(read_or "$state/step" boot)" = "done" ] && [ "$vnc" = true ] && [ "$guac" = true ]; then exit 0; fi
    sleep "$interval"
  done
}

case "\${1:-}" in
  step)
    valid_step "\${2:-}"
    locked set_step "$2"
    ;;
  fail)
    valid_step "\${2:-}"
    case "\${3:-}" in '' | *[!0-9]*) echo "beacon: exit code must be a number" >&2; exit 2 ;; esac
    locked set_failed "$2" "$3"
    ;;
  check)
    case "\${2:-}:\${3:-}" in
      vnc5901:true | vnc5901:false | guacHttp8080:true | guacHttp8080:false) locked set_check "$2" "$3" ;;
      *) echo "beacon: usage: check vnc5901|guacHttp8080 true|false" >&2; exit 2 ;;
    esac
    ;;
  render) locked true ;;
  watch) watch ;;
  *) echo "beacon: usage: step NAME | fail NAME CODE | check NAME BOOL | render | watch" >&2; exit 2 ;;
esac
`
}
