// The setup beacon (SPEC §4): GET http://IP/dictumal/status.json tells the engine which setup step the
// droplet is on, what came up inside it, which step failed (and why, where known), how long each step
// took, and when a desktop connection was last open. It never holds secrets.
import { z } from 'zod'
import { DROPLET_PATHS } from './paths'
import { SETUP_LOG_SERVICE } from './setup-log-server'

/** Setup steps in the order they run. `boot` is written before setup starts, `done` after it ends. */
export const BEACON_STEPS = [
  'boot',
  'create-user',
  'configure-firewall',
  'install-docker',
  'install-packages',
  'start-vnc',
  'pull-images',
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
  'start-vnc': 'Starting the VNC desktop',
  'pull-images': 'Downloading the Guacamole images',
  'start-guacamole': 'Starting Guacamole',
  'configure-https': 'Configuring HTTPS',
  done: 'Setup finished',
}

/** Why a step failed, where the droplet could tell. A fixed list: the beacon never carries free text. */
export const BEACON_FAILURE_REASONS = ['docker-rate-limit'] as const
export type BeaconFailureReason = (typeof BEACON_FAILURE_REASONS)[number]

const timing = z.object({ start: z.iso.datetime(), end: z.iso.datetime().nullable() })

const beaconSchema = z.object({
  v: z.literal(1),
  step: z.enum(BEACON_STEPS),
  checks: z.object({ vnc5901: z.boolean(), guacHttp8080: z.boolean() }),
  failed: z
    .object({
      step: z.enum(BEACON_STEPS),
      exitCode: z.number().int(),
      reason: z.enum(BEACON_FAILURE_REASONS).optional(),
    })
    .nullable(),
  updatedAt: z.iso.datetime(),
  /** Start and end of each step that has started (end null while it runs). Older droplets omit it. */
  timings: z.partialRecord(z.enum(BEACON_STEPS), timing).optional(),
  /** Last moment a desktop connection (guacd → VNC) was seen open; null if never. */
  lastActivityAt: z.iso.datetime().nullable().optional(),
})

export type Beacon = z.infer<typeof beaconSchema>

/** Validates a beacon fetched from a droplet; null when it is not one (e.g. some other server on port 80). */
export function parseBeacon(input: unknown): Beacon | null {
  const result = beaconSchema.safeParse(input)
  return result.success ? result.data : null
}

/** Seconds each finished step took, in run order: for the progress view, estimates and the rehearsal. */
export function stepDurations(beacon: Pick<Beacon, 'timings'>): { step: BeaconStep; seconds: number }[] {
  const out: { step: BeaconStep; seconds: number }[] = []
  for (const step of BEACON_STEPS) {
    const t = beacon.timings?.[step]
    if (t?.end) out.push({ step, seconds: Math.max(0, (Date.parse(t.end) - Date.parse(t.start)) / 1000) })
  }
  return out
}

/** The sentence for a deployment that went to ERROR because a setup step failed. */
export function describeBeaconFailure(failed: NonNullable<Beacon['failed']>): string {
  const base =
    `Setup on the droplet failed at step "${failed.step}" (${BEACON_STEP_TITLES[failed.step].toLowerCase()}) ` +
    `with exit code ${failed.exitCode}.`
  if (failed.reason === 'docker-rate-limit') {
    return (
      `${base} Docker Hub refused the Guacamole images: its limit for anonymous downloads (10 per hour per ` +
      `IP address) was reached, possibly by whoever had this droplet's address before. Destroy it and deploy ` +
      `again, or wait an hour. See ${DROPLET_PATHS.log} on the droplet.`
    )
  }
  return `${base} See ${DROPLET_PATHS.log} on the droplet.`
}

export const BEACON_SERVICE = 'dictumal-beacon'
export const ACTIVITY_SERVICE = 'dictumal-activity'

/**
 * Starts the tiny port-80 server (python3 is on every Ubuntu cloud image) as a transient unit.
 * DefaultDependencies=no because bootcmd runs before sysinit.target, which the unit would otherwise wait for.
 */
