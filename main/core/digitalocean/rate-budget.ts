// One request budget per token, fed by DigitalOcean's ratelimit-* headers: it spaces requests out as
// the remaining allowance nears zero and holds everyone back while a 429's retry-after runs.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  sleep(ms: number): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
}

export type HeaderBag = Record<string, string | string[] | undefined>

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function intHeader(headers: HeaderBag, name: string): number | undefined {
  const raw = header(headers, name)
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined
  return Number.parseInt(raw, 10)
}

/** `retry-after` as milliseconds: either delta-seconds or an HTTP date. */
export function retryAfterMs(headers: HeaderBag, now: number): number | undefined {
  const raw = header(headers, 'retry-after')
  if (raw === undefined) return undefined
  if (/^\s*\d+(\.\d+)?\s*$/.test(raw)) return Math.ceil(Number.parseFloat(raw) * 1000)
  const at = Date.parse(raw)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Milliseconds until `ratelimit-reset` (epoch seconds), if the header is there. */
export function resetInMs(headers: HeaderBag, now: number): number | undefined {
  const reset = intHeader(headers, 'ratelimit-reset')
  return reset === undefined ? undefined : Math.max(0, reset * 1000 - now)
}

export interface RateBudgetOptions {
  clock?: Clock
  /** Start spacing requests out once remaining/limit falls to this share. */
  slowdownShare?: number
  /** …or once fewer than this many requests remain, whichever comes first. */
  slowdownBelow?: number
}

export type Reservation = { ok: true; delayMs: number } | { ok: false; waitMs: number }

export class RateBudget {
  private readonly clock: Clock
  private readonly slowdownShare: number
  private readonly slowdownBelow: number
  private limit: number | undefined
  private remaining: number | undefined
  private resetAt: number | undefined
  private blockedUntil = 0
  private nextSlot = 0

  constructor(options: RateBudgetOptions = {}) {
    this.clock = options.clock ?? systemClock
    this.slowdownShare = options.slowdownShare ?? 0.1
    this.slowdownBelow = options.slowdownBelow ?? 25
  }

  /** Learns the allowance from a reply's headers. */
  observe(headers: HeaderBag): void {
    const limit = intHeader(headers, 'ratelimit-limit')
    const remaining = intHeader(headers, 'ratelimit-remaining')
    const reset = intHeader(headers, 'ratelimit-reset')
    if (limit !== undefined) this.limit = limit
    if (remaining !== undefined) this.remaining = remaining
    if (reset !== undefined) this.resetAt = reset * 1000
  }

  /** After a 429: nobody sends anything before `until` (epoch ms). */
  blockUntil(until: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, until)
  }

  /** How far apart requests must be right now; 0 while the allowance is comfortable. */
  spacingMs(now: number): number {
    if (this.remaining === undefined || this.resetAt === undefined) return 0
    const window = Math.max(0, this.resetAt - now)
    if (window === 0) return 0
    const threshold = Math.max(this.slowdownBelow, (this.limit ?? 0) * this.slowdownShare)
    if (this.remaining > threshold) return 0
    return Math.ceil(window / Math.max(1, this.remaining))
  }

  /** Books the next send slot, unless it lies further away than `maxWaitMs`. */
  reserve(maxWaitMs = Number.POSITIVE_INFINITY): Reservation {
    const now = this.clock.now()
    let slot = Math.max(now, this.blockedUntil, this.nextSlot)
    if (this.remaining !== undefined && this.remaining <= 0 && this.resetAt !== undefined) slot = Math.max(slot, this.resetAt)
    const delayMs = slot - now
    if (delayMs > maxWaitMs) return { ok: false, waitMs: delayMs }
    const spacing = this.spacingMs(now)
    this.nextSlot = slot + spacing
    // Count the request now so parallel callers see the allowance shrink before replies arrive.
    if (this.remaining !== undefined && this.remaining > 0) this.remaining -= 1
    return { ok: true, delayMs }
  }
}
