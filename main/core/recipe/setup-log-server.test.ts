// The setup log server, run for real: the generated Python script under /usr/bin/python3 on loopback,
// with a real deployment certificate, asked by the app's own pinned agent and probes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
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

  async function start(keyText: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: Promise<number>; stderr: () => string }> {
    const creds = mkdtempSync(join(dir, 'creds-'))
    writeFileSync(join(creds, 'log-key'), keyText, { mode: 0o600 })
    writeFileSync(join(creds, 'cert.pem'), cert.certPem)
    writeFileSync(join(creds, 'key.pem'), cert.keyPem, { mode: 0o600 })
    const script = join(dir, 'setup-log-server')
    writeFileSync(script, setupLogServerScript(), { mode: 0o755 })
    const child = spawn(PYTHON, ['-I', script], {
      env: { PATH: process.env.PATH, CREDENTIALS_DIRECTORY: creds, DICTUMAL_SETUP_LOG: logFile, DICTUMAL_BIND: '127.0.0.1', DICTUMAL_PORT: '0', ...env },
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

  async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET', to = port): Promise<Reply> {
    const res = await request(`https://127.0.0.1:${to}${path}`, { method, headers, dispatcher: agent, signal: AbortSignal.timeout(10_000) })
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) }
  }
  const withKey = (extra: Record<string, string> = {}): Record<string, string> => ({ authorization: setupLogAuthorization(key), ...extra })
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

  // TLS straight to the test server (self-signed deployment certificate; the probes above pin it).
  function tlsTo(to: number): ReturnType<typeof tlsConnect> {
    const socket = tlsConnect({ host: '127.0.0.1', port: to, rejectUnauthorized: false })
    socket.on('error', () => undefined)
    return socket
  }

  /** One request as raw bytes (headers undici would not send as such) and everything answered until close. */
  async function rawExchange(head: Buffer): Promise<Buffer> {
    const socket = tlsTo(port)
    await once(socket, 'secureConnect')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    const closed = once(socket, 'close')
    socket.write(head)
    await Promise.race([closed, sleep(10_000)])
    socket.destroy()
    return Buffer.concat(chunks)
  }

  /** When (ms after t0) the server closed the socket; Infinity if it had not within limitMs. */
  function closedAt(socket: Socket, t0: number, limitMs: number): Promise<number> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(Infinity), limitMs)
      socket.once('close', () => {
        clearTimeout(timer)
        resolve(Date.now() - t0)
      })
    })
  }

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

  it('takes only a suffix Range of ASCII digits: any other Range gets the whole log (200), never a dropped connection', async () => {
    const text = 'line one\nline two\nline three\n'
    writeFileSync(logFile, text)
    const ranges = ['bytes=-0', 'bytes=5-', 'bytes=0-4', 'bytes=-5,-3', 'bytes=0-1,-3', `bytes=-${'1'.repeat(19)}`, 'bytes=-', 'bytes=--5', 'bytes=-5x', 'items=-5']
    for (const range of ranges) {
      const reply = await get(SETUP_LOG_PATH, withKey({ range }))
      expect(reply.status, range).toBe(200)
      expect(reply.body.toString(), range).toBe(text)
      expect(reply.headers['content-range'], range).toBeUndefined()
    }
    const tail = await get(SETUP_LOG_PATH, withKey({ range: 'bytes=-5' }))
    expect(tail.status).toBe(206)
    expect(tail.body.toString()).toBe('hree\n')
    expect((await get(SETUP_LOG_PATH, withKey({ range: `bytes=-${'9'.repeat(18)}` }))).status).toBe(206)
    // Digits Python's str.isdigit() takes but int() refuses, as they arrive: latin-1 bytes in a header.
    for (const digits of ['\u00b2', '\u00b9', '1\u00b3']) {
      const head = `GET ${SETUP_LOG_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: ${setupLogAuthorization(key)}\r\nRange: bytes=-${digits}\r\nConnection: close\r\n\r\n`
      const answer = await rawExchange(Buffer.from(head, 'latin1'))
      expect(answer.toString('latin1').split('\r\n')[0], JSON.stringify(digits)).toBe('HTTP/1.1 200 OK')
      expect(answer.subarray(answer.indexOf('\r\n\r\n') + 4).toString()).toBe(text)
    }
  })

  describe('bounds what one client can hold (deadlines shortened here: 3 s for a request, 3 s for an answer)', () => {
    let limited: ChildProcess
    let limitedPort: number
    let bigLog: string

    beforeAll(async () => {
      bigLog = join(dir, 'big.log')
      writeFileSync(bigLog, '')
      truncateSync(bigLog, 32 * 1024 * 1024)
      const started = await start(`${key}\n`, { DICTUMAL_SETUP_LOG: bigLog, DICTUMAL_REQUEST_SECONDS: '3', DICTUMAL_BODY_SECONDS: '3' })
      limited = started.child
      limitedPort = await started.port
    })

    afterAll(async () => {
      if (limited && limited.exitCode === null) {
        limited.kill('SIGTERM')
        await once(limited, 'exit')
      }
    })

    it('cuts off a client dribbling its TLS handshake or its request headers at the deadline from accept, however steadily it sends', async () => {
      const t0 = Date.now()
      const handshake = netConnect(limitedPort, '127.0.0.1').on('error', () => undefined)
      await once(handshake, 'connect')
      handshake.write(Buffer.from([0x16, 0x03, 0x01, 0x3f, 0xff])) // a TLS record header promising 16 KiB of handshake
      const headers = tlsTo(limitedPort)
      await once(headers, 'secureConnect')
      const dribble = `GET ${SETUP_LOG_PATH} HTTP/1.1\r\n${'X-Pad: a\r\n'.repeat(1000)}`
      let i = 0
      const timer = setInterval(() => {
        if (!handshake.destroyed) handshake.write(Buffer.from([0]))
        if (!headers.destroyed) headers.write(dribble[i++]!)
      }, 200)
      try {
        const closed = await Promise.all([closedAt(handshake, t0, 9000), closedAt(headers, t0, 9000)])
        for (const ms of closed) {
          expect(ms).toBeGreaterThan(2500)
          expect(ms).toBeLessThan(6500)
        }
        expect(i).toBeGreaterThan(5) // it did keep sending until then
      } finally {
        clearInterval(timer)
        handshake.destroy()
        headers.destroy()
      }
    }, 15_000)

    it('ends an answer a slow reader has not taken within its deadline', async () => {
      const socket = tlsTo(limitedPort)
      await once(socket, 'secureConnect')
      let received = 0
      let slow = true
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (slow) {
          socket.pause()
          setTimeout(() => socket.resume(), 250)
        }
      })
      const t0 = Date.now()
      const closed = closedAt(socket, t0, 30_000)
      socket.write(`GET ${SETUP_LOG_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: ${setupLogAuthorization(key)}\r\n\r\n`)
      await sleep(5000) // past the 3 s the answer may take
      expect(received).toBeGreaterThan(0)
      slow = false
      socket.resume()
      expect(await closed).toBeLessThan(30_000)
      expect(received).toBeLessThan(32 * 1024 * 1024) // cut short: reading at full speed now did not get the rest
    }, 40_000)

    it('holds at most 32 connections (more are closed at once) and answers a keyed request as soon as idle ones pass their deadline', async () => {
      writeFileSync(bigLog, 'small again\n')
      const t0 = Date.now()
      let closedCount = 0
      const idle = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const socket = netConnect(limitedPort, '127.0.0.1').on('error', () => undefined)
          socket.once('close', () => closedCount++)
          await once(socket, 'connect')
          return socket
        }),
      )
      try {
        const closedBy = idle.map((socket) => closedAt(socket, t0, 10_000))
        while (closedCount < 8 && Date.now() - t0 < 2000) await sleep(50)
        await sleep(200)
        expect(closedCount).toBe(8) // well before the 3 s deadline of the 32 others
        const threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${limited.pid}/status`, 'utf8'))?.[1])
        expect(threads).toBeLessThanOrEqual(33)
        // The app polls; within the deadline of the idle ones it is answered.
        let answered: Reply | null = null
        while (answered === null && Date.now() - t0 < 10_000) {
          const reply = await get(SETUP_LOG_PATH, withKey(), 'GET', limitedPort).catch(() => null)
          if (reply?.status === 200) answered = reply
          else await sleep(250)
        }
        expect(answered?.body.toString()).toBe('small again\n')
        expect(Date.now() - t0).toBeLessThan(7000)
        for (const ms of await Promise.all(closedBy)) expect(ms).toBeLessThan(6500)
      } finally {
        for (const socket of idle) socket.destroy()
      }
    }, 20_000)
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
      'TasksMax=64',
      'MemoryMax=64M',
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
