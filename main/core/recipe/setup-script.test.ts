// Runs the setup script's prologue and error trap for real, with its paths moved into a temp dir and
// systemctl / systemd-run replaced by recorders, to prove a failed step reaches the beacon and the log.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { beaconScript, parseBeacon } from './beacon'
import { DROPLET_PATHS } from './paths'
import { DESKTOP_PACKAGES, setupScript } from './setup-script'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

interface SandboxOptions {
  /** Extra commands for PATH, name → sh script body. */
  stubs?: Record<string, string>
  /** Applied to the body only, after the sandbox's own path replacements. */
  replace?: (body: string, dir: string) => string
}

function sandbox(body: string, options: SandboxOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dictumal-setup-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'bin'))
  const calls = join(dir, 'calls.log')
  // `systemctl is-active` answers "not active" so the script takes its fallback paths.
  writeFileSync(join(dir, 'bin', 'systemctl'), `#!/bin/sh\necho "systemctl $*" >>${calls}\n[ "$1" = is-active ] && exit 3\nexit 0\n`)
  writeFileSync(join(dir, 'bin', 'systemd-run'), `#!/bin/sh\necho "systemd-run $*" >>${calls}\n`)
  chmodSync(join(dir, 'bin', 'systemctl'), 0o755)
  chmodSync(join(dir, 'bin', 'systemd-run'), 0o755)
  for (const [name, text] of Object.entries(options.stubs ?? {})) {
    writeFileSync(join(dir, 'bin', name), `#!/bin/sh\n${text}\n`, { mode: 0o755 })
  }
  writeFileSync(join(dir, 'beacon'), beaconScript(), { mode: 0o755 })
  writeFileSync(join(dir, 'secrets.env'), 'VNC_PASSWORD=Vnc12345\nUSER_PASSWORD=UserPassword1234567\n')
  writeFileSync(join(dir, 'policy-rc.d'), '#!/bin/sh\nexit 101\n')
  const full = setupScript()
  const prologue = full.slice(0, full.indexOf('step create-user'))
  const move = (text: string): string =>
    text
      .replaceAll(DROPLET_PATHS.log, join(dir, 'init.log'))
      .replaceAll(DROPLET_PATHS.beaconScript, join(dir, 'beacon'))
      .replaceAll(DROPLET_PATHS.secretsEnv, join(dir, 'secrets.env'))
      .replaceAll('/usr/sbin/policy-rc.d', join(dir, 'policy-rc.d'))
  const script = move(prologue) + (options.replace ?? ((text: string) => text))(move(body), dir)
  writeFileSync(join(dir, 'setup'), script, { mode: 0o700 })
  const result = spawnSync('bash', [join(dir, 'setup')], {
    env: {
      ...process.env,
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      DICTUMAL_ROOT: dir,
      DICTUMAL_RETRY_DELAY: '0',
    },
    encoding: 'utf8',
  })
  const read = (name: string): string => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '')
  return {
    dir,
    status: result.status,
    log: read('init.log'),
    calls: read('calls.log'),
    beacon: parseBeacon(JSON.parse(readFileSync(join(dir, DROPLET_PATHS.beaconFile), 'utf8'))),
    policyLeft: existsSync(join(dir, 'policy-rc.d')),
  }
}

