// A fake droplet for tests: binds one 127.0.0.N and plays the boot the app's user data would run —
// the beacon, VNC, Guacamole, then Nginx on 443 with the certificate and Guacamole key from that user data.
// From the start of setup, 443 serves the setup log (main/core/setup-log-contract.ts) to the log key only,
// and the log grows as the boot moves through its steps.
import { randomBytes } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { fingerprintOfPem, generateDeploymentCertificate } from '../../main/core/certificate'
import { GuacamoleTokenError, verifyGuacamoleToken } from '../../main/core/guacamole-token'
import { BEACON_STEPS } from '../../main/core/recipe'
import { SETUP_LOG_PATH, setupLogAuthorization } from '../../main/core/setup-log-contract'
import { readUserData } from './user-data-reader'

export interface FakeDropletPorts {
  http: number
  https: number
  vnc: number
  guacamole: number
}

export interface FakeDropletTimeline {
  /** How long each setup step takes. */
  stepMs: number
  /** The beacon's step names in boot order; the last one is "all done". */
  steps: readonly string[]
  /** VNC listens once this step has finished (the boot moved past it). */
  vncUpAfter: string
  /** Guacamole answers on 8080 once this step has finished. */
  guacamoleUpAfter: string
  /** Nginx takes over :80 and serves :443 (the gateway) once this step has finished. */
  gatewayUpAfter: string
  /** Start paused: nothing advances until controls.resume() / advance() / goTo(). */
  paused: boolean
}

export interface FakeDropletFaults {
  /** Serve a different self-signed certificate on 443: a man in the middle. */
  wrongCertificate?: boolean
  /** This step fails with this exit code when it runs: the beacon reports it and the boot stops. */
  failStep?: { step: string; exitCode: number }
  /** The boot stalls forever: at this step, or (true) at the step before the gateway comes up. */
  neverFinish?: boolean | string
  /** Expose nothing on 5901/8080 from outside, as UFW does on a real droplet; the beacon still reports them. */
  firewalled?: boolean
  /** Extra lines written to the setup log when the failing step fails (apt's or docker's own words). */
  failureOutput?: string[]
}

export interface FakeDropletOptions {
  ip: string
  userData: string
  timeline?: Partial<FakeDropletTimeline>
  faults?: FakeDropletFaults
  /** Low ports by default (tests run as root); override where that is not possible. */
  ports?: Partial<FakeDropletPorts>
  /** Epoch milliseconds; token expiry and the recorded timestamps use it. */
  now?: () => number
  /**
   * Whether the beacon reports `lastActivityAt` (default true), as the recipe's watcher does: now while a
   * Guacamole session is open, else when the last one closed, null before any. False: an older droplet.
   */
  reportsActivity?: boolean
}

export type FakeDropletPort = 'http' | 'https' | 'vnc' | 'guacamole'

export interface RecordedRequest {
  port: FakeDropletPort
  method: string
  /** Path only: a launch URL's query holds a token. */
  path: string
  at: number
}

export interface FakeBeacon {
  v: 1
  step: string
  checks: { vnc5901: boolean; guacHttp8080: boolean }
  failed: { step: string; exitCode: number } | null
  updatedAt: string
  lastActivityAt?: string | null
}

export interface FakeDropletTimestamps {
  startedAt: number
  /** When each step started, by name. */
  steps: Record<string, number>
  vncUpAt: number | null
  guacamoleUpAt: number | null
  /** 443 listening and /api/tokens accepting tokens. */
  gatewayUpAt: number | null
  failedAt: number | null
  finishedAt: number | null
}

export interface FakeDropletRecord {
  requests: RecordedRequest[]
  vncConnections: number
  tokensAccepted: { at: number; username: string; expires: number | null; singleUse: boolean }[]
  tokensRefused: { at: number; reason: string }[]
  sessionsCreated: string[]
  sessionsDeleted: string[]
}

export interface FakeDropletControls {
  pause(): void
  resume(): void
  /** Finish the current step now and start the next (works while paused). */
  advance(): void
  /** Jump forward to this step (services of the steps skipped come up). Works while paused. */
  goTo(step: string): void
}

