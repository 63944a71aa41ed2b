import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BEACON_STEPS, beaconScript, describeBeaconFailure, parseBeacon } from './beacon'
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

  it('passes shellcheck', (ctx) => {
    requireTool('shellcheck', (note) => ctx.skip(note))
    const result = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: beaconScript(), encoding: 'utf8' })
    expect(result.stdout).toBe('')
    expect(result.status).toBe(0)
  })
})
