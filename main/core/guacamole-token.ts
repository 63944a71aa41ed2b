// Guacamole JSON-auth tokens (extension guacamole-auth-json): mint the short-lived launch token the
// gateway accepts, build the launch URL, and verify a token the way the server does (tests, fake droplet).
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'

export const LAUNCH_TOKEN_TTL_MS = 5 * 60 * 1000
/** The one connection a launch token offers; the web app opens it directly because it is alone. */
export const DESKTOP_CONNECTION_NAME = 'desktop'
/** guacd runs on the droplet's host network, so the loopback-only VNC server is reachable there. */
export const VNC_HOST = '127.0.0.1'
export const VNC_PORT = 5901
export const DESKTOP_USERNAME = 'dictumal'

const ZERO_IV = Buffer.alloc(16)
const HMAC_LENGTH = 32

const connectionSchema = z.object({
  protocol: z.string().min(1),
  parameters: z.record(z.string(), z.string()),
  id: z.string().optional(),
  join: z.string().optional(),
  singleUse: z.boolean().optional(),
})

const payloadSchema = z.object({
  username: z.string().min(1),
  expires: z.number().int().nonnegative().optional(),
  singleUse: z.boolean().optional(),
  connections: z.record(z.string(), connectionSchema),
})

export type GuacamoleTokenPayload = z.infer<typeof payloadSchema>

export class GuacamoleTokenError extends Error {
  constructor(
    readonly reason: 'bad-key' | 'bad-token' | 'bad-signature' | 'bad-payload' | 'expired',
    message: string,
  ) {
    super(message)
    this.name = 'GuacamoleTokenError'
  }
}

function keyBytes(keyHex: string): Buffer {
  if (!/^[0-9a-fA-F]{32}$/.test(keyHex)) {
    throw new GuacamoleTokenError('bad-key', 'The Guacamole key must be 32 hexadecimal characters.')
  }
  return Buffer.from(keyHex, 'hex')
}

function toMillis(now: number | Date): number {
  return typeof now === 'number' ? now : now.getTime()
}

/** base64(AES-128-CBC(HMAC-SHA256(key, json) ‖ json)), zero IV: the server checks the HMAC over these exact bytes. */
export function encryptGuacamoleToken(json: string, keyHex: string): string {
  const key = keyBytes(keyHex)
  const body = Buffer.from(json, 'utf8')
  const signature = createHmac('sha256', key).update(body).digest()
  const cipher = createCipheriv('aes-128-cbc', key, ZERO_IV)
  return Buffer.concat([cipher.update(Buffer.concat([signature, body])), cipher.final()]).toString('base64')
}

/** Decrypts and checks HMAC, shape and expiry as guacamole-auth-json does; throws GuacamoleTokenError otherwise. */
export function verifyGuacamoleToken(token: string, keyHex: string, now: number | Date): GuacamoleTokenPayload {
  const key = keyBytes(keyHex)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw new GuacamoleTokenError('bad-token', 'The token is not base64.')
  let plain: Buffer
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, ZERO_IV)
    plain = Buffer.concat([decipher.update(Buffer.from(token, 'base64')), decipher.final()])
  } catch {
    throw new GuacamoleTokenError('bad-signature', 'The token was not encrypted with this key.')
  }
  if (plain.length <= HMAC_LENGTH) throw new GuacamoleTokenError('bad-token', 'The token is too short.')
  const signature = plain.subarray(0, HMAC_LENGTH)
  const body = plain.subarray(HMAC_LENGTH)
  const expected = createHmac('sha256', key).update(body).digest()
  if (!timingSafeEqual(signature, expected)) {
    throw new GuacamoleTokenError('bad-signature', 'The token signature does not match.')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new GuacamoleTokenError('bad-payload', 'The token does not hold JSON.')
  }
  const result = payloadSchema.safeParse(parsed)
  if (!result.success) throw new GuacamoleTokenError('bad-payload', 'The token JSON is not a Guacamole auth payload.')
  if (result.data.expires !== undefined && result.data.expires <= toMillis(now)) {
    throw new GuacamoleTokenError('expired', 'The token has expired.')
  }
  return result.data
}

export interface LaunchTokenOptions {
  keyHex: string
  vncPassword: string
  now: number | Date
  ttlMs?: number
}

/**
 * The JSON a launch token carries: one VNC connection to the desktop, valid for ttlMs (default 5 minutes)
 * and single-use (SPEC §5), so Guacamole refuses a second POST of the same blob: a token copied from a
 * URL, a history entry or a log after its first use opens nothing. Every launch, reconnect and readiness
 * check mints its own.
 */
export function launchTokenPayload(options: Omit<LaunchTokenOptions, 'keyHex'>): GuacamoleTokenPayload {
  const ttlMs = options.ttlMs ?? LAUNCH_TOKEN_TTL_MS
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive number of milliseconds')
  return {
    username: DESKTOP_USERNAME,
    expires: toMillis(options.now) + ttlMs,
    singleUse: true,
    connections: {
      [DESKTOP_CONNECTION_NAME]: {
        protocol: 'vnc',
        parameters: { hostname: VNC_HOST, port: String(VNC_PORT), password: options.vncPassword },
      },
    },
  }
}

/** A fresh token for one launch or reconnect. Sensitive: never log it. */
export function mintLaunchToken(options: LaunchTokenOptions): string {
  const { keyHex, ...rest } = options
  return encryptGuacamoleToken(JSON.stringify(launchTokenPayload(rest)), keyHex)
}

const HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** True for what may stand as HOST in a launch URL: a name or address, optionally with a port. */
export function isValidLaunchHost(host: string): boolean {
  return HOST_PATTERN.test(host)
}

/** `https://HOST/guacamole/?data=<token>`; HOST is a name, an IPv4 address or a bracketed IPv6 one, with an optional port. */
export function buildLaunchUrl(host: string, token: string): string {
  if (!HOST_PATTERN.test(host)) throw new RangeError('The launch host is not a valid host name or address')
  return `https://${host}/guacamole/?data=${encodeURIComponent(token)}`
}
