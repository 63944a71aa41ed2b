// The setup log server, run for real: the generated Python script under /usr/bin/python3 on loopback,
// with a real deployment certificate, asked by the app's own pinned agent and probes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request, type Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDeploymentCertificate, type DeploymentCertificate } from '../certificate'
import { generateDeploymentSecrets } from '../deployment-secrets'
import { gatewayAcceptsToken, pinnedAgent, probeGuacamoleHttps } from '../engine/probes'
import { SETUP_LOG_PATH, SETUP_LOG_TAIL_BYTES, setupLogAuthorization } from '../setup-log-contract'
import { nginxSetupLogAuth, setupLogServerScript, setupLogServerUnit } from './setup-log-server'
import { DROPLET_PATHS } from './paths'
import { requireTool } from './testing/require-tool'

const PYTHON = '/usr/bin/python3'
const pythonMissing = !existsSync(PYTHON)
if (pythonMissing && process.env.CI) throw new Error('/usr/bin/python3 is missing: apt-get install python3')

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

describe.skipIf(pythonMissing)('the setup log server, run for real on loopback', () => {
  let dir: string
  let logFile: string
  let cert: DeploymentCertificate
  let key: string
  let server: ChildProcess
  let port: number
  let agent: Agent

  async function start(keyText: string): Promise<{ child: ChildProcess; port: Promise<number>; stderr: () => string }> {
    const creds = mkdtempSync(join(dir, 'creds-'))
    writeFileSync(join(creds, 'log-key'), keyText, { mode: 0o600 })
    writeFileSync(join(creds, 'cert.pem'), cert.certPem)
    writeFileSync(join(creds, 'key.pem'), cert.keyPem, { mode: 0o600 })
    const script = join(dir, 'setup-log-server')
    writeFileSync(script, setupLogServerScript(), { mode: 0o755 })
    const child = spawn(PYTHON, ['-I', script], {
      env: { PATH: process.env.PATH, CREDENTIALS_DIRECTORY: creds, DICTUMAL_SETUP_LOG: logFile, DICTUMAL_BIND: '127.0.0.1', DICTUMAL_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c))
    const listening = new Promise<number>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (c: string) => {
        out += c
        const m = /listening on port (\d+)/.exec(out)
        if (m) resolve(Number(m[1]))
      })
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}: ${err}`)))
    })
    return { child, port: listening, stderr: () => err }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dictumal-setup-log-'))
    logFile = join(dir, 'dictumal-init.log')
    cert = await generateDeploymentCertificate()
    key = generateDeploymentSecrets().logKey!
    const started = await start(`${key}\n`)
    server = started.child
    port = await started.port
    agent = pinnedAgent(cert.fingerprint, 5000)
  })

  afterAll(async () => {
    await agent?.close()
    if (server && server.exitCode === null) {
      server.kill('SIGTERM')
      await once(server, 'exit')
    }
    rmSync(dir, { recursive: true, force: true })
  })

  async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET'): Promise<Reply> {
    const res = await request(`https://127.0.0.1:${port}${path}`, { method, headers, dispatcher: agent, signal: AbortSignal.timeout(10_000) })
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) }
  }
  const withKey = (extra: Record<string, string> = {}): Record<string, string> => ({ authorization: setupLogAuthorization(key), ...extra })

  it('answers the right key with the log, and a suffix Range with exactly its last bytes (206)', async () => {
    const text = Array.from({ length: 400 }, (_, i) => `==> 2026-12-01T10:00:${String(i % 60).padStart(2, '0')}Z step line ${i}\n`).join('')
    writeFileSync(logFile, text)
    const whole = await get(SETUP_LOG_PATH, withKey())
    expect(whole.status).toBe(200)
    expect(whole.body.toString('utf8')).toBe(text)
    expect(whole.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(whole.headers['cache-control']).toBe('no-store')

    const tail = await get(SETUP_LOG_PATH, withKey({ range: 'bytes=-100' }))
    expect(tail.status).toBe(206)
    expect(tail.body.toString('utf8')).toBe(text.slice(-100))
    const size = Buffer.byteLength(text)
    expect(tail.headers['content-range']).toBe(`bytes ${size - 100}-${size - 1}/${size}`)
    expect(tail.headers['cache-control']).toBe('no-store')
    expect(tail.headers['content-type']).toBe('text/plain; charset=utf-8')

    // A suffix longer than the log is the whole log, still as a range.
    const all = await get(SETUP_LOG_PATH, withKey({ range: `bytes=-${SETUP_LOG_TAIL_BYTES}` }))
    expect(all.status).toBe(206)
    expect(all.body.toString('utf8')).toBe(text)
  })

  it('answers a missing or wrong key exactly as a path that does not exist: 404', async () => {
    writeFileSync(logFile, 'secretless but private\n')
    const nothing = await get('/no/such/thing')
    expect(nothing.status).toBe(404)
    const other = generateDeploymentSecrets().logKey!
    const tries: Record<string, string>[] = [
      {},
      { authorization: setupLogAuthorization(other) },
      { authorization: key },
      { authorization: `Bearer ${key.toUpperCase()}` },
      { authorization: `Bearer ${key}0` },
      { authorization: `Bearer ${key.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`x:${key}`).toString('base64')}` },
    ]
    for (const headers of tries) {
      const reply = await get(SETUP_LOG_PATH, { ...headers, range: 'bytes=-10' })
      expect(reply.status, JSON.stringify(headers).slice(0, 40)).toBe(404)
      expect(reply.body.equals(nothing.body)).toBe(true)
      expect(reply.headers['content-type']).toBe(nothing.headers['content-type'])
      expect(reply.body.toString()).not.toContain('private')
    }
    // Only the one exact path: no directory listing, no other file, not even with the key.
    for (const path of ['/', '/dictumal/', '/dictumal/setup-log/', '/dictumal/status.json']) {
      const reply = await get(path, withKey())
      expect(reply.status, path).toBe(404)
    }
    expect((await get(SETUP_LOG_PATH, withKey(), 'POST')).status).toBe(404)
  })

  it('is never taken for Guacamole by the engine’s HTTPS readiness probe or token check', async () => {
    expect((await get('/guacamole/', withKey())).status).toBe(404)
    const url = `127.0.0.1:${port}`
    expect(await probeGuacamoleHttps(url, agent, 5000)).toBe(false)
    expect(await gatewayAcceptsToken(url, agent, 'token', 5000)).toBe(false)
    // …while the same pinned agent does reach the log, so the false above is not a connection failure.
    expect((await get(SETUP_LOG_PATH, withKey())).status).toBe(200)
  })

  it('sends only the tail of a large log, reading it in bounded chunks (the process never holds the log)', async () => {
    const tailText = 'last line of a very long log\n'
    writeFileSync(logFile, '')
    truncateSync(logFile, 96 * 1024 * 1024)
    writeFileSync(logFile, tailText, { flag: 'a' })
    const reply = await get(SETUP_LOG_PATH, withKey({ range: `bytes=-${SETUP_LOG_TAIL_BYTES}` }))
    expect(reply.status).toBe(206)
    expect(reply.body.length).toBe(SETUP_LOG_TAIL_BYTES)
    expect(reply.body.subarray(-tailText.length).toString()).toBe(tailText)
    // Even the whole 96 MiB, asked without a Range, streams through a small buffer.
    const whole = await get(SETUP_LOG_PATH, withKey())
    expect(whole.body.length).toBe(96 * 1024 * 1024 + tailText.length)
    const peak = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))
    expect(Number(peak?.[1]) * 1024).toBeLessThan(48 * 1024 * 1024)
  })

  it('passes odd bytes through untouched (NUL, invalid UTF-8, escapes, a cut multi-byte character)', async () => {
    const odd = Buffer.concat([Buffer.from('apt: ✓ ünïcödé\r\n\x1b[31mred\x1b[0m\x00\t'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80]), randomBytes(256), Buffer.from('🖥️')])
    writeFileSync(logFile, odd)
    const whole = await get(SETUP_LOG_PATH, withKey())
    expect(whole.body.equals(odd)).toBe(true)
    const cut = await get(SETUP_LOG_PATH, withKey({ range: 'bytes=-3' }))
    expect(cut.status).toBe(206)
    expect(cut.body.equals(odd.subarray(-3))).toBe(true)
  })

  it('answers 404 while there is no log, and keeps serving others while a client stalls its TLS handshake', async () => {
    rmSync(logFile, { force: true })
    expect((await get(SETUP_LOG_PATH, withKey())).status).toBe(404)
    const stalled = netConnect(port, '127.0.0.1')
    await once(stalled, 'connect')
    try {
      writeFileSync(logFile, 'still here\n')
      const reply = await get(SETUP_LOG_PATH, withKey())
      expect(reply.body.toString()).toBe('still here\n')
    } finally {
      stalled.destroy()
    }
  })

  it('refuses to start with a malformed key, without printing it', async () => {
    const bad = `${key.slice(0, 60)}XYZ!`
    const started = await start(bad)
    await expect(started.port).rejects.toThrow(/log key is malformed/)
    expect(started.stderr()).not.toContain(bad)
    expect(started.stderr()).not.toContain(key.slice(0, 16))
  })
})