export interface FakeDroplet {
  readonly ip: string
  readonly ports: FakeDropletPorts
  /** Fingerprint (Electron's form) of the certificate 443 serves. */
  readonly servedFingerprint: string
  readonly timestamps: FakeDropletTimestamps
  readonly record: FakeDropletRecord
  readonly controls: FakeDropletControls
  /** Resolves when the gateway is up; rejects when a step fails or the droplet closes first. */
  readonly whenReady: Promise<void>
  beacon(): FakeBeacon
  /** The setup log as written so far (what /dictumal/setup-log serves the end of). */
  setupLog(): string
  /** Appends raw text to the setup log (tests: huge or garbled output). */
  writeLog(text: string | Buffer): void
  /** Resolves once the boot has started this step (or a later one); rejects on failure or close. */
  whenStep(step: string): Promise<void>
  readonly closed: boolean
  /** Releases every port at once, cutting open connections. Idempotent. */
  close(): Promise<void>
}

export class FakeDropletError extends Error {
  override name = 'FakeDropletError'
}

export const DEFAULT_STEP_MS = 150

export const DEFAULT_PORTS: FakeDropletPorts = { http: 80, https: 443, vnc: 5901, guacamole: 8080 }

const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'"

const PERMISSION_DENIED = { message: 'Permission denied.', type: 'INVALID_CREDENTIALS' }

/** Picks the step after which a service is up from the recipe's names, so the fake follows the recipe. */
function stepNamed(steps: readonly string[], patterns: RegExp[], fallbackIndex: number): string {
  for (const pattern of patterns) {
    const hit = steps.find((s) => pattern.test(s))
    if (hit !== undefined) return hit
  }
  const fallback = steps[Math.max(0, Math.min(steps.length - 1, fallbackIndex))]
  if (fallback === undefined) throw new FakeDropletError('The fake droplet needs at least one step')
  return fallback
}