export const BEACON_SERVER_COMMAND =
  `systemd-run --no-block --collect --unit=${BEACON_SERVICE} -p DefaultDependencies=no ` +
  '-p User=nobody -p AmbientCapabilities=CAP_NET_BIND_SERVICE -p NoNewPrivileges=yes ' +
  `python3 -m http.server 80 --bind 0.0.0.0 --directory ${DROPLET_PATHS.webRoot}`

const OWNER_PATTERN = /^(?:bake|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

/**
 * bootcmd (every boot, before write_files). `owner` is the deployment id (or `bake` for an image build):
 * a droplet made from a snapshot of another deployment's or an image's disk starts with a fresh beacon
 * instead of reporting the old one's "done", and without the old one's setup log key (write_files, which
 * runs next, brings this deployment's). Until Nginx owns ports 80 and 443 the beacon server answers, and
 * the setup log server too once this deployment's key is on the disk (not yet on a first boot: the setup
 * script starts it then).
 */
export function bootcmdScript(owner: string): string {
  if (!OWNER_PATTERN.test(owner)) throw new Error('beacon owner must be a deployment id or "bake"')
  const { stateDir, webRoot, beaconFile, logKey, nginxSetupLogAuth } = DROPLET_PATHS
  return `mkdir -p ${stateDir} ${webRoot}/dictumal
chmod 0700 ${stateDir}
chmod 0755 /var/lib/dictumal ${webRoot} ${webRoot}/dictumal
if [ "$(cat ${stateDir}/owner 2>/dev/null)" != ${owner} ]; then
  find ${stateDir} -mindepth 1 -delete
  rm -f ${beaconFile} ${logKey} ${nginxSetupLogAuth}
  echo ${owner} >${stateDir}/owner
fi
if [ ! -e ${stateDir}/nginx ]; then
  if [ ! -e ${beaconFile} ]; then
    printf '{"v":1,"step":"boot","checks":{"vnc5901":false,"guacHttp8080":false},"failed":null,"updatedAt":"%s"}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >${beaconFile}
    chmod 0644 ${beaconFile}
  fi
  systemctl is-active --quiet ${BEACON_SERVICE}.service || ${BEACON_SERVER_COMMAND} || true
  if [ -s ${logKey} ]; then
    systemctl start --no-block ${SETUP_LOG_SERVICE}.service || true
  fi
fi
`
}

/**
 * /usr/local/lib/dictumal/beacon: renders status.json atomically under a lock, so the setup script
 * (steps, failures) and the watcher (checks, activity) never interleave a half-written file.
 * Nothing here connects to VNC's port: TigerVNC black-marks every new connection, and after five
 * it would lock out guacd (same address). Listening sockets are read with `ss` instead.
 * DICTUMAL_ROOT and the DICTUMAL_* overrides exist so tests can run it unprivileged.
 */
export function beaconScript(): string {
  const steps = BEACON_STEPS.join('|')
  const reasons = BEACON_FAILURE_REASONS.join('|')
  return `#!/bin/bash
# Dictumal setup beacon: writes ${DROPLET_PATHS.beaconFile} (step, checks, failed step, timings, activity).
# Usage: beacon step NAME | fail NAME EXIT_CODE [REASON] | check vnc5901|guacHttp8080 true|false | render | watch
set -euo pipefail
umask 022
root=\${DICTUMAL_ROOT:-}
state=$root${DROPLET_PATHS.stateDir}
out=$root${DROPLET_PATHS.beaconFile}
vnc_port=\${DICTUMAL_VNC_PORT:-5901}
guac_url=\${DICTUMAL_GUAC_URL:-http://127.0.0.1:8080/guacamole/}
interval=\${DICTUMAL_WATCH_INTERVAL:-2}
idle_interval=\${DICTUMAL_ACTIVITY_INTERVAL:-30}
mkdir -p "$state/t" "\${out%/*}"

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

read_or() {
  if [ -s "$1" ]; then cat "$1"; else printf '%s' "$2"; fi
}

timings() {
  local sep='' s start end
  for s in ${BEACON_STEPS.map((s) => `'${s}'`).join(' ')}; do
    [ -s "$state/t/$s.start" ] || continue
    start=$(cat "$state/t/$s.start")
    end=$(read_or "$state/t/$s.end" '')
    if [ -n "$end" ]; then end="\\"$end\\""; else end=null; fi
    printf '%s"%s":{"start":"%s","end":%s}' "$sep" "$s" "$start" "$end"
    sep=,
  done
}

render() {
  local step vnc guac failed activity
  step=$(read_or "$state/step" boot)
  vnc=$(read_or "$state/vnc5901" false)
  guac=$(read_or "$state/guacHttp8080" false)
  failed=$(read_or "$state/failed" null)
  activity=$(read_or "$state/activity" '')
  if [ -n "$activity" ]; then activity="\\"$activity\\""; else activity=null; fi
  printf '{"v":1,"step":"%s","checks":{"vnc5901":%s,"guacHttp8080":%s},"failed":%s,"updatedAt":"%s","timings":{%s},"lastActivityAt":%s}\\n' \\
    "$step" "$vnc" "$guac" "$failed" "$(now)" "$(timings)" "$activity" >"$out.tmp"
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

# A new step ends the one before it and clears an old failure: a re-run that gets further is not failed.
set_step() {
  local t previous
  t=$(now)
  previous=$(read_or "$state/step" boot)
  if [ -s "$state/t/$previous.start" ] && [ ! -s "$state/t/$previous.end" ]; then printf '%s' "$t" >"$state/t/$previous.end"; fi
  rm -f "$state/failed" "$state/t/$1.end"
  printf '%s' "$t" >"$state/t/$1.start"
  if [ "$1" = 'done' ]; then printf '%s' "$t" >"$state/t/$1.end"; fi
  printf '%s' "$1" >"$state/step"
}
set_failed() {
  if [ -n "\${3:-}" ]; then
    printf '{"step":"%s","exitCode":%d,"reason":"%s"}' "$1" "$2" "$3" >"$state/failed"
  else
    printf '{"step":"%s","exitCode":%d}' "$1" "$2" >"$state/failed"
  fi
}
set_check() { printf '%s' "$2" >"$state/$1"; }
set_activity() { printf '%s' "$1" >"$state/activity"; }

listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
probe_guacamole() { curl -fsS -o /dev/null --max-time 2 "$guac_url" 2>/dev/null; }
# guacd holds a VNC connection exactly while someone has the desktop open.
connected() { [ -n "$(ss -Htn state established "sport = :$vnc_port" 2>/dev/null)" ]; }

watch() {
  local vnc guac
  while :; do
    vnc=false
    guac=false
    if listening "$vnc_port"; then vnc=true; fi
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

# Runs for the droplet's life (a service): records when a desktop connection was last open, for idle hibernation.
activity() {
  while :; do
    if connected; then locked set_activity "$(now)"; fi
    sleep "$idle_interval"
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
    case "\${4:-}" in '' | ${reasons}) ;; *) echo "beacon: unknown reason '$4'" >&2; exit 2 ;; esac
    locked set_failed "$2" "$3" "\${4:-}"
    ;;
  check)
    case "\${2:-}:\${3:-}" in
      vnc5901:true | vnc5901:false | guacHttp8080:true | guacHttp8080:false) locked set_check "$2" "$3" ;;
      *) echo "beacon: usage: check vnc5901|guacHttp8080 true|false" >&2; exit 2 ;;
    esac
    ;;
  render) locked true ;;
  watch) watch ;;
  activity) activity ;;
  *) echo "beacon: usage: step NAME | fail NAME CODE [REASON] | check NAME BOOL | render | watch | activity" >&2; exit 2 ;;
esac
`
}