describe('the setup script', () => {
  it('records a failed step with its exit code, logs it, restores port 80 and stops', () => {
    const run = sandbox('step install-packages\n(exit 100)\necho "not reached"\n')
    expect(run.status).toBe(100)
    expect(run.beacon).toMatchObject({ step: 'install-packages', failed: { step: 'install-packages', exitCode: 100 } })
    expect(run.log).toMatch(/step install-packages failed with exit code 100/)
    expect(run.log).not.toContain('not reached')
    expect(run.policyLeft).toBe(false)
    // Nginx never came up, so the port-80 beacon server is (re)started.
    expect(run.calls).toMatch(/systemd-run .*--unit=dictumal-beacon .*python3 -m http\.server 80/)
    expect(run.log).not.toContain('Vnc12345')
    expect(run.log).not.toContain('UserPassword1234567')
  })

  it('catches failures inside pipelines and functions too', () => {
    const run = sandbox('step pull-images\nhelper() { false | cat; }\nhelper\n')
    expect(run.status).toBe(1)
    expect(run.beacon?.failed).toEqual({ step: 'pull-images', exitCode: 1 })
  })

  it('publishes steps as it goes and starts the watcher', () => {
    const run = sandbox('step start-vnc\nstep "done"\n')
    expect(run.status).toBe(0)
    expect(run.beacon).toMatchObject({ step: 'done', failed: null })
    expect(run.calls).toMatch(/systemd-run .*--unit=dictumal-beacon-watch .*beacon watch/)
    expect(run.log).toMatch(/step start-vnc\n.*step done/)
  })

  it('installs without recommends and never upgrades', () => {
    const script = setupScript()
    const installs = script.split('\n').filter((line) => /APT\[@\]}" install/.test(line))
    expect(installs.length).toBeGreaterThan(0)
    for (const line of installs) expect(line).toContain('--no-install-recommends')
    expect(script).not.toMatch(/\b(upgrade|dist-upgrade|full-upgrade)\b/)
    expect(script).toContain(DESKTOP_PACKAGES.join(' '))
    expect(script).toMatch(/^set -euo pipefail$/m)
  })

  it('reports a failure the ERR trap cannot see (unset variable, ${VAR:?}, SIGTERM) and still removes policy-rc.d', () => {
    const cases: [string, number][] = [
      ['step create-user\necho "$NOT_SET_ANYWHERE"\n', 1],
      ['step create-user\n: "${NOT_SET_ANYWHERE:?missing}"\n', 1],
      ['step install-packages\nkill -TERM $$\nsleep 5\n', 143],
    ]
    for (const [body, code] of cases) {
      const run = sandbox(body)
      expect(run.status, body).toBe(code)
      expect(run.beacon?.failed, body).toEqual({ step: body.includes('install-packages') ? 'install-packages' : 'create-user', exitCode: code })
      expect(run.policyLeft, body).toBe(false)
      expect(run.log, body).toMatch(new RegExp(`failed with exit code ${code}`))
    }
  })

  it('retries a flaky download and gives up after three tries with the command’s exit code', () => {
    const flaky = 'step install-docker\nretry sh -c \'n=$(cat "$0" 2>/dev/null || echo 0); echo $((n + 1)) >"$0"; [ "$n" -ge 2 ]\' "$DICTUMAL_ROOT/count"\necho recovered\n'
    const ok = sandbox(flaky)
    expect(ok.status).toBe(0)
    expect(ok.log).toContain('recovered')
    expect(readFileSync(join(ok.dir, 'count'), 'utf8').trim()).toBe('3')
    const broken = sandbox('step pull-images\nretry sh -c "exit 7" &\nwait $!\n')
    expect(broken.status).toBe(7)
    expect(broken.log.match(/attempt \d failed/g)).toHaveLength(2)
    expect(broken.beacon?.failed).toEqual({ step: 'pull-images', exitCode: 7 })
  })

  it('waits for a port and gives up on one nothing listens on', async () => {
    const server = createServer((socket) => socket.end())
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
      const run = sandbox(`step start-vnc\nwait_for_port ${open} 3 && echo "open up"\nwait_for_port ${closed} 2 || echo "closed down"\n`)
      expect(run.status).toBe(0)
      expect(run.log).toContain('open up')
      expect(run.log).toContain(`nothing listens on 127.0.0.1:${closed}`)
      expect(run.log).toContain('closed down')
    } finally {
      server.close()
    }
  })

  it('fails start-vnc, not "done", when nothing listens on 5901 after the unit started', () => {
    const script = setupScript()
    const vnc = script.slice(script.indexOf('step start-vnc'), script.indexOf('step start-guacamole'))
    expect(vnc.indexOf('wait_for_port 5901')).toBeGreaterThan(vnc.indexOf('systemctl enable --now tigervncserver@:1'))
  })

  // Needs root (install -o) and the stock `daemon` user as a stand-in for the desktop user.
  const daemonUid = spawnSync('id', ['-u', 'daemon'], { encoding: 'utf8' })
  const canChown = process.getuid?.() === 0 && daemonUid.status === 0
  it.skipIf(!canChown)('gives the desktop user every directory it creates under home, ~/.config included', () => {
    const script = setupScript()
    const vnc = script.slice(script.indexOf('step start-vnc'), script.indexOf('systemctl enable --now tigervncserver@:1'))
    const run = sandbox(vnc, {
      stubs: { tigervncpasswd: 'cat >/dev/null\nprintf 12345678' },
      replace: (body, dir) => {
        mkdirSync(join(dir, 'home'))
        // The sandbox's own paths contain "dictumal" too, so swap the user name before inserting them.
        return body
          .replaceAll('/home/dictumal', '@HOME@')
          .replaceAll('dictumal', 'daemon')
          .replaceAll('@HOME@', join(dir, 'home'))
          .replaceAll('/etc/tigervnc/vncserver.users', join(dir, 'vncserver.users'))
      },
    })
    expect(run.log).not.toMatch(/failed with exit code/)
    expect(run.status).toBe(0)
    const uid = Number(daemonUid.stdout.trim())
    for (const path of ['.config', '.config/tigervnc', '.config/tigervnc/passwd', '.vnc', '.vnc/passwd', '.vnc/config', '.vnc/xstartup']) {
      expect(statSync(join(run.dir, 'home', path)).uid, path).toBe(uid)
    }
    expect(statSync(join(run.dir, 'home', '.vnc/passwd')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(run.dir, 'home', '.vnc/passwd'), 'utf8')).toBe('12345678')
    expect(readFileSync(join(run.dir, 'vncserver.users'), 'utf8')).toBe(':1=daemon\n')
  })
})