describe('how the server is started and how Nginx checks the key', () => {
  it('runs least-privileged: a dynamic user, only CAP_NET_BIND_SERVICE, credentials instead of the root-only files', () => {
    const lines = setupLogServerUnit().split('\n')
    for (const line of [
      'DefaultDependencies=no',
      `ExecStart=/usr/bin/python3 -I ${DROPLET_PATHS.setupLogServer}`,
      'DynamicUser=yes',
      'NoNewPrivileges=yes',
      'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
      'SupplementaryGroups=www-data',
      `LoadCredential=log-key:${DROPLET_PATHS.logKey}`,
      `LoadCredential=cert.pem:${DROPLET_PATHS.certPem}`,
      `LoadCredential=key.pem:${DROPLET_PATHS.keyPem}`,
    ]) {
      expect(lines).toContain(line)
    }
    // Never enabled: only the setup script and bootcmd start it, while Nginx does not own 443.
    expect(setupLogServerUnit()).not.toContain('[Install]')
  })

  it('is a unit systemd-analyze verify accepts', (ctx) => {
    requireTool('systemd-analyze', (note) => ctx.skip(note))
    const dir = mkdtempSync(join(tmpdir(), 'dictumal-unit-'))
    try {
      const unit = join(dir, 'dictumal-setup-log.service')
      writeFileSync(unit, setupLogServerUnit())
      const good = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' })
      expect(good.stderr.split('\n').filter((l) => l.includes('dictumal-setup-log'))).toEqual([])
      expect(good.status).toBe(0)
      // It can fail: an unknown setting is named.
      writeFileSync(unit, setupLogServerUnit().replace('DynamicUser=yes', 'DynamicUsr=yes'))
      const bad = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' })
      expect(bad.stderr).toMatch(/DynamicUsr/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('puts only a well-formed key into the Nginx include', () => {
    const key = 'a'.repeat(64)
    expect(nginxSetupLogAuth(key)).toBe(`if ($http_authorization != "Bearer ${key}") {\n    return 404;\n}\n`)
    for (const bad of ['', 'A'.repeat(64), `${'a'.repeat(63)}"`, `${'a'.repeat(64)}\n`, 'a'.repeat(65)]) {
      expect(() => nginxSetupLogAuth(bad)).toThrow()
    }
  })

  it('is valid Python 3 (compiles)', (ctx) => {
    if (pythonMissing) ctx.skip('/usr/bin/python3 is missing')
    const result = spawnSync(PYTHON, ['-c', 'import sys; compile(sys.stdin.read(), "setup-log-server", "exec")'], {
      input: setupLogServerScript(),
      encoding: 'utf8',
    })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })
})
