import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BEACON_STEPS, beaconScript, bootcmdScript, describeBeaconFailure, parseBeacon, stepDurations } from './beacon'
import { DROPLET_PATHS } from './paths'
import { requireTool } from './testing/require-tool'

describe('parseBeacon', () => {
  it('accepts the SPEC §4 example', () => {
    const beacon = parseBeacon(
      JSON.parse(
        '{"v":1,"step":"install-packages","checks":{"vnc5901":false,"guacHttp8080":false},"failed":null,"updatedAt":"2026-11-27T10:00:00Z"}',
      ),
    )
    expect(beacon).toEqual({
      v: 1,
      step: 'install-packages',
      checks: { vnc5901: false, guacHttp8080: false },
      failed: null,
      updatedAt: '2026-11-27T10:00:00Z',
    })
  })

  it('accepts a failed step with its exit code and says where the log is', () => {
    const beacon = parseBeacon({
      v: 1,
      step: 'pull-images',
      checks: { vnc5901: false, guacHttp8080: false },
      failed: { step: 'pull-images', exitCode: 1 },
      updatedAt: '2026-11-27T10:03:00Z',
    })
    expect(beacon?.failed).toEqual({ step: 'pull-images', exitCode: 1 })
    expect(describeBeaconFailure({ step: 'pull-images', exitCode: 1 })).toMatch(
      /"pull-images".*exit code 1.*\/var\/log\/dictumal-init\.log/,
    )
  })

  it('refuses anything else a port-80 server might answer', () => {
    const good = { v: 1, step: 'boot', checks: { vnc5901: false, guacHttp8080: false }, failed: null, updatedAt: '2026-11-27T10:00:00Z' }
    for (const bad of [
      null,
      'ok',
      { ...good, v: 2 },
      { ...good, step: 'mine-bitcoin' },
      { ...good, checks: { vnc5901: 'yes', guacHttp8080: false } },
      { ...good, failed: { step: 'boot' } },
      { ...good, updatedAt: 'yesterday' },
    ]) {
      expect(parseBeacon(bad)).toBeNull()
    }
  })

  it('lists the steps in the order they run', () => {
    expect(BEACON_STEPS[0]).toBe('boot')
    expect(BEACON_STEPS.at(-1)).toBe('done')
    expect(BEACON_STEPS.indexOf('install-packages')).toBeLessThan(BEACON_STEPS.indexOf('start-vnc'))
    expect(BEACON_STEPS.indexOf('start-vnc')).toBeLessThan(BEACON_STEPS.indexOf('start-guacamole'))
    expect(BEACON_STEPS.indexOf('start-guacamole')).toBeLessThan(BEACON_STEPS.indexOf('configure-https'))
  })
})

