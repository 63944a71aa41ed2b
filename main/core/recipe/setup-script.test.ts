// Runs the setup script for real (bash, flock, sed, awk, install, shred, the real beacon) in a sandbox:
// every path it touches moved into a temp dir, the files it reads written from real user data, and the
// commands that would change this machine or reach the network (systemctl, systemd-run, apt-get, docker,
// ufw, useradd, chpasswd, nginx, ss, sleep, tigervncpasswd) replaced by recorders on PATH. It runs the
// whole script in each mode, or its functions with a test body after them.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { parse } from 'yaml'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { readUserData } from '../../../test/fakes/user-data-reader'
import { generateDeploymentCertificate } from '../certificate'
import { generateDeploymentSecrets, type DeploymentSecrets } from '../deployment-secrets'
import { BEACON_STEPS, bootcmdScript, parseBeacon, stepDurations, type Beacon } from './beacon'
import { DROPLET_PATHS, GUACAMOLE_IMAGE, GUACD_IMAGE } from './paths'
import { DESKTOP_PACKAGES, setupScript, type SetupMode } from './setup-script'
import { buildBakeUserData, buildUserData, type UserDataInput } from './user-data'

const ID = '3f2a9c1e-7b4d-4c2a-9e1f-0a1b2c3d4e5f'
const ROOT_KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRootKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA root-a'
const ROOT_KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRootKeyBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB root-b'
const GIVEN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGivenKeyCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC given'
const OWN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUsersOwnDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD added-later'

/** The stock `daemon` account stands in for the desktop user (install -o needs a real one, and root). */
const STAND_IN_USER = 'daemon'
const standIn = spawnSync('id', ['-u', STAND_IN_USER], { encoding: 'utf8' })
const asRoot = process.getuid?.() === 0 && standIn.status === 0
const rootNote = 'needs root and the stock "daemon" user (install -o, chown): run the tests as root'
if (!asRoot && process.env.CI) throw new Error(`the whole-script tests ${rootNote}`)

let input: UserDataInput
let secrets: DeploymentSecrets
beforeAll(async () => {
  const cert = await generateDeploymentCertificate({ deploymentId: ID })
  secrets = generateDeploymentSecrets()
  input = {
    deploymentId: ID,
    constitution: { name: 'Charter', body: '# Charter\n\nBe kind.\n' },
    secrets,
    certificate: { certPem: cert.certPem, keyPem: cert.keyPem },
    sshKeys: [GIVEN_KEY],
  }
})

