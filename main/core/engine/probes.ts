// Readiness probes against a droplet (SPEC §4): each one short, bounded by a timeout, and run
// concurrently. HTTPS is pinned here, in the TLS handshake, before a single request byte is sent:
// a certificate other than the one the app made counts as down.
import { connect as netConnect } from 'node:net'
import { createHash } from 'node:crypto'
import { createSecureContext, type TLSSocket } from 'node:tls'
import { Agent, buildConnector, request, type Dispatcher } from 'undici'
import { parseBeacon, type Beacon } from '../recipe'

export const PROBE_TIMEOUT_MS = 1500

export class PinMismatchError extends Error {
  constructor() {
    super('The droplet presented a certificate other than the one Dictumal made for it.')
    this.name = 'PinMismatchError'
  }
}

/** Electron's fingerprint form of a peer certificate: 'sha256/' + base64(sha256(DER)). */
export function fingerprintOfDer(der: Buffer): string {
  return `sha256/${createHash('sha256').update(der).digest('base64')}`
}

/**
 * An undici dispatcher that accepts exactly one certificate, whatever its name or issuer. Each request opens
 * its own connection (its own pin check) unless `keepAlive`: then a connection whose pin was checked serves
 * the next requests too (the engine's probe, token check and logout: one TLS handshake instead of three).
 */
export function pinnedAgent(fingerprint: string, timeoutMs = PROBE_TIMEOUT_MS, { keepAlive = false }: { keepAlive?: boolean } = {}): Agent {
  // Chain and name checks are replaced by the pin: the certificate is self-signed and made for no name.
  // No TLS session resumption: a resumed session shows no peer certificate to check.
  // One TLS context for all of this agent's connections: making one per attempt was much of a probe's CPU.
  const base = buildConnector({ rejectUnauthorized: false, timeout: timeoutMs, maxCachedSessions: 0, secureContext: createSecureContext() })
  return new Agent({
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    pipelining: keepAlive ? 1 : 0,
    // One connection, so a request right after another waits for it instead of opening a second one.
    ...(keepAlive ? { connections: 1 } : {}),
    connect: (options, callback) => {
      base(options, (error, socket) => {
        if (error || socket === null) {
          callback(error ?? new Error('connect failed'), null)
          return
        }
        const tlsSocket = socket as TLSSocket
        const der = tlsSocket.getPeerCertificate?.().raw
        if (!der || fingerprintOfDer(der) !== fingerprint) {
          socket.destroy()
          callback(new PinMismatchError(), null)
          return
        }
        callback(null, socket)
      })
    },
  })
}

export function probeTcp(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port })
    const done = (ok: boolean): void => {
      socket.removeAllListeners()
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

interface HttpAnswer {
  status: number
  text: string
}

async function get(url: string, timeoutMs: number, dispatcher?: Dispatcher): Promise<HttpAnswer | null> {
  try {
    const res = await request(url, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      ...(dispatcher ? { dispatcher } : {}),
    })
    const text = await res.body.text()
    return { status: res.statusCode, text: text.slice(0, 65536) }
  } catch {
    return null
  }
}

/** Anything answering HTTP at all (any status) counts. */
export async function probeHttp(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return (await get(url, timeoutMs)) !== null
}

/** Guacamole is up when its web app answers below 500 (Tomcat says 404 while it deploys). */
export async function probeGuacamoleHttp(ip: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  const answer = await get(`http://${ip}:8080/guacamole/`, timeoutMs)
  return answer !== null && answer.status < 400
}

export async function probeGuacamoleHttps(ip: string, agent: Dispatcher, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  const answer = await get(`https://${ip}/guacamole/`, timeoutMs, agent)
  return answer !== null && answer.status < 400
}

/** The droplet's own report (SPEC §4), over plain HTTP on port 80. Null when absent or garbled. */
export async function fetchBeacon(ip: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<{ http80: boolean; beacon: Beacon | null }> {
  const answer = await get(`http://${ip}/dictumal/status.json`, timeoutMs)
  if (answer === null) return { http80: false, beacon: null }
  if (answer.status !== 200) return { http80: true, beacon: null }
  try {
    return { http80: true, beacon: parseBeacon(JSON.parse(answer.text)) }
  } catch {
    return { http80: true, beacon: null }
  }
}

/**
 * Submits a launch token to the gateway the way Guacamole's web app does, then ends the session it
 * opened. True only when Guacamole accepted the token; the token itself is never logged. With
 * `awaitLogout: false` it answers as soon as the token is accepted and ends the session meanwhile.
 */
export async function gatewayAcceptsToken(
  ip: string,
  agent: Dispatcher,
  token: string,
  timeoutMs = PROBE_TIMEOUT_MS * 2,
  options: { awaitLogout?: boolean } = {},
): Promise<boolean> {
  try {
    const res = await request(`https://${ip}/guacamole/api/tokens`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ data: token }).toString(),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    })
    const text = await res.body.text()
    if (res.statusCode !== 200) return false
    const authToken = (JSON.parse(text) as { authToken?: unknown }).authToken
    if (typeof authToken !== 'string' || authToken === '') return false
    const logout = request(`https://${ip}/guacamole/api/session`, {
      method: 'DELETE',
      dispatcher: agent,
      headers: { 'guacamole-token': authToken },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    })
      .then((r) => r.body.dump())
      .catch(() => {})
    if (options.awaitLogout !== false) await logout
    return true
  } catch {
    return false
  }
}