describe('the beacon script, run for real', () => {
  let root: string
  let script: string
  const servers: Server[] = []

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'dictumal-beacon-'))
    script = join(root, 'beacon')
    writeFileSync(script, beaconScript(), { mode: 0o755 })
  })
  afterAll(() => {
    servers.forEach((server) => server.close())
    rmSync(root, { recursive: true, force: true })
  })

  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('bash', [script, ...args], { env: { ...process.env, DICTUMAL_ROOT: root, ...env }, encoding: 'utf8' })
  const read = (): unknown => JSON.parse(readFileSync(join(root, DROPLET_PATHS.beaconFile), 'utf8'))

  it('publishes each step and a failure in the shape parseBeacon accepts', () => {
    expect(run(['step', 'install-packages']).status).toBe(0)
    const during = parseBeacon(read())
    expect(during).toMatchObject({ step: 'install-packages', failed: null, checks: { vnc5901: false, guacHttp8080: false } })
    expect(Date.now() - Date.parse(during?.updatedAt ?? '')).toBeLessThan(5_000)

    expect(run(['fail', 'install-packages', '100']).status).toBe(0)
    expect(parseBeacon(read())).toMatchObject({ step: 'install-packages', failed: { step: 'install-packages', exitCode: 100 } })
  })

  it('rejects unknown steps and non-numeric exit codes without touching the file', () => {
    const before = readFileSync(join(root, DROPLET_PATHS.beaconFile), 'utf8')
    expect(run(['step', 'x"}; rm -rf /']).status).toBe(2)
    expect(run(['fail', 'boot', '1; echo']).status).toBe(2)
    expect(run(['check', 'vnc5901', 'maybe']).status).toBe(2)
    expect(readFileSync(join(root, DROPLET_PATHS.beaconFile), 'utf8')).toBe(before)
  })

  it('watches VNC and Guacamole come up on loopback and stops once setup is done', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'dictumal-watch-'))
    const vnc = createTcpServer((socket) => socket.end())
    const guacamole = createHttpServer((_req, res) => res.end('ok'))
    servers.push(vnc, guacamole)
    const env = {
      ...process.env,
      DICTUMAL_ROOT: fresh,
      DICTUMAL_VNC_PORT: '1',
      DICTUMAL_GUAC_URL: 'http://127.0.0.1:1/guacamole/',
      DICTUMAL_WATCH_INTERVAL: '0.2',
    }
    // Nothing listens yet: the watcher must report false and keep going.
    spawnSync('bash', [script, 'step', 'start-vnc'], { env })
    vnc.listen(0, '127.0.0.1')
    guacamole.listen(0, '127.0.0.1')
    await Promise.all([once(vnc, 'listening'), once(guacamole, 'listening')])
    env.DICTUMAL_VNC_PORT = String((vnc.address() as AddressInfo).port)
    env.DICTUMAL_GUAC_URL = `http://127.0.0.1:${(guacamole.address() as AddressInfo).port}/guacamole/`
    const watcher = spawn('bash', [script, 'watch'], { env, stdio: 'ignore' })
    const exited = once(watcher, 'exit')
    try {
      const file = join(fresh, DROPLET_PATHS.beaconFile)
      const deadline = Date.now() + 10_000
      let beacon = parseBeacon(JSON.parse(readFileSync(file, 'utf8')))
      while (!(beacon?.checks.vnc5901 && beacon.checks.guacHttp8080) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        beacon = parseBeacon(JSON.parse(readFileSync(file, 'utf8')))
      }
      expect(beacon?.checks).toEqual({ vnc5901: true, guacHttp8080: true })
      expect(watcher.exitCode).toBeNull()
      spawnSync('bash', [script, 'step', 'done'], { env })
      const [code] = await exited
      expect(code).toBe(0)
    } finally {
      watcher.kill()
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  /** A TCP server on a free loopback port that counts the connections it accepts. */
  async function countingServer(): Promise<{ server: Server; port: number; accepted: () => number; sockets: Socket[] }> {
    let accepted = 0
    const sockets: Socket[] = []
    const server = createTcpServer((socket) => {
      accepted++
      sockets.push(socket)
      socket.on('error', () => {})
    })
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { server, port: (server.address() as AddressInfo).port, accepted: () => accepted, sockets }
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  async function until(condition: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!condition() && Date.now() < deadline) await sleep(100)
  }

  it('watch sees VNC listening through ss without ever connecting to its port (TigerVNC would black-mark us)', async (ctx) => {
    requireTool('ss', (note) => ctx.skip(note))
    const fresh = mkdtempSync(join(tmpdir(), 'dictumal-watch-'))
    const vnc = await countingServer()
    const env = {
      ...process.env,
      DICTUMAL_ROOT: fresh,
      DICTUMAL_VNC_PORT: String(vnc.port),
      DICTUMAL_GUAC_URL: 'http://127.0.0.1:1/guacamole/',
      DICTUMAL_WATCH_INTERVAL: '0.1',
    }
    spawnSync('bash', [script, 'step', 'start-vnc'], { env })
    const watcher = spawn('bash', [script, 'watch'], { env, stdio: 'ignore' })
    try {
      const file = join(fresh, DROPLET_PATHS.beaconFile)
      await until(() => parseBeacon(JSON.parse(readFileSync(file, 'utf8')))?.checks.vnc5901 === true)
      expect(parseBeacon(JSON.parse(readFileSync(file, 'utf8')))?.checks.vnc5901).toBe(true)
      await sleep(1_000) // ten more rounds of the watcher
      expect(vnc.accepted()).toBe(0)
    } finally {
      watcher.kill()
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  it('activity records lastActivityAt only while a connection to the VNC port is established', async (ctx) => {
    requireTool('ss', (note) => ctx.skip(note))
    const fresh = mkdtempSync(join(tmpdir(), 'dictumal-activity-'))
    const vnc = await countingServer()
    const env = { ...process.env, DICTUMAL_ROOT: fresh, DICTUMAL_VNC_PORT: String(vnc.port), DICTUMAL_ACTIVITY_INTERVAL: '0.2' }
    const file = join(fresh, DROPLET_PATHS.beaconFile)
    const beacon = () => parseBeacon(JSON.parse(readFileSync(file, 'utf8')))
    spawnSync('bash', [script, 'step', 'done'], { env })
    const activity = spawn('bash', [script, 'activity'], { env, stdio: 'ignore' })
    try {
      await sleep(1_000)
      expect(beacon()?.lastActivityAt).toBeNull()
      const client = tcpConnect(vnc.port, '127.0.0.1')
      await once(client, 'connect')
      const since = Date.now()
      await until(() => typeof beacon()?.lastActivityAt === 'string')
      const seen = beacon()?.lastActivityAt ?? ''
      expect(Date.parse(seen)).toBeGreaterThanOrEqual(Math.floor(since / 1000) * 1000)
      client.destroy()
      vnc.sockets.forEach((socket) => socket.destroy())
      await sleep(1_500) // lets a round that saw the connection just before it closed finish
      const last = beacon()?.lastActivityAt
      await sleep(2_200) // more than a second later, so a new stamp would differ
      expect(beacon()?.lastActivityAt).toBe(last)
    } finally {
      activity.kill()
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  it('clears a stored failure when a step starts, so a re-run that gets further is not failed', () => {
    const fresh = mkdtempSync(join(tmpdir(), 'dictumal-rerun-'))
    const env = { DICTUMAL_ROOT: fresh }
    const file = join(fresh, DROPLET_PATHS.beaconFile)
    try {
      run(['step', 'pull-images'], env)
      expect(run(['fail', 'pull-images', '1', 'docker-rate-limit'], env).status).toBe(0)
      expect(parseBeacon(JSON.parse(readFileSync(file, 'utf8')))?.failed).toEqual({ step: 'pull-images', exitCode: 1, reason: 'docker-rate-limit' })
      expect(run(['fail', 'pull-images', '1', 'free text'], env).status).toBe(2)
      run(['step', 'create-user'], env)
      expect(parseBeacon(JSON.parse(readFileSync(file, 'utf8')))).toMatchObject({ step: 'create-user', failed: null })
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  it('records when each step started and ended, in a shape parseBeacon and stepDurations read', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'dictumal-timings-'))
    const env = { DICTUMAL_ROOT: fresh }
    const file = join(fresh, DROPLET_PATHS.beaconFile)
    try {
      run(['step', 'create-user'], env)
      await sleep(1_100)
      run(['step', 'configure-firewall'], env)
      const during = parseBeacon(JSON.parse(readFileSync(file, 'utf8')))
      expect(during?.timings?.['configure-firewall']).toEqual({ start: expect.any(String), end: null })
      expect(stepDurations(during!).map((d) => d.step)).toEqual(['create-user'])
      run(['step', 'done'], env)
      const after = parseBeacon(JSON.parse(readFileSync(file, 'utf8')))
      const durations = stepDurations(after!)
      expect(durations.map((d) => d.step)).toEqual(['create-user', 'configure-firewall', 'done'])
      expect(durations[0]?.seconds).toBeGreaterThanOrEqual(1)
      expect(durations[0]?.seconds).toBeLessThan(10)
      expect(after?.timings?.['create-user']?.end).toBe(after?.timings?.['configure-firewall']?.start)
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  it('passes shellcheck', (ctx) => {
    requireTool('shellcheck', (note) => ctx.skip(note))
    const result = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: beaconScript(), encoding: 'utf8' })
    expect(result.stdout).toBe('')
    expect(result.status).toBe(0)
  })
})

describe('bootcmd, run for real with its paths moved into a temp dir', () => {
  const OWNER = '3f2a9c1e-7b4d-4c2a-9e1f-0a1b2c3d4e5f'
  const dirs: string[] = []
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

  function boot(dir: string, owner: string): { status: number | null; calls: string } {
    mkdirSync(join(dir, 'bin'), { recursive: true })
    const calls = join(dir, 'calls.log')
    rmSync(calls, { force: true })
    writeFileSync(join(dir, 'bin', 'systemctl'), `#!/bin/sh\necho "systemctl $*" >>${calls}\n[ "$1" = is-active ] && exit 3\nexit 0\n`, { mode: 0o755 })
    writeFileSync(join(dir, 'bin', 'systemd-run'), `#!/bin/sh\necho "systemd-run $*" >>${calls}\n`, { mode: 0o755 })
    const text = bootcmdScript(owner)
      .replaceAll('/var/lib/dictumal', join(dir, 'var/lib/dictumal'))
      .replaceAll('/etc/dictumal', join(dir, 'etc/dictumal'))
    expect(text).not.toMatch(/ \/var\//)
    expect(text).not.toMatch(/ \/etc\/dictumal/)
    const result = spawnSync('sh', ['-c', text], { env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` }, encoding: 'utf8' })
    return { status: result.status, calls: existsSync(calls) ? readFileSync(calls, 'utf8') : '' }
  }

  it('starts a fresh beacon for a new owner, keeps a known owner\'s state, and starts the port-80 server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dictumal-bootcmd-'))
    dirs.push(dir)
    const state = join(dir, DROPLET_PATHS.stateDir)
    const file = join(dir, DROPLET_PATHS.beaconFile)
    const first = boot(dir, 'bake')
    expect(first.status).toBe(0)
    expect(parseBeacon(JSON.parse(readFileSync(file, 'utf8')))).toMatchObject({ step: 'boot', failed: null })
    expect(first.calls).toMatch(/systemd-run .*--unit=dictumal-beacon .*python3 -m http\.server 80/)

    // The image build got to "done" (a disk snapshotted after setup).
    const beacon = join(dir, 'beacon')
    writeFileSync(beacon, beaconScript(), { mode: 0o755 })
    spawnSync('bash', [beacon, 'step', 'done'], { env: { ...process.env, DICTUMAL_ROOT: dir } })
    writeFileSync(join(state, 'nginx'), '')
    expect(boot(dir, 'bake').status).toBe(0)
    expect(parseBeacon(JSON.parse(readFileSync(file, 'utf8')))?.step).toBe('done')
    expect(existsSync(join(state, 'nginx'))).toBe(true)

    // A droplet made from that disk belongs to a deployment: it must not report the image's "done".
    const second = boot(dir, OWNER)
    expect(second.status).toBe(0)
    expect(readFileSync(join(state, 'owner'), 'utf8').trim()).toBe(OWNER)
    expect(existsSync(join(state, 'nginx'))).toBe(false)
    expect(existsSync(join(state, 'step'))).toBe(false)
    expect(parseBeacon(JSON.parse(readFileSync(file, 'utf8')))).toMatchObject({ step: 'boot', failed: null })
  })

  it('restarts the setup log server on a reboot before Nginx took 443, only with a key, and drops an old owner’s key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dictumal-bootcmd-'))
    dirs.push(dir)
    const key = join(dir, DROPLET_PATHS.logKey)
    const auth = join(dir, DROPLET_PATHS.nginxSetupLogAuth)
    // First boot: write_files has not run yet, so there is no key and no server (the setup script starts it).
    const first = boot(dir, OWNER)
    expect(first.status).toBe(0)
    expect(first.calls).not.toMatch(/dictumal-setup-log/)
    mkdirSync(join(dir, 'etc/dictumal'), { recursive: true })
    writeFileSync(key, `${'ab'.repeat(32)}\n`, { mode: 0o600 })
    writeFileSync(auth, 'if ($http_authorization != "Bearer x") { return 404; }\n', { mode: 0o600 })
    // A reboot mid-setup: the key is there, Nginx is not.
    const reboot = boot(dir, OWNER)
    expect(reboot.calls).toContain('systemctl start --no-block dictumal-setup-log.service')
    expect(existsSync(key)).toBe(true)
    // Once Nginx owns 443 (state/nginx), bootcmd leaves it alone.
    writeFileSync(join(dir, DROPLET_PATHS.stateDir, 'nginx'), '')
    expect(boot(dir, OWNER).calls).not.toMatch(/dictumal-setup-log/)
    // A disk that belonged to another deployment loses that deployment's key before write_files runs.
    expect(boot(dir, '0a1b2c3d-7b4d-4c2a-9e1f-0a1b2c3d4e5f').status).toBe(0)
    expect(existsSync(key)).toBe(false)
    expect(existsSync(auth)).toBe(false)
  })

  it('refuses an owner that is neither a deployment id nor "bake"', () => {
    for (const owner of ['', 'x; reboot', OWNER.toUpperCase(), `${OWNER}\n`]) expect(() => bootcmdScript(owner)).toThrow()
  })
})
