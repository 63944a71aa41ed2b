// Every way a DigitalOcean call can fail, as one typed error with a sentence a user can act on.
// Messages are built here from fixed text plus DigitalOcean's own 422 wording, never from the token.
import type { UserError } from '../../../preload/contract'

export type DigitalOceanErrorCode =
  | 'invalid-token'
  | 'forbidden'
  | 'not-found'
  | 'droplet-limit'
  | 'invalid-request'
  | 'rate-limited'
  | 'server-error'
  | 'offline'
  | 'dns'
  | 'tls'
  | 'network'
  | 'timeout'
  | 'bad-response'
  | 'no-token'

export interface DigitalOceanErrorDetails {
  status?: number
  /** DigitalOcean's own error id (`unauthorized`, `unprocessable_entity`, …). */
  apiId?: string
  /** DigitalOcean's own message, already scrubbed of secrets. */
  apiMessage?: string
  requestId?: string
  /** How long DigitalOcean asked us to wait (rate-limited only). */
  retryAfterMs?: number
  cause?: unknown
}

const HINTS: Partial<Record<DigitalOceanErrorCode, string>> = {
  'invalid-token':
    'Create a new personal access token at cloud.digitalocean.com/account/api/tokens and paste it in Settings (or set DIGITALOCEAN_API_TOKEN).',
  forbidden: 'Give the token read and write access to droplets, regions, sizes, images, account and ssh_key, or use a full-access token.',
  'droplet-limit': 'Destroy a droplet you no longer need, or ask DigitalOcean support to raise your droplet limit.',
  'rate-limited': 'Dictumal slows down by itself; wait a moment and try again.',
  'server-error': 'Check status.digitalocean.com; the request can be tried again in a few minutes.',
  offline: 'Check your internet connection, proxy and firewall.',
  dns: 'Check your internet connection and DNS settings, or DIGITALOCEAN_API_URL if you set it.',
  tls: 'A proxy or antivirus may be intercepting HTTPS; check the system clock and proxy settings.',
  network: 'Check your internet connection and try again.',
  timeout: 'Check your internet connection; DigitalOcean may also be slow right now.',
  'no-token': 'Paste a DigitalOcean token in Settings, run `dictumal login`, or set DIGITALOCEAN_API_TOKEN.',
}

export class DigitalOceanError extends Error {
  readonly code: DigitalOceanErrorCode
  readonly userMessage: string
  readonly status: number | undefined
  readonly apiId: string | undefined
  readonly apiMessage: string | undefined
  readonly requestId: string | undefined
  readonly retryAfterMs: number | undefined