const dirs: string[] = []
const shared: string[] = []
/** KEEP_SANDBOX=1 leaves the temp dirs for a look at what the script did. */
const KEEP = !!process.env.KEEP_SANDBOX
afterEach(() => !KEEP && dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

/** Absolute droplet paths moved under `dir`, in one pass (so a moved path is never moved again). */
function movePaths(text: string, dir: string): string {
  return text.replace(
    /(^|[\s'"=<>(])\/(etc|var|home|root|run\/dictumal|usr\/sbin\/policy-rc\.d|usr\/local\/lib\/dictumal)(?=[/\s'"]|$)/gm,
    (_match, before: string, rest: string) => `${before}${dir}/${rest}`,
  )
}

/** The desktop user's name where it stands alone (not in /etc/dictumal, dictumal-beacon, …). */
function swapUser(text: string): string {
  return text.replace(/(?<![\w/.-])dictumal(?![\w/.-])/g, STAND_IN_USER)
}

const STUBS: Record<string, string> = {
  systemctl: 'echo "systemctl $*" >>"$DICTUMAL_ROOT/calls.log"\n[ "$1" = is-active ] && exit 3\nexit 0',
  'systemd-run': 'echo "systemd-run $*" >>"$DICTUMAL_ROOT/calls.log"',
  'apt-get':
    'echo "apt-get $*" >>"$DICTUMAL_ROOT/calls.log"\n' +
    'if [ -e "$DICTUMAL_ROOT/apt-desktop-broken" ] && echo "$*" | grep -q xfce4; then echo "E: Unable to locate package xfce4"; exit 100; fi\n' +
    '[ ! -e "$DICTUMAL_ROOT/apt-broken" ]',
  ufw: 'echo "ufw $*" >>"$DICTUMAL_ROOT/calls.log"',
  useradd: 'echo "useradd $*" >>"$DICTUMAL_ROOT/calls.log"',
  chpasswd: 'echo "chpasswd $* <<< $(cat)" >>"$DICTUMAL_ROOT/calls.log"',
  nginx: 'echo "nginx $*" >>"$DICTUMAL_ROOT/calls.log"',
  tigervncpasswd: 'cat >/dev/null\nprintf 12345678',
  // Records each requested duration and returns at once.
  sleep: 'echo "$1" >>"$DICTUMAL_ROOT/sleeps.log"',
  // Listeners are whatever ports $DICTUMAL_ROOT/listening names.
  ss: `echo "ss $*" >>"$DICTUMAL_ROOT/calls.log"
for a; do case "$a" in *sport*) port=\${a##*:} ;; esac; done
if grep -qx "$port" "$DICTUMAL_ROOT/listening" 2>/dev/null; then echo "LISTEN 0 5 127.0.0.1:$port 0.0.0.0:*"; fi
exit 0`,
  // Docker Hub's answers are chosen by files: docker-rate-limit, docker-broken.
  docker: `echo "docker $*" >>"$DICTUMAL_ROOT/calls.log"
key() { printf '%s' "$1" | tr '/:' '__'; }
case "$1" in
  image) [ -e "$DICTUMAL_ROOT/pulled-$(key "$3")" ] || exit 1 ;;
  pull)
    if [ -e "$DICTUMAL_ROOT/docker-rate-limit" ]; then
      echo "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"
      exit 1
    fi
    if [ -e "$DICTUMAL_ROOT/docker-broken" ]; then echo "Error response from daemon: i/o timeout"; exit 1; fi
    if [ -e "$DICTUMAL_ROOT/docker-slow" ]; then /bin/sleep 1; fi
    touch "$DICTUMAL_ROOT/pulled-$(key "$3")"
    echo "sha256:0123"
    ;;
  run) [ -e "$DICTUMAL_ROOT/docker-run-broken" ] && { echo "docker: Error response from daemon: Conflict."; exit 125; }
    prev=; for a; do if [ "$prev" = --name ]; then echo "$a" >>"$DICTUMAL_ROOT/running"; fi; prev=$a; done ;;
  rm) : >"$DICTUMAL_ROOT/running" ;;
  ps) cat "$DICTUMAL_ROOT/running" 2>/dev/null ;;
esac
exit 0`,
}

interface Run {
  status: number | null
  log: string
  calls: string
  sleeps: number[]
  /** Every call the script made to the beacon, in order ("step create-user", "fail pull-images 1 …"). */
  beaconCalls: string[]
  beacon: Beacon | null
}

interface SandboxOptions {
  /** Which user data the files come from. */
  userData?: 'deployment' | 'bake' | 'no-log-key'
  /** Ports the ss stub reports as listening (default: VNC, guacd and Tomcat). */
  listening?: number[]
  /** Stubs to leave out (the real command is used), e.g. ss. */
  real?: string[]
  /** Kept for the whole describe block instead of removed after the test. */
  shared?: boolean
}

class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'dictumal-setup-'))
  private readonly script: string

  constructor(options: SandboxOptions = {}) {
    if (options.shared) shared.push(this.dir)
    else dirs.push(this.dir)
    const d = this.dir
    // The desktop user (the stand-in) works in its home itself, so it must be able to reach it.
    chmodSync(d, 0o755)
    mkdirSync(join(d, 'bin'))
    for (const [name, body] of Object.entries(STUBS)) {
      if (options.real?.includes(name)) continue
      writeFileSync(join(d, 'bin', name), `#!/bin/sh\n${body}\n`, { mode: 0o755 })
    }
    // cloud-init's bootcmd runs first on every boot (before write_files): the state folder and the first beacon.
    this.boot(options.userData === 'bake' ? 'bake' : ID)
    // The droplet's files, written from real user data (a bake build has no deployment files).
    const { logKey: _none, ...olderSecrets } = input.secrets
    const userData =
      options.userData === 'bake'
        ? buildBakeUserData()
        : buildUserData(options.userData === 'no-log-key' ? { ...input, secrets: olderSecrets } : input)
    const files = options.userData === 'bake' ? bakeFiles(userData) : readUserData(userData).files
    for (const [path, file] of files) {
      if (path === DROPLET_PATHS.setupScript || path === DROPLET_PATHS.beaconScript) continue
      this.write(path, file.content, Number.parseInt(file.permissions, 8))
    }
    this.script = swapUser(movePaths(files.get(DROPLET_PATHS.setupScript)?.content ?? '', d))
    this.write(DROPLET_PATHS.setupScript, this.script, 0o700)
    // The real beacon behind a recorder of its calls.
    writeFileSync(join(d, 'beacon.real'), files.get(DROPLET_PATHS.beaconScript)?.content ?? '', { mode: 0o755 })
    this.write(
      DROPLET_PATHS.beaconScript,
      `#!/bin/sh\necho "$*" >>"$DICTUMAL_ROOT/beacon-calls.log"\nexec bash "$DICTUMAL_ROOT/beacon.real" "$@"\n`,
      0o755,
    )
    // What a fresh Ubuntu droplet has: UFW's before.rules, man-db's trigger flag, DigitalOcean's root keys.
    this.write('/etc/ufw/before.rules', beforeRules())
    this.write('/var/lib/man-db/auto-update', '')
    this.write('/root/.ssh/authorized_keys', `# keys from DigitalOcean\n${ROOT_KEY_A}\n${ROOT_KEY_B}\n`, 0o600)
    for (const sub of ['etc/nginx/sites-available', 'etc/nginx/sites-enabled', 'etc/tigervnc', 'home']) {
      mkdirSync(join(d, sub), { recursive: true })
    }
    for (const sub of ['var/log', 'usr/sbin']) mkdirSync(join(d, sub), { recursive: true })
    writeFileSync(join(d, 'etc/nginx/sites-enabled/default'), '')
    this.listen(options.listening ?? [5901, 4822, 8080])
  }

  boot(owner: string): void {
    const result = spawnSync('sh', ['-c', movePaths(bootcmdScript(owner), this.dir)], { env: this.env(), encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${join(this.dir, 'bin')}:${process.env.PATH ?? ''}`,
      DICTUMAL_ROOT: this.dir,
      DICTUMAL_RETRY_DELAY: '1',
    }
  }

  path(dropletPath: string): string {
    return join(this.dir, dropletPath)
  }
  write(dropletPath: string, text: string, mode = 0o644): void {
    mkdirSync(dirname(this.path(dropletPath)), { recursive: true })
    writeFileSync(this.path(dropletPath), text, { mode })
    chmodSync(this.path(dropletPath), mode)
  }
  read(dropletPath: string): string {
    return existsSync(this.path(dropletPath)) ? readFileSync(this.path(dropletPath), 'utf8') : ''
  }
  listen(ports: number[]): void {
    writeFileSync(join(this.dir, 'listening'), ports.map((port) => `${port}\n`).join(''))
  }
  flag(name: 'docker-rate-limit' | 'docker-broken' | 'docker-run-broken' | 'docker-slow' | 'apt-broken' | 'apt-desktop-broken', on: boolean): void {
    if (on) writeFileSync(join(this.dir, name), '')
    else rmSync(join(this.dir, name), { force: true })
  }

  /** The whole script in a mode. */
  run(mode: SetupMode): Promise<Run> {
    return this.exec(this.path(DROPLET_PATHS.setupScript), [mode])
  }

  /** The script's setup and functions (up to where its main part starts), then `body` instead. */
  part(body: string, mode: SetupMode = 'full'): Promise<Run> {
    const cut = this.script.indexOf('echo "==> $(now) Dictumal setup starting')
    expect(cut).toBeGreaterThan(0)
    const file = join(this.dir, 'part')
    writeFileSync(file, this.script.slice(0, cut) + swapUser(movePaths(body, this.dir)), { mode: 0o700 })
    return this.exec(file, [mode])
  }

  private async exec(file: string, args: string[]): Promise<Run> {
    for (const log of ['calls.log', 'sleeps.log', 'beacon-calls.log']) rmSync(join(this.dir, log), { force: true })
    // Async, so loopback servers in the test keep accepting (and counting) while the script runs.
    const child = spawn('bash', [file, ...args], { env: this.env(), stdio: 'ignore' })
    const [status] = (await once(child, 'exit')) as [number | null]
    const local = (name: string): string => (existsSync(join(this.dir, name)) ? readFileSync(join(this.dir, name), 'utf8') : '')
    const beaconFile = this.path(DROPLET_PATHS.beaconFile)
    return {
      status,
      log: this.read(DROPLET_PATHS.log),
      calls: local('calls.log'),
      sleeps: local('sleeps.log').split('\n').filter(Boolean).map(Number),
      beaconCalls: local('beacon-calls.log').split('\n').filter(Boolean),
      beacon: existsSync(beaconFile) ? parseBeacon(JSON.parse(readFileSync(beaconFile, 'utf8'))) : null,
    }
  }

  /** Every file under the sandbox, for "nothing in clear on disk". */
  allText(): string {
    const out: string[] = []
    const walk = (at: string): void => {
      for (const entry of readdirSync(at, { withFileTypes: true })) {
        const path = join(at, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.isFile()) out.push(readFileSync(path, 'latin1'))
      }
    }
    walk(this.dir)
    return out.join('\n')
  }
}

/** write_files of a bake user data (readUserData wants a deployment's files), decoded as cloud-init would. */
function bakeFiles(userData: string): Map<string, { content: string; permissions: string }> {
  const doc = parse(userData) as { write_files: { path: string; encoding: string; content: string; permissions: string }[] }
  return new Map(
    doc.write_files.map((entry) => {
      const raw = Buffer.from(entry.content, 'base64')
      const content = (entry.encoding === 'gz+b64' ? gunzipSync(raw) : raw).toString('utf8')
      return [entry.path, { content, permissions: entry.permissions }]
    }),
  )
}

/** Debian's UFW before.rules where installed; otherwise its first lines, which the splice needs. */
function beforeRules(): string {
  const debian = '/usr/share/ufw/iptables/before.rules'
  if (existsSync(debian)) return readFileSync(debian, 'utf8')
  return '*filter\n:ufw-before-input - [0:0]\n:ufw-before-output - [0:0]\n:ufw-before-forward - [0:0]\n# End required lines\n\nCOMMIT\n'
}

const stepsOf = (run: Run): string[] => run.beaconCalls.filter((c) => c.startsWith('step ')).map((c) => c.slice(5))
const failuresOf = (run: Run): string[] => run.beaconCalls.filter((c) => c.startsWith('fail '))

describe('the setup script, in parts', () => {
  it('records a failed step with its exit code, logs it, restores port 80 and stops', async () => {
    const box = new Sandbox()
    box.write('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755)
    const run = await box.part('step install-packages\n(exit 100)\necho "not reached"\n')
    expect(run.status).toBe(100)
    expect(run.beacon).toMatchObject({ step: 'install-packages', failed: { step: 'install-packages', exitCode: 100 } })
    expect(run.log).toMatch(/step install-packages failed with exit code 100/)
    expect(run.log).not.toContain('not reached')
    expect(existsSync(box.path('/usr/sbin/policy-rc.d'))).toBe(false)
    // Nginx never came up, so the port-80 beacon server is (re)started.
    expect(run.calls).toMatch(/systemd-run .*--unit=dictumal-beacon .*python3 -m http\.server 80/)
    expect(run.log).not.toContain(secrets.vncPassword)
    expect(run.log).not.toContain(secrets.userPassword)
  })

  it('catches failures inside pipelines and functions too', async () => {
    const run = await new Sandbox().part('step pull-images\nhelper() { false | cat; }\nhelper\n')
    expect(run.status).toBe(1)
    expect(run.beacon?.failed).toEqual({ step: 'pull-images', exitCode: 1 })
  })

  it('reports a failure the ERR trap cannot see (unset variable, ${VAR:?}, SIGTERM) and still removes policy-rc.d', async () => {
    const cases: [string, number, string][] = [
      ['step create-user\necho "$NOT_SET_ANYWHERE"\n', 1, 'create-user'],
      ['step create-user\n: "${NOT_SET_ANYWHERE:?missing}"\n', 1, 'create-user'],
      ['step install-packages\nkill -TERM $$\necho "not reached"\n', 143, 'install-packages'],
    ]
    for (const [body, code, step] of cases) {
      const box = new Sandbox()
      box.write('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755)
      const run = await box.part(body)
      expect(run.status, body).toBe(code)
      expect(run.beacon?.failed, body).toEqual({ step, exitCode: code })
      expect(existsSync(box.path('/usr/sbin/policy-rc.d')), body).toBe(false)
      expect(run.log, body).toMatch(new RegExp(`failed with exit code ${code}`))
      expect(run.log, body).not.toContain('not reached')
    }
  })

  it('retries a flaky command, backing off, and gives up after three tries with the command’s exit code', async () => {
    const box = new Sandbox()
    const flaky = 'step install-docker\nretry sh -c \'n=$(cat "$0" 2>/dev/null || echo 0); echo $((n + 1)) >"$0"; [ "$n" -ge 2 ]\' "$DICTUMAL_ROOT/count"\necho recovered\n'
    const ok = await box.part(flaky)
    expect(ok.status).toBe(0)
    expect(ok.log).toContain('recovered')
    expect(readFileSync(join(box.dir, 'count'), 'utf8').trim()).toBe('3')
    expect(ok.sleeps).toEqual([1, 2])
    const broken = await new Sandbox().part('step pull-images\nretry sh -c "exit 7" &\nwait $!\n')
    expect(broken.status).toBe(7)
    expect(broken.log.match(/attempt \d failed/g)).toHaveLength(2)
    expect(broken.beacon?.failed).toEqual({ step: 'pull-images', exitCode: 7 })
  })

  it('waits for a listener with ss and never connects to the port (TigerVNC black-marks every connection)', async (ctx) => {
    if (spawnSync('sh', ['-c', 'command -v ss']).status !== 0) {
      if (process.env.CI) throw new Error('ss is missing: apt-get install iproute2')
      ctx.skip('ss is missing: apt-get install iproute2')
    }
    let accepted = 0
    const server = createServer((socket) => {
      accepted++
      socket.destroy()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const open = (server.address() as AddressInfo).port
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo
        probe.close(() => resolve(port))
      })
    })
    try {
      const box = new Sandbox({ real: ['ss', 'sleep'] })
      const run = await box.part(
        `step start-vnc\nfor i in 1 2 3 4 5 6; do wait_for_listener ${open} 3; done && echo "open up"\nwait_for_listener ${closed} 2 || echo "closed down"\n`,
      )
      expect(run.status).toBe(0)
      expect(run.log).toContain('open up')
      expect(run.log).toContain(`nothing listens on port ${closed}`)
      expect(run.log).toContain('closed down')
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(accepted).toBe(0)
    } finally {
      server.close()
    }
  })
})

describe.skipIf(!asRoot)(`the whole setup script (${asRoot ? 'as root' : rootNote})`, () => {
  // One clean full run, inspected by the tests that need nothing else (each run takes seconds).
  let clean: Promise<{ box: Sandbox; run: Run; secretsBefore: string }> | undefined
  const cleanRun = () =>
    (clean ??= (async () => {
      const box = new Sandbox({ shared: true })
      const secretsBefore = box.read(DROPLET_PATHS.secretsEnv)
      return { box, run: await box.run('full'), secretsBefore }
    })())
  afterAll(() => shared.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  it('publishes every step in BEACON_STEPS order in full mode, ends done, and reports timings', async () => {
    const { run } = await cleanRun()
    expect(run.log).not.toMatch(/failed with exit code/)
    expect(run.status).toBe(0)
    expect(stepsOf(run)).toEqual(BEACON_STEPS.filter((step) => step !== 'boot'))
    expect(run.beacon).toMatchObject({ step: 'done', failed: null })
    expect(run.calls).toMatch(/systemd-run .*--unit=dictumal-beacon-watch .*beacon watch/)
    // Each finished step: a "took N s" line in the log and start/end in the beacon.
    for (const step of BEACON_STEPS.filter((s) => s !== 'boot' && s !== 'done')) {
      expect(run.log, step).toMatch(new RegExp(`step ${step} took \\d+ s`))
    }
    expect(stepDurations(run.beacon!).map((d) => d.step)).toEqual(BEACON_STEPS.filter((step) => step !== 'boot'))
    expect(run.log).toMatch(/Dictumal setup finished/)
  })

  it('bakes the install half only, in order, and records the recipe version', async () => {
    const box = new Sandbox({ userData: 'bake' })
    const run = await box.run('bake')
    expect(run.log).not.toMatch(/failed with exit code/)
    expect(run.status).toBe(0)
    expect(stepsOf(run)).toEqual(['configure-firewall', 'install-docker', 'install-packages', 'pull-images', 'done'])
    expect(run.beacon).toMatchObject({ step: 'done', failed: null })
    expect(JSON.parse(box.read(DROPLET_PATHS.imageFile))).toMatchObject({ recipeVersion: expect.any(Number) })
    // Images pulled, no container started, no user, no VNC, no Nginx site.
    expect(run.calls).toMatch(new RegExp(`docker pull --quiet ${GUACD_IMAGE}`))
    expect(run.calls).not.toMatch(/docker run|useradd|chpasswd|tigervncserver@|nginx -t/)
  })

  it('personalises a baked disk in order, and refuses clearly without one', async () => {
    const bare = new Sandbox()
    const refused = await bare.run('personalise')
    expect(refused.status).not.toBe(0)
    expect(refused.log).toContain(`personalise needs a disk baked by a Dictumal image build (${bare.path(DROPLET_PATHS.imageFile)} is missing)`)
    expect(refused.beacon?.failed).toMatchObject({ exitCode: 1 })
    expect(refused.beacon?.step).not.toBe('done')
    expect(stepsOf(refused)).toEqual([])

    const box = new Sandbox()
    box.write(DROPLET_PATHS.imageFile, '{"recipeVersion":2}\n')
    const run = await box.run('personalise')
    expect(run.log).not.toMatch(/failed with exit code/)
    expect(run.status).toBe(0)
    expect(stepsOf(run)).toEqual(['create-user', 'configure-firewall', 'start-vnc', 'pull-images', 'start-guacamole', 'configure-https', 'done'])
    const order = stepsOf(run).map((step) => BEACON_STEPS.indexOf(step as (typeof BEACON_STEPS)[number]))
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(run.calls).not.toMatch(/apt-get .* install .*xfce4/)
  })

  it('resumes a hibernation snapshot: personalise on a disk that ran full is done, not refused', async () => {
    const box = new Sandbox()
    const first = await box.run('full')
    expect(first.status).toBe(0)
    // The snapshot boots as a new droplet of the same deployment, with fresh user data in personalise mode.
    for (const [path, file] of readUserData(buildUserData(input, { mode: 'personalise' })).files) {
      if (path === DROPLET_PATHS.secretsEnv) box.write(path, file.content, 0o600)
    }
    box.boot(ID)
    const resumed = await box.run('personalise')
    expect(resumed.log.split('Dictumal setup starting').at(-1)).not.toMatch(/failed with exit code|personalise needs/)
    expect(resumed.status).toBe(0)
    expect(resumed.beacon).toMatchObject({ step: 'done', failed: null })
    expect(stepsOf(resumed)).toEqual(['create-user', 'configure-firewall', 'start-vnc', 'pull-images', 'start-guacamole', 'configure-https', 'done'])
  })

  it('fails start-vnc, not "done", when nothing listens on 5901 after the unit started', async () => {
    const box = new Sandbox({ listening: [4822, 8080] })
    const run = await box.run('full')
    expect(run.status).not.toBe(0)
    expect(run.beacon).toMatchObject({ step: 'start-vnc', failed: { step: 'start-vnc' } })
    expect(run.log).toContain('nothing listens on port 5901')
    expect(run.calls.indexOf('systemctl enable --now tigervncserver@:1')).toBeGreaterThan(-1)
    expect(run.calls.indexOf('systemctl enable --now tigervncserver@:1')).toBeLessThan(run.calls.indexOf('ss -Hltn sport = :5901'))
  })

  it('gives the desktop user every directory it creates under home, ~/.config included, and turns off the VNC blacklist', async () => {
    const { box, run } = await cleanRun()
    expect(run.status).toBe(0)
    const uid = Number(standIn.stdout.trim())
    const home = box.path('/home/dictumal')
    for (const path of ['.config', '.config/tigervnc', '.config/tigervnc/passwd', '.vnc', '.vnc/passwd', '.vnc/config', '.vnc/xstartup', 'Desktop', 'Desktop/constitution.md', '.ssh', '.ssh/authorized_keys']) {
      expect(statSync(join(home, path)).uid, path).toBe(uid)
    }
    expect(statSync(join(home, '.vnc/passwd')).mode & 0o777).toBe(0o600)
    expect(statSync(join(home, '.ssh/authorized_keys')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(home, '.vnc/passwd'), 'utf8')).toBe('12345678')
    expect(readFileSync(join(home, 'Desktop/constitution.md'), 'utf8')).toBe(input.constitution.body)
    for (const config of ['.vnc/config', '.config/tigervnc/config']) {
      expect(readFileSync(join(home, config), 'utf8').split('\n'), config).toEqual(expect.arrayContaining(['localhost', 'UseBlacklist=0']))
    }
    expect(box.read('/etc/tigervnc/vncserver.users')).toBe(`:1=${STAND_IN_USER}\n`)
  })

  it('sets the password from its hash, shreds secrets.env, and leaves no password in clear anywhere', async () => {
    const { box, run, secretsBefore } = await cleanRun()
    expect(secretsBefore).toContain(secrets.vncPassword)
    expect(run.status).toBe(0)
    expect(existsSync(box.path(DROPLET_PATHS.secretsEnv))).toBe(false)
    const chpasswd = run.calls.split('\n').filter((line) => line.startsWith('chpasswd'))
    expect(chpasswd).toHaveLength(1)
    expect(chpasswd[0]).toMatch(new RegExp(`^chpasswd -e <<< ${STAND_IN_USER}:\\$6\\$[./0-9A-Za-z]{16}\\$[./0-9A-Za-z]{86}$`))
    // Shredded after VNC has its password, before anything else starts.
    expect(run.log.indexOf('step pull-images')).toBeGreaterThan(-1)
    const disk = box.allText()
    expect(disk).not.toContain(secrets.userPassword)
    expect(disk).not.toContain(secrets.vncPassword)
  })

  it('converges on a re-run after a failed run: done, no failure, own authorized_keys kept, root’s keys once', async () => {
    const box = new Sandbox()
    box.flag('docker-broken', true)
    const failed = await box.run('full')
    expect(failed.status).not.toBe(0)
    expect(failed.beacon).toMatchObject({ failed: { step: 'pull-images' } })
    const keys = box.path('/home/dictumal/.ssh/authorized_keys')
    writeFileSync(keys, `${readFileSync(keys, 'utf8')}${OWN_KEY}\n`)

    box.flag('docker-broken', false)
    const again = await box.run('full')
    expect(again.log.split('Dictumal setup starting').at(-1)).not.toMatch(/failed with exit code/)
    expect(again.status).toBe(0)
    expect(again.beacon).toMatchObject({ step: 'done', failed: null })
    const lines = readFileSync(keys, 'utf8').split('\n').filter(Boolean)
    expect(lines.sort()).toEqual([GIVEN_KEY, OWN_KEY, ROOT_KEY_A, ROOT_KEY_B].sort())
    // The firewall rules were spliced in once, however often the script ran.
    expect(box.read('/etc/ufw/before.rules').match(/dictumal-hardening: only root/g)).toHaveLength(1)
    // And a third run, with everything already in place, is still done.
    const third = await box.run('full')
    expect(third.status).toBe(0)
    expect(third.beacon).toMatchObject({ step: 'done', failed: null })
    expect(readFileSync(keys, 'utf8').split('\n').filter(Boolean)).toHaveLength(4)
  })

  it('leaves running Guacamole containers alone on a re-run with the same configuration (an open session survives)', async () => {
    const box = new Sandbox()
    expect((await box.run('full')).status).toBe(0)
    const again = await box.run('full')
    expect(again.status).toBe(0)
    expect(again.beacon).toMatchObject({ step: 'done', failed: null })
    expect(again.calls).not.toMatch(/^docker (rm|run)/m)
    // A changed configuration (another key) is applied: both containers are made anew.
    box.write(DROPLET_PATHS.guacamoleEnv, 'JSON_SECRET_KEY=00000000000000000000000000000000\n', 0o600)
    const changed = await box.run('full')
    expect(changed.status).toBe(0)
    expect(changed.calls.match(/^docker run/gm)).toHaveLength(2)
  })

  it('never lets a symlink the desktop user planted in its home redirect root (a re-run, as on resume)', async () => {
    const box = new Sandbox()
    expect((await box.run('full')).status).toBe(0)
    const home = box.path('/home/dictumal')
    // Root-owned targets the user must not gain: a directory and a file (like /etc and /etc/shadow).
    const victimDir = box.path('/etc/victim')
    const victimFile = box.path('/etc/victim-file')
    mkdirSync(victimDir, { mode: 0o755 })
    writeFileSync(victimFile, 'root only\n', { mode: 0o600 })
    rmSync(join(home, '.config'), { recursive: true, force: true })
    symlinkSync(victimDir, join(home, '.config'))
    symlinkSync(victimFile, join(home, '.ssh/authorized_keys.tmp'))
    symlinkSync(victimFile, join(home, '.vnc/config.tmp'))
    await box.run('full')
    expect(statSync(victimDir).uid).toBe(0)
    expect(readdirSync(victimDir)).toEqual([])
    expect(statSync(victimFile).uid).toBe(0)
    expect(readFileSync(victimFile, 'utf8')).toBe('root only\n')
  })

  it('keeps the user’s own edits of ~/Desktop/constitution.md on a re-run (a resumed desktop)', async () => {
    const box = new Sandbox()
    expect((await box.run('full')).status).toBe(0)
    const desk = box.path('/home/dictumal/Desktop/constitution.md')
    expect(readFileSync(desk, 'utf8')).toBe('# Charter\n\nBe kind.\n')
    writeFileSync(desk, 'my notes\n')
    expect((await box.run('full')).status).toBe(0)
    expect(readFileSync(desk, 'utf8')).toBe('my notes\n')
  })

  it('reports a container that will not start at start-guacamole, not as a download failure', async () => {
    const box = new Sandbox()
    box.flag('docker-run-broken', true)
    const run = await box.run('full')
    expect(run.status).toBe(125)
    expect(run.beacon).toMatchObject({ failed: { step: 'start-guacamole', exitCode: 125 } })
  })

  it('takes the secrets off the disk even when setup fails early, and a re-run in the same boot still finishes', async () => {
    const box = new Sandbox()
    box.flag('apt-broken', true)
    const failed = await box.run('full')
    expect(failed.status).not.toBe(0)
    expect(failed.beacon).toMatchObject({ failed: { step: 'install-docker' } })
    expect(existsSync(box.path(DROPLET_PATHS.secretsEnv))).toBe(false)
    box.flag('apt-broken', false)
    const again = await box.run('full')
    expect(again.status).toBe(0)
    expect(again.beacon).toMatchObject({ step: 'done', failed: null })
    // The RAM copy is gone too once VNC has its password.
    expect(existsSync(box.path(DROPLET_PATHS.runSecrets))).toBe(false)
    expect(box.allText()).not.toContain(secrets.vncPassword)
  })

  it('names Docker Hub’s pull limit in the beacon at pull-images, after backing off', async () => {
    const box = new Sandbox()
    box.flag('docker-rate-limit', true)
    const run = await box.run('full')
    expect(run.status).not.toBe(0)
    expect(run.beacon).toMatchObject({ step: 'pull-images', failed: { step: 'pull-images', exitCode: 1, reason: 'docker-rate-limit' } })
    // Five tries of the first image, 2 s doubling with DICTUMAL_RETRY_DELAY=1 (30 s doubling on a droplet).
    expect(run.sleeps).toEqual([2, 4, 8, 16])
    expect(run.calls.match(new RegExp(`docker pull --quiet ${GUACD_IMAGE}`, 'g'))).toHaveLength(5)
    expect(run.log).toContain('toomanyrequests')
  })

  it('forgets an old refusal: a later pull failure for another cause is not called a rate limit', async () => {
    const box = new Sandbox()
    box.flag('docker-rate-limit', true)
    expect((await box.run('full')).beacon?.failed?.reason).toBe('docker-rate-limit')
    box.flag('docker-rate-limit', false)
    box.flag('docker-broken', true)
    const again = await box.run('full')
    expect(again.beacon).toMatchObject({ step: 'pull-images', failed: { step: 'pull-images', exitCode: 1 } })
    expect(again.beacon?.failed?.reason).toBeUndefined()
  })

  it('blames Docker Hub only for the pull step: another step failing meanwhile carries no reason', async () => {
    const box = new Sandbox({ listening: [4822, 8080] })
    box.flag('docker-rate-limit', true)
    const run = await box.run('full')
    expect(run.status).not.toBe(0)
    // The pulls were refused in the background while VNC failed to start: the failure is VNC's alone.
    expect(run.calls).toMatch(/docker pull/)
    expect(run.beacon).toMatchObject({ step: 'start-vnc', failed: { step: 'start-vnc', exitCode: 1 } })
    expect(run.beacon?.failed?.reason).toBeUndefined()
  })

  it('reports a failed background pull once, at pull-images, never as another step’s failure', async () => {
    const box = new Sandbox()
    box.flag('docker-broken', true)
    const run = await box.run('full')
    expect(run.status).toBe(1)
    expect(failuresOf(run)).toEqual(['fail pull-images 1'])
    expect(run.log.match(/failed with exit code/g)).toHaveLength(1)
    expect(run.beacon).toMatchObject({ step: 'pull-images', failed: { step: 'pull-images', exitCode: 1 } })
    expect(run.beacon?.failed?.reason).toBeUndefined()
    // The desktop did not wait for the pulls.
    expect(stepsOf(run)).toEqual(['create-user', 'configure-firewall', 'install-docker', 'install-packages', 'start-vnc', 'pull-images'])
  })

  it('stops the background pulls when a step fails: a failed droplet starts no containers', async () => {
    const box = new Sandbox()
    box.flag('apt-desktop-broken', true)
    box.flag('docker-slow', true)
    const run = await box.run('full')
    expect(run.status).toBe(100)
    expect(run.beacon).toMatchObject({ step: 'install-packages', failed: { step: 'install-packages', exitCode: 100 } })
    // Long enough for both slow pulls and the early container start, had the job lived on.
    await new Promise((resolve) => setTimeout(resolve, 3500))
    const calls = readFileSync(join(box.dir, 'calls.log'), 'utf8')
    expect(calls).toMatch(/docker pull/)
    expect(calls).not.toMatch(/docker run/)
  })

  it('installs fast: no recommends, --force-unsafe-io, no man-db trigger, never an upgrade', async () => {
    const { box, run } = await cleanRun()
    expect(run.status).toBe(0)
    const apt = run.calls.split('\n').filter((line) => line.startsWith('apt-get'))
    expect(apt.length).toBeGreaterThanOrEqual(3)
    for (const line of apt) {
      expect(line).toContain('-o Dpkg::Options::=--force-unsafe-io')
      expect(line).not.toMatch(/\b(upgrade|dist-upgrade|full-upgrade)\b/)
      if (/ install /.test(line)) expect(line).toContain('--no-install-recommends')
    }
    expect(apt.some((line) => line.endsWith(`install --no-install-recommends ${DESKTOP_PACKAGES.join(' ')}`))).toBe(true)
    expect(existsSync(box.path('/var/lib/man-db/auto-update'))).toBe(false)
    expect(setupScript()).toMatch(/^set -euo pipefail$/m)
  })

  it('starts guacd with options only after the image (-b 127.0.0.1), and Tomcat with the entrypoint hook', async () => {
    const { box, run } = await cleanRun()
    expect(run.status).toBe(0)
    const runs = run.calls.split('\n').filter((line) => line.startsWith('docker run'))
    expect(runs).toHaveLength(2)
    const guacd = runs.find((line) => line.includes(GUACD_IMAGE)) ?? ''
    expect(guacd.slice(guacd.indexOf(GUACD_IMAGE) + GUACD_IMAGE.length).trim()).toBe('-b 127.0.0.1 -L info')
    const guacamole = runs.find((line) => line.includes(GUACAMOLE_IMAGE)) ?? ''
    expect(guacamole).toContain(`-v ${box.path(DROPLET_PATHS.guacamoleHook)}:/opt/guacamole/entrypoint.d/800-dictumal.sh:ro ${GUACAMOLE_IMAGE}`)
    expect(guacamole.trim().endsWith(GUACAMOLE_IMAGE)).toBe(true)
    for (const line of runs) expect(line).toMatch(/--network host/)
    // The hook it mounts is the one the user data carried.
    expect(box.read(DROPLET_PATHS.guacamoleHook)).toContain('AccessLogValve')
    // Nginx took over port 80 from the beacon server.
    expect(run.calls).toMatch(/nginx -t/)
    expect(existsSync(box.path('/etc/nginx/sites-enabled/default'))).toBe(false)
    expect(existsSync(box.path(`${DROPLET_PATHS.stateDir}/nginx`))).toBe(true)
  })

  it('serves the setup log from the start until Nginx takes 443, and brings the small server back when setup fails before that', async () => {
    const { box, run } = await cleanRun()
    expect(run.status).toBe(0)
    const calls = run.calls.split('\n')
    const start = calls.indexOf('systemctl start --no-block dictumal-setup-log.service')
    expect(start).toBeGreaterThan(-1)
    expect(calls[start - 1]).toBe('systemctl daemon-reload')
    // Before the first step: the log is reachable while apt, docker and the rest run.
    expect(start).toBeLessThan(calls.findIndex((line) => line.startsWith('apt-get')))
    const stop = calls.indexOf('systemctl stop dictumal-beacon.service dictumal-setup-log.service')
    expect(stop).toBeGreaterThan(start)
    expect(stop).toBeLessThan(calls.findIndex((line) => /^systemctl (restart|reload) nginx/.test(line)))
    // The log is root's and Nginx's workers' (group www-data), no one else's.
    const log = statSync(box.path(DROPLET_PATHS.log))
    expect(log.mode & 0o777).toBe(0o640)
    expect(log.gid).toBe(Number(spawnSync('getent', ['group', 'www-data'], { encoding: 'utf8' }).stdout.split(':')[2]))
    // The include Nginx reads is the one the user data carried (with this deployment's key).
    expect(box.read(DROPLET_PATHS.nginxSetupLogAuth)).toContain(`"Bearer ${secrets.logKey}"`)

    // A re-run once Nginx owns 443 leaves the small server off.
    const again = await box.run('full')
    expect(again.status).toBe(0)
    expect(again.calls).not.toMatch(/start --no-block dictumal-setup-log/)

    // A failure before configure-https: the server is started again on the way out (it may have died).
    const failing = new Sandbox()
    const failed = await failing.part('step install-packages\n(exit 100)\n')
    expect(failed.status).toBe(100)
    expect(failed.calls.match(/systemctl start --no-block dictumal-setup-log\.service/g)).toHaveLength(1)
  })

  it('serves no setup log for a deployment without a log key: no server, and Nginx’s location always 404', async () => {
    const box = new Sandbox({ userData: 'no-log-key' })
    const run = await box.run('full')
    expect(run.status).toBe(0)
    expect(run.calls).not.toMatch(/start --no-block dictumal-setup-log/)
    expect(existsSync(box.path(DROPLET_PATHS.logKey))).toBe(false)
    expect(box.read(DROPLET_PATHS.nginxSetupLogAuth)).toBe('return 404;\n')
    expect(statSync(box.path(DROPLET_PATHS.nginxSetupLogAuth)).mode & 0o777).toBe(0o600)
  })

  it('writes no secret into the setup log, which the droplet serves (success, failure and re-run)', async () => {
    const box = new Sandbox()
    box.flag('docker-broken', true)
    await box.run('full')
    box.flag('docker-broken', false)
    await box.run('full')
    const { run } = await cleanRun()
    const hash = readUserData(buildUserData(input)).userPasswordHash
    for (const log of [box.read(DROPLET_PATHS.log), run.log]) {
      expect(log).toMatch(/Dictumal setup finished/)
      for (const secret of [secrets.vncPassword, secrets.userPassword, secrets.guacamoleKey, secrets.logKey!, hash.split('$')[3]!]) {
        expect(log).not.toContain(secret)
      }
    }
  })
})
