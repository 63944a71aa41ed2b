// What the rehearsal looks at from the host: TCP ports, the served certificate, the beacon, a launch
// token through the pinned gateway (the engine's own probe code), the setup log served over the pinned
// HTTPS (setup-log-contract.ts), and the setup log's step times.
import { createServer, type Server } from 'node:http'
import { connect as tlsConnect } from 'node:tls'
import { request } from 'undici'
import { fetchBeacon, fingerprintOfDer, gatewayAcceptsToken, pinnedAgent, probeTcp } from '../../main/core/engine/probes'
import type { Beacon } from '../../main/core/recipe'
import { SETUP_LOG_PATH, SETUP_LOG_TAIL_BYTES, setupLogAuthorization } from '../../main/core/setup-log-contract'

export { fetchBeacon }

/** Ports the rehearsal tries from outside; only the firewall's 22, 80 and 443 may answer. */
export const OUTSIDE_PORTS = [21, 22, 25, 80, 443, 3389, 4822, 5900, 5901, 6001, 8080, 8443, 9090] as const

/** A plain TCP connect: the engine's own probe, with the rehearsal's longer patience. */
export function tcpAnswers(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return probeTcp(host, port, timeoutMs)
}

export async function answeringPorts(host: string, ports: readonly number[] = OUTSIDE_PORTS): Promise<number[]> {
  const results = await Promise.all(ports.map(async (p) => ((await tcpAnswers(host, p)) ? p : null)))
  return results.filter((p): p is number => p !== null)
}

/** The fingerprint ('sha256/…', as the engine pins) of the certificate served on host:443. */
export function servedFingerprint(host: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port: 443, rejectUnauthorized: false, timeout: timeoutMs })
    socket.once('secureConnect', () => {
      const der = socket.getPeerCertificate().raw
      socket.destroy()
      resolve(fingerprintOfDer(der))
    })
    socket.once('timeout', () => {
      socket.destroy()
      reject(new Error(`No TLS answer from ${host}:443 within ${timeoutMs} ms.`))
    })
    socket.once('error', reject)
  })
}

/** True when the gateway accepts this launch URL's token through the pinned connection (and the session is ended). */
export async function launchTokenAccepted(ip: string, fingerprint: string, launchUrl: string): Promise<boolean> {
  const data = new URL(launchUrl).searchParams.get('data') ?? ''
  const agent = pinnedAgent(fingerprint, 5000)
  try {
    return await gatewayAcceptsToken(ip, agent, data, 10_000)
  } finally {
    await agent.close()
  }
}

/** Opens the launch URL through the pinned connection as a browser would (GET with ?data=); returns the status. */
export async function openLaunchUrl(ip: string, fingerprint: string, launchUrl: string): Promise<number> {
  const agent = pinnedAgent(fingerprint, 5000)
  try {
    const url = new URL(launchUrl)
    url.hostname = ip
    const { request } = await import('undici')
    const res = await request(url.toString(), { dispatcher: agent, signal: AbortSignal.timeout(10_000) })
    await res.body.dump()
    return res.statusCode
  } finally {
    await agent.close()
  }
}

export interface SetupLogAnswer {
  status: number
  contentType: string
  cacheControl: string
  body: string
}

/**
 * GET /dictumal/setup-log as the app asks for it: over the pinned HTTPS (or, with `plainHttp`, over port
 * 80, where it must never be served), with `Authorization: Bearer <key>` when a key is given (null: no
 * header) and the app's suffix Range.
 */
export async function fetchSetupLog(
  ip: string,
  fingerprint: string,
  key: string | null,
  options: { plainHttp?: boolean; path?: string; timeoutMs?: number } = {},
): Promise<SetupLogAnswer> {
  const timeoutMs = options.timeoutMs ?? 5000
  const agent = pinnedAgent(fingerprint, timeoutMs)
  try {
    const url = `${options.plainHttp ? 'http' : 'https'}://${ip}${options.path ?? SETUP_LOG_PATH}`
    const res = await request(url, {
      headers: { range: `bytes=-${SETUP_LOG_TAIL_BYTES}`, ...(key === null ? {} : { authorization: setupLogAuthorization(key) }) },
      signal: AbortSignal.timeout(timeoutMs),
      ...(options.plainHttp ? {} : { dispatcher: agent }),
    })
    const header = (name: string): string => String(res.headers[name] ?? '')
    return { status: res.statusCode, contentType: header('content-type'), cacheControl: header('cache-control'), body: await res.body.text() }
  } finally {
    await agent.close()
  }
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | false>, intervalMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => null)
    if (value !== null && value !== false) return value
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s.`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

export interface StepTime {
  step: string
  start: number
  end: number | null
}

/** Step start/end times from the beacon's `timings` when it has them, else from the setup log's "==> TIME step NAME" lines. */
export function stepTimes(beacon: Beacon | null, initLog: string): StepTime[] {
  const timings = (beacon as { timings?: Record<string, { start: string; end: string | null }> } | null)?.timings
  if (timings !== undefined && Object.keys(timings).length > 0) {
    return Object.entries(timings)
      .map(([step, t]) => ({ step, start: Date.parse(t.start), end: t.end === null ? null : Date.parse(t.end) }))
      .sort((a, b) => a.start - b.start)
  }
  const starts: Array<{ step: string; at: number }> = []
  let finished: number | null = null
  for (const line of initLog.split('\n')) {
    const m = /^==> (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) step (\S+)/.exec(line)
    if (m) starts.push({ step: m[2]!, at: Date.parse(m[1]!) })
    const f = /^==> (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) .*finished/.exec(line)
    if (f) finished = Date.parse(f[1]!)
  }
  return starts.map((s, i) => ({ step: s.step, start: s.at, end: starts[i + 1]?.at ?? finished }))
}

export function formatDurations(times: StepTime[]): string {
  return times
    .filter((t) => t.step !== 'done')
    .map((t) => `  ${t.step.padEnd(20)} ${t.end === null ? 'unfinished' : `${((t.end - t.start) / 1000).toFixed(0).padStart(4)} s`}`)
    .join('\n')
}

/**
 * A stand-in for DigitalOcean's metadata service at 169.254.169.254:80 (an address of the client
 * namespace, routed to from the machine): like the real one it hands the user data to whoever asks,
 * so only the droplet's firewall keeps it from everyone but root.
 */
export async function startMetadataStandin(address: string, userData: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metadata/v1/user-data') res.writeHead(200, { 'content-type': 'text/plain' }).end(userData)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(80, address, resolve)
  })
  return server
}