  constructor(code: DigitalOceanErrorCode, userMessage: string, details: DigitalOceanErrorDetails = {}) {
    super(userMessage, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'DigitalOceanError'
    this.code = code
    this.userMessage = userMessage
    this.status = details.status
    this.apiId = details.apiId
    this.apiMessage = details.apiMessage
    this.requestId = details.requestId
    this.retryAfterMs = details.retryAfterMs
  }

  /** What the user can do about it (shown under the sentence in the app, on stderr by the CLI). */
  get hint(): string | undefined {
    return HINTS[this.code]
  }

  /** True when nothing can have changed at DigitalOcean, so the same request may be sent again. */
  get nothingCreated(): boolean {
    return this.code !== 'server-error' && this.code !== 'timeout' && this.code !== 'network' && this.code !== 'bad-response'
  }
}

function withPeriod(text: string): string {
  const trimmed = text.trim()
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`
}

function seconds(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000))
  return s === 1 ? '1 second' : `${s} seconds`
}

/** Builds the error for an HTTP reply that is not a success. `apiMessage` must already be scrubbed. */
export function errorForStatus(status: number, body: { id?: string; message?: string; requestId?: string }, retryAfterMs?: number): DigitalOceanError {
  const details: DigitalOceanErrorDetails = {
    status,
    ...(body.id === undefined ? {} : { apiId: body.id }),
    ...(body.message === undefined ? {} : { apiMessage: body.message }),
    ...(body.requestId === undefined ? {} : { requestId: body.requestId }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  }
  if (status === 401) {
    return new DigitalOceanError('invalid-token', 'DigitalOcean rejected the API token: it is invalid, expired or revoked.', details)
  }
  if (status === 403) {
    return new DigitalOceanError('forbidden', 'The DigitalOcean token is not allowed to do this: it lacks the needed scope.', details)
  }
  if (status === 404) {
    return new DigitalOceanError('not-found', 'DigitalOcean could not find that resource; it may have been deleted.', details)
  }
  if (status === 429) {
    const wait = retryAfterMs === undefined ? 'in a minute' : `in about ${seconds(retryAfterMs)}`
    return new DigitalOceanError('rate-limited', `DigitalOcean is rate limiting this token; try again ${wait}.`, details)
  }
  if (status >= 500) {
    return new DigitalOceanError('server-error', `DigitalOcean had a server error (HTTP ${status}); try again in a few minutes.`, details)
  }
  const said = body.message === undefined || body.message.trim() === '' ? undefined : withPeriod(body.message)
  if (said !== undefined && /droplet limit/i.test(said)) {
    return new DigitalOceanError('droplet-limit', `DigitalOcean refused to create the droplet: ${said}`, details)
  }
  return new DigitalOceanError(
    'invalid-request',
    said === undefined ? `DigitalOcean refused the request (HTTP ${status}).` : `DigitalOcean refused the request: ${said}`,
    details,
  )
}

export function timeoutError(timeoutMs: number, cause?: unknown): DigitalOceanError {
  return new DigitalOceanError('timeout', `DigitalOcean did not answer within ${seconds(timeoutMs)}.`, { cause })
}

export function badResponseError(what: string, status?: number): DigitalOceanError {
  return new DigitalOceanError('bad-response', `DigitalOcean sent a reply Dictumal could not understand (${what}).`, {
    ...(status === undefined ? {} : { status }),
  })
}

export function noTokenError(): DigitalOceanError {
  return new DigitalOceanError('no-token', 'No DigitalOcean API token is set.')
}

const OFFLINE = new Set(['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'EADDRNOTAVAIL'])
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA'])

function errorCodes(error: unknown): string[] {
  const codes: string[] = []
  let current: unknown = error
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') codes.push(code)
    const inner = (current as { cause?: unknown }).cause
    // AggregateError (happy-eyeballs connects) hides the real codes in `errors`.
    const many = (current as { errors?: unknown }).errors
    if (Array.isArray(many)) codes.push(...many.flatMap((e) => errorCodes(e)))
    current = inner
  }
  return codes
}

/** Turns a thrown transport error (undici, node:net, node:tls) into a typed error. */
export function transportError(error: unknown): DigitalOceanError {
  const codes = errorCodes(error)
  if (codes.some((c) => DNS.has(c))) {
    return new DigitalOceanError('dns', 'Could not find the DigitalOcean API server: the name did not resolve.', { cause: error })
  }
  if (codes.some((c) => OFFLINE.has(c))) {
    return new DigitalOceanError('offline', 'Could not reach DigitalOcean: this computer seems to be offline.', { cause: error })
  }
  if (codes.some((c) => /CERT|SSL|TLS|SELF_SIGNED|ERR_TLS|UNABLE_TO_VERIFY/i.test(c))) {
    return new DigitalOceanError('tls', 'The secure connection to DigitalOcean failed: its certificate could not be verified.', { cause: error })
  }
  return new DigitalOceanError('network', 'The connection to DigitalOcean broke off before it answered.', { cause: error })
}

export function isDigitalOceanError(e: unknown): e is DigitalOceanError {
  return e instanceof DigitalOceanError
}

/** The UI/CLI view of any failure from this module: one sentence and, where useful, what to do. */
export function toUserError(e: unknown): UserError {
  if (e instanceof DigitalOceanError) {
    const hint = HINTS[e.code]
    return { code: `digitalocean/${e.code}`, message: e.userMessage, ...(hint === undefined ? {} : { hint }) }
  }
  return { code: 'digitalocean/unexpected', message: 'Something unexpected went wrong while talking to DigitalOcean.' }
}