export function defaultTimeline(steps: readonly string[] = BEACON_STEPS): FakeDropletTimeline {
  const n = steps.length
  return {
    stepMs: DEFAULT_STEP_MS,
    steps,
    vncUpAfter: stepNamed(steps, [/vnc/i, /desktop/i], n - 4),
    guacamoleUpAfter: stepNamed(steps, [/guac/i, /docker/i], n - 3),
    gatewayUpAfter: stepNamed(steps, [/nginx/i, /https/i, /tls/i, /proxy/i], n - 2),
    paused: false,
  }
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

function sendText(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    size += buf.length
    if (size > limit) throw new FakeDropletError('Request body too large')
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function pathOf(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const url = new URL(req.url ?? '/', 'http://fake.invalid')
  return { path: url.pathname, query: url.searchParams }
}

/** The stand-in for Guacamole's web app: posts `?data=` itself, as the real one does, and says how it went. */
export const GUACAMOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Guacamole</title>
<script src="/guacamole/fake-client.js" defer></script>
</head>
<body>
<main>
<h1>Dictumal desktop</h1>
<p id="status" role="status">Connecting…</p>
</main>
</body>
</html>
`

export const GUACAMOLE_SCRIPT = `'use strict';
(async function () {
  var status = document.getElementById('status');
  function show(text, state) { status.textContent = text; document.body.dataset.state = state; }
  var data = new URLSearchParams(window.location.search).get('data');
  if (!data) { show('Access denied', 'denied'); return; }
  try {
    var reply = await fetch('/guacamole/api/tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ data: data }).toString()
    });
    if (reply.status === 200) {
      var session = await reply.json();
      // Guacamole drops the token from the address bar once it holds a session.
      window.history.replaceState(null, '', '/guacamole/#/');
      // Like Guacamole's client, every API call after login carries the session in this header.
      await fetch('/guacamole/api/session/data/' + session.dataSource + '/connections', { headers: { 'Guacamole-Token': session.authToken } });
      show("Connected to " + session.username + "'s desktop", 'connected');
    } else {
      show('Access denied', 'denied');
    }
  } catch (e) {
    show('Access denied', 'denied');
  }
})();
`

export async function startFakeDroplet(options: FakeDropletOptions): Promise<FakeDroplet> {
  const now = options.now ?? Date.now
  const faults = options.faults ?? {}
  const ports: FakeDropletPorts = { ...DEFAULT_PORTS, ...options.ports }
  const base = defaultTimeline(options.timeline?.steps ?? BEACON_STEPS)
  const timeline: FakeDropletTimeline = { ...base, ...options.timeline }
  const { steps } = timeline
  const indexOf = (step: string): number => {
    const i = steps.indexOf(step)
    if (i < 0) throw new FakeDropletError(`Unknown step "${step}"; the steps are ${steps.join(', ')}`)
    return i
  }
  const vncIndex = indexOf(timeline.vncUpAfter) + 1
  const guacIndex = indexOf(timeline.guacamoleUpAfter) + 1
  const gatewayIndex = indexOf(timeline.gatewayUpAfter) + 1
  const lastIndex = steps.length - 1
  const failIndex = faults.failStep ? indexOf(faults.failStep.step) : null
  const stallIndex =
    faults.neverFinish === undefined || faults.neverFinish === false
      ? null
      : faults.neverFinish === true
        ? Math.max(0, gatewayIndex - 1)
        : indexOf(faults.neverFinish)

  const secrets = readUserData(options.userData)
  const served = faults.wrongCertificate
    ? await generateDeploymentCertificate({ deploymentId: 'mallory0' })
    : { certPem: secrets.certPem, keyPem: secrets.keyPem }
  const guacamoleKey = secrets.guacamoleKey
  // Only the key the recipe wrote into the user data; without one (older recipes) every request gets 404.
  const logKey = secrets.logKey
  let setupLog = Buffer.alloc(0)
  const writeLog = (text: string | Buffer): void => {
    setupLog = Buffer.concat([setupLog, typeof text === 'string' ? Buffer.from(text) : text])
  }
  const logLine = (text: string): void => writeLog(`${text}\n`)

  const timestamps: FakeDropletTimestamps = {
    startedAt: now(),
    steps: {},
    vncUpAt: null,
    guacamoleUpAt: null,
    gatewayUpAt: null,
    failedAt: null,
    finishedAt: null,
  }
  const record: FakeDropletRecord = {
    requests: [],
    vncConnections: 0,
    tokensAccepted: [],
    tokensRefused: [],
    sessionsCreated: [],
    sessionsDeleted: [],
  }
  const sessions = new Set<string>()
  /** When the last Guacamole session closed (what the droplet's activity watcher would have seen last). */
  let lastSessionEnd: number | null = null
  const usedSingleUse = new Set<string>()
  const sockets = new Set<Socket>()
  const servers: (HttpServer | NetServer)[] = []

  let index = 0
  let failed: FakeBeacon['failed'] = null
  let updatedAt = now()
  let paused = timeline.paused
  let timer: NodeJS.Timeout | null = null
  let closed = false
  let stepStartedAt = now()
  const waiters: { index: number; resolve: () => void; reject: (e: Error) => void }[] = []

  let resolveReady!: () => void
  let rejectReady!: (e: Error) => void
  const whenReady = new Promise<void>((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  // Tests that never await it must not see an unhandled rejection.
  whenReady.catch(() => undefined)

  const services = { vnc: false, guacamole: false, gateway: false }

  function beacon(): FakeBeacon {
    const lastActivity = sessions.size > 0 ? now() : lastSessionEnd
    return {
      v: 1,
      step: steps[index] ?? '',
      checks: { vnc5901: services.vnc, guacHttp8080: services.guacamole },
      failed,
      updatedAt: isoSeconds(updatedAt),
      ...(options.reportsActivity === false ? {} : { lastActivityAt: lastActivity === null ? null : isoSeconds(lastActivity) }),
    }
  }

  function track(server: HttpServer | NetServer): void {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      if (closed) socket.destroy()
    })
  }

  // A bind still in flight when close() runs must finish and be undone before close() resolves,
  // or the next fake droplet on this address would find a port taken.
  const binding = new Set<Promise<void>>()

  async function listen(server: HttpServer | NetServer, port: number): Promise<void> {
    if (closed) return
    track(server)
    servers.push(server)
    const bound = new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(new FakeDropletError(`Fake droplet cannot listen on ${options.ip}:${port}: ${e.message}`))
      server.once('error', onError)
      server.listen({ host: options.ip, port, exclusive: true }, () => {
        server.off('error', onError)
        resolve()
      })
    })
    const settled = bound.catch(() => undefined)
    binding.add(settled)
    try {
      await bound
    } finally {
      binding.delete(settled)
    }
  }

  function log(port: FakeDropletPort, req: IncomingMessage): { path: string; query: URLSearchParams } {
    const parsed = pathOf(req)
    record.requests.push({ port, method: req.method ?? 'GET', path: parsed.path, at: now() })
    return parsed
  }

  function serveBeacon(res: ServerResponse): void {
    sendJson(res, 200, beacon())
  }

  // Port 80: the tiny beacon server until Nginx takes over, then redirects to HTTPS except the beacon.
  const http80 = createHttpServer((req, res) => {
    const { path } = log('http', req)
    if (path === '/dictumal/status.json') return serveBeacon(res)
    if (services.gateway) {
      const host = ports.https === 443 ? options.ip : `${options.ip}:${ports.https}`
      res.writeHead(301, { location: `https://${host}${req.url ?? '/'}`, 'content-length': 0 }).end()
      return
    }
    sendText(res, 404, 'text/plain', 'Not found\n')
  })

  async function handleGateway(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query } = log('https', req)
    const method = req.method ?? 'GET'
    // Nginx and Tomcat answer HEAD like GET without the body; Node drops the body itself.
    const reading = method === 'GET' || method === 'HEAD'
    if (path === SETUP_LOG_PATH && reading) return serveSetupLog(req, res)
    // Before Nginx, the setup log's small TLS server serves nothing else.
    if (!services.gateway) return sendText(res, 404, 'text/plain', 'Not found\n')
    if (path === '/dictumal/status.json' && reading) return serveBeacon(res)
    if ((path === '/guacamole' || path === '/guacamole/') && reading) {
      if (path === '/guacamole') {
        res.writeHead(302, { location: '/guacamole/', 'content-length': 0 }).end()
        return
      }
      return sendText(res, 200, 'text/html; charset=utf-8', GUACAMOLE_PAGE, { 'content-security-policy': CONTENT_SECURITY_POLICY })
    }
    if (path === '/guacamole/fake-client.js' && reading) {
      return sendText(res, 200, 'text/javascript; charset=utf-8', GUACAMOLE_SCRIPT)
    }
    if (path === '/guacamole/api/tokens' && method === 'POST') return acceptToken(req, res)
    if (path.startsWith('/guacamole/api/session/data/') && reading) {
      const token = headerValue(req, 'guacamole-token')
      return token && sessions.has(token) ? sendJson(res, 200, {}) : sendJson(res, 403, PERMISSION_DENIED)
    }
    if ((path === '/guacamole/api/session' || path.startsWith('/guacamole/api/tokens/')) && method === 'DELETE') {
      const token =
        path === '/guacamole/api/session'
          ? (headerValue(req, 'guacamole-token') ?? query.get('token'))
          : decodeURIComponent(path.slice('/guacamole/api/tokens/'.length))
      if (token && sessions.delete(token)) {
        lastSessionEnd = now()
        record.sessionsDeleted.push(token)
        res.writeHead(204).end()
        return
      }
      return sendJson(res, 403, PERMISSION_DENIED)
    }
    if (path.startsWith('/guacamole/')) return sendJson(res, 404, { message: 'Not found.', type: 'NOT_FOUND' })
    sendText(res, 404, 'text/html', '<h1>404 Not Found</h1>\n')
  }

  /** The contract: the key or 404 (the same answer as no log), a suffix Range honoured with 206. */
  function serveSetupLog(req: IncomingMessage, res: ServerResponse): void {
    if (logKey === null || headerValue(req, 'authorization') !== setupLogAuthorization(logKey)) {
      return sendText(res, 404, 'text/plain', 'Not found\n')
    }
    const headers = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }
    const suffix = /^bytes=-(\d+)$/.exec(headerValue(req, 'range') ?? '')
    const total = setupLog.length
    if (suffix && total > 0) {
      const start = Math.max(0, total - Number(suffix[1]))
      const body = setupLog.subarray(start)
      res.writeHead(206, { ...headers, 'content-length': body.length, 'content-range': `bytes ${start}-${total - 1}/${total}` })
      res.end(body)
      return
    }
    res.writeHead(200, { ...headers, 'content-length': total })
    res.end(setupLog)
  }

  async function acceptToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let data: string | null
    try {
      data = new URLSearchParams(await readBody(req)).get('data')
    } catch {
      data = null
    }
    const refuse = (reason: string): void => {
      record.tokensRefused.push({ at: now(), reason })
      sendJson(res, 403, PERMISSION_DENIED)
    }
    if (!data) return refuse('no-data')
    try {
      const payload = verifyGuacamoleToken(data, guacamoleKey, now())
      if (payload.singleUse === true) {
        if (usedSingleUse.has(data)) return refuse('single-use-replayed')
        usedSingleUse.add(data)
      }
      const authToken = randomBytes(32).toString('hex').toUpperCase()
      sessions.add(authToken)
      record.sessionsCreated.push(authToken)
      record.tokensAccepted.push({ at: now(), username: payload.username, expires: payload.expires ?? null, singleUse: payload.singleUse === true })
      sendJson(res, 200, { authToken, username: payload.username, dataSource: 'json', availableDataSources: ['json'] })
    } catch (e) {
      refuse(e instanceof GuacamoleTokenError ? e.reason : 'invalid')
    }
  }

  const https443 = createHttpsServer({ cert: served.certPem, key: served.keyPem }, (req, res) => {
    handleGateway(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal error.', type: 'INTERNAL_ERROR' })
      else res.destroy()
    })
  })

  // 5901: a VNC server says its protocol version first; enough for a reachability probe.
  const vnc = createNetServer((socket) => {
    record.vncConnections += 1
    record.requests.push({ port: 'vnc', method: 'CONNECT', path: '', at: now() })
    socket.on('error', () => undefined)
    socket.write('RFB 003.008\n')
  })

  const guac8080 = createHttpServer((req, res) => {
    const { path } = log('guacamole', req)
    if (path === '/guacamole' || path === '/guacamole/') {
      return sendText(res, 200, 'text/html; charset=utf-8', GUACAMOLE_PAGE, { 'content-security-policy': CONTENT_SECURITY_POLICY })
    }
    sendText(res, 404, 'text/html', '<h1>HTTP Status 404 – Not Found</h1>\n')
  })

  function fail(error: Error): void {
    rejectReady(error)
    for (const w of waiters.splice(0)) w.reject(error)
  }

  function settleWaiters(): void {
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const w = waiters[i]
      if (w && w.index <= index) {
        waiters.splice(i, 1)
        w.resolve()
      }
    }
  }

  /** Brings up what the current step implies, in boot order, then reports it in the beacon. */
  async function reconcileServices(): Promise<void> {
    if (!services.vnc && index >= vncIndex) {
      if (!faults.firewalled) await listen(vnc, ports.vnc)
      services.vnc = true
      timestamps.vncUpAt = now()
    }
    if (!services.guacamole && index >= guacIndex) {
      if (!faults.firewalled) await listen(guac8080, ports.guacamole)
      services.guacamole = true
      timestamps.guacamoleUpAt = now()
    }
    if (!services.gateway && index >= gatewayIndex) {
      services.gateway = true
      timestamps.gatewayUpAt = now()
      resolveReady()
    }
    updatedAt = now()
  }

  let moving: Promise<void> = Promise.resolve()

  function enter(target: number): void {
    if (closed || failed) return
    index = Math.min(target, lastIndex)
    stepStartedAt = now()
    const name = steps[index]
    if (name !== undefined && timestamps.steps[name] === undefined) {
      timestamps.steps[name] = stepStartedAt
      writeStepLog(name)
    }
    updatedAt = stepStartedAt
    moving = moving
      .then(() => reconcileServices())
      .then(() => {
        settleWaiters()
        if (index === lastIndex && timestamps.finishedAt === null) timestamps.finishedAt = now()
        schedule()
      })
      .catch((e: unknown) => fail(e instanceof Error ? e : new FakeDropletError(String(e))))
  }

  /** What the recipe's script prints when a step starts (its `==>` lines), with a little of the step's own output. */
  function writeStepLog(name: string): void {
    const at = isoSeconds(now())
    logLine(`==> ${at} step ${name}`)
    if (name === 'install-packages') {
      // apt colours its progress and redraws it with carriage returns: the app shows only the last state.
      logLine('\u001b[1mReading package lists...\u001b[0m Done')
      logLine('Progress: [ 10%]\rProgress: [ 60%]\rProgress: [100%]')
      logLine('Setting up xfce4 (4.18.1) ...')
    } else if (name === 'pull-images') {
      logLine(`--> ${at} pulling guacamole/guacd:1.6.0 and guacamole/guacamole:1.6.0`)
    } else if (name === 'done') {
      logLine(`<== ${at} setup finished`)
    }
  }

  function finishCurrentStep(): void {
    if (closed || failed) return
    if (failIndex === index && faults.failStep) {
      failed = { step: faults.failStep.step, exitCode: faults.failStep.exitCode }
      for (const line of faults.failureOutput ?? []) logLine(line)
      logLine(`!! ${isoSeconds(now())} step ${failed.step} failed with exit code ${failed.exitCode} (line 212)`)
      timestamps.failedAt = now()
      updatedAt = timestamps.failedAt
      fail(new FakeDropletError(`Setup step "${failed.step}" failed with exit code ${failed.exitCode}`))
      return
    }
    if (index >= lastIndex) return
    enter(index + 1)
  }

  function clearTimer(): void {
    if (timer) clearTimeout(timer)
    timer = null
  }

  function schedule(): void {
    clearTimer()
    if (closed || failed || paused || (index >= lastIndex && failIndex !== lastIndex)) return
    if (stallIndex !== null && index === stallIndex && failIndex !== index) return
    const wait = Math.max(0, timeline.stepMs - (now() - stepStartedAt))
    timer = setTimeout(finishCurrentStep, wait)
  }

  const controls: FakeDropletControls = {
    pause() {
      paused = true
      clearTimer()
    },
    resume() {
      paused = false
      schedule()
    },
    advance() {
      clearTimer()
      finishCurrentStep()
    },
    goTo(step: string) {
      const target = indexOf(step)
      clearTimer()
      if (target > index) enter(target)
      else schedule()
    },
  }

  async function closeServer(server: HttpServer | NetServer): Promise<void> {
    if (!server.listening) return
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async function close(): Promise<void> {
    if (closed) return
    closed = true
    clearTimer()
    fail(new FakeDropletError(`The fake droplet at ${options.ip} was closed`))
    await Promise.all([...binding])
    for (const socket of sockets) socket.destroy()
    await Promise.all(servers.map(closeServer))
  }

  try {
    await listen(http80, ports.http)
    // The setup log's TLS server starts with setup; Nginx takes 443 over later (the same certificate).
    await listen(https443, ports.https)
  } catch (e) {
    await close()
    throw e
  }
  timestamps.steps[steps[0] ?? ''] = timestamps.startedAt
  writeStepLog(steps[0] ?? '')
  enter(0)

  return {
    ip: options.ip,
    ports,
    servedFingerprint: fingerprintOfPem(served.certPem),
    timestamps,
    record,
    controls,
    whenReady,
    beacon,
    setupLog: () => setupLog.toString('utf8'),
    writeLog,
    whenStep(step: string) {
      const target = indexOf(step)
      if (index >= target && !closed) return Promise.resolve()
      if (failed || closed) return Promise.reject(new FakeDropletError(`The fake droplet will not reach step "${step}"`))
      return new Promise<void>((resolve, reject) => waiters.push({ index: target, resolve, reject }))
    },
    get closed() {
      return closed
    },
    close,
  }
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name]
  if (Array.isArray(value)) return value[0] ?? null
  return value ?? null
}
