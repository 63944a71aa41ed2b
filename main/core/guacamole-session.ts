// Ending the Guacamole session an embedded desktop opened. The web client sends its auth token on
// every API call in a `Guacamole-Token` header; main watches for it in the view's partition (and
// only on the pinned origin), and when the view closes it asks the gateway to end that session the
// way Guacamole's own client logs out: DELETE /guacamole/api/session with the same header, over
// the pinned connection. The token is a secret: it is never logged.
import { request, type Dispatcher } from 'undici'
import { pinnedAgent } from './engine/probes'
import { isAllowedRequest, type OriginPin } from './pinning'

/** Guacamole auth tokens are 64 hex characters; anything else is not one of its tokens. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,256}$/

/** Reads the header the way HTTP does: the name is case-insensitive. */
export function guacamoleTokenFrom(headers: Record<string, string | string[] | undefined>): string | null {
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'guacamole-token') continue
    const text = Array.isArray(value) ? value[0] : value
    if (typeof text === 'string' && TOKEN_PATTERN.test(text.trim())) return text.trim()
  }
  return null
}

/**
 * Remembers the newest Guacamole token each view sent on the pinned origin. Requests elsewhere are
 * ignored (the session's request filter refuses them anyway), and so are requests with no view.
 */
export class SessionTokenTracker {
  readonly #pin: OriginPin
  readonly #tokens = new Map<number, string>()

  constructor(pin: OriginPin) {
    this.#pin = pin
  }

  observe(details: { url: string; webContentsId?: number; requestHeaders: Record<string, string | string[] | undefined> }): void {
    if (details.webContentsId === undefined || !isAllowedRequest(details.url, this.#pin)) return
    if (!new URL(details.url).pathname.startsWith('/guacamole/api/')) return
    const token = guacamoleTokenFrom(details.requestHeaders)
    if (token) this.#tokens.set(details.webContentsId, token)
  }

  /**
   * Every distinct token any view of the partition used, forgotten as they are handed out. Views of
   * one deployment share the partition's localStorage and so Guacamole's session: it may end only
   * when the last of them closes.
   */
  takeAll(): string[] {
    const tokens = [...new Set(this.#tokens.values())]
    this.#tokens.clear()
    return tokens
  }
}

export interface RevokeTarget {
  ip: string
  port: number
  /** The pinned certificate, in Electron's form ('sha256/' + base64 of the DER's SHA-256). */
  fingerprint: string
}

export type RevokeOutcome = 'revoked' | 'already-gone' | 'failed'

/**
 * Ends a Guacamole session. 'revoked' when the gateway ended it, 'already-gone' when it did not
 * know the token (expired, or ended from the droplet), 'failed' when it could not be asked (pin
 * mismatch, unreachable). Never throws.
 */
export async function revokeGuacamoleSession(target: RevokeTarget, token: string, options: { timeoutMs?: number; dispatcher?: Dispatcher } = {}): Promise<RevokeOutcome> {
  const timeoutMs = options.timeoutMs ?? 3000
  const agent = options.dispatcher ?? pinnedAgent(target.fingerprint, timeoutMs)
  try {
    const host = target.port === 443 ? target.ip : `${target.ip}:${target.port}`
    const res = await request(`https://${host}/guacamole/api/session`, {
      method: 'DELETE',
      dispatcher: agent,
      headers: { 'guacamole-token': token },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    })
    await res.body.dump()
    if (res.statusCode >= 200 && res.statusCode < 300) return 'revoked'
    return res.statusCode === 403 || res.statusCode === 404 ? 'already-gone' : 'failed'
  } catch {
    return 'failed'
  } finally {
    if (!options.dispatcher) await agent.close().catch(() => undefined)
  }
}
