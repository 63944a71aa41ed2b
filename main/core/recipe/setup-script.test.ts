// Runs the setup script's prologue and error trap for real, with its paths moved into a temp dir and
// systemctl / systemd-run replaced by recorders, to prove a failed step reaches the beacon and the log.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { beaconScript, parseBeacon } from './beacon'
import { DROPLET_PATHS } from './paths'
import { DESKTOP_PACKAGES, setupScript } from './setup-script'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

function sandbox(body: string) {
  const dir = mkdtempSync(join(tmpdir(), 'dictumal-setup-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'bin'))
  const calls = join(dir, 'calls.log')
  // `systemctl is-active` answers "not active" so the script takes its fallback paths.
  writeFileSync(join(dir, 'bin', 'systemctl'), `#!/bin/sh\necho "systemctl $*" >>${calls}\n[ "$1" = is-active ] && exit 3\nexit 0\n`)
  writeFileSync(join(dir, 'bin', 'systemd-run'), `#!/bin/sh\necho "systemd-run $*" >>${calls}\n`)
  chmodSync(join(dir, 'bin', 'systemctl'), 0o755)
  chmodSync(join(dir, 'bin', 'systemd-run'), 0o755)
  writeFileSync(join(dir, 'beacon'), beaconScript(), { mode: 0o755 })
  writeFileSync(join(dir, 'secrets.env'), 'VNC_PASSWORD=Vnc12345\nUSER_PASSWORD=UserPassword1234567\n')
  writeFileSync(join(dir, 'policy-rc.d'), '#!/bin/sh\nexit 101\n')
  const full = setupScript()
  const prologue = full.slice(0, full.indexOf('step create-user'))
  const script = (prologue + body)
    .replaceAll(DROPLET_PATHS.log, join(dir, 'init.log'))
    .replaceAll(DROPLET_PATHS.beaconScript, join(dir, 'beacon'))
    .replaceAll(DROPLET_PATHS.secretsEnv, join(dir, 'secrets.env'))
    .replaceAll('/usr/sbin/policy-rc.d', join(dir, 'policy-rc.d'))
  writeFileSync(join(dir, 'setup'), script, { mode: 0o700 })
  const result = spawnSync('bash', [join(dir, 'setup')], {
    env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, DICTUMAL_ROOT: dir },
    encoding: 'utf8',
  })
  const read = (name: string): string => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '')
  return {
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
})
