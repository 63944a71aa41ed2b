// How far each DigitalOcean region is from this computer: the time a TCP handshake takes with the
// region's public speed-test host (speedtest-nyc3.digitalocean.com:443, one per datacenter), best of
// two, cached for ten minutes. Nothing is sent over the connection. Where no real region can be
// reached — a stand-in API (DIGITALOCEAN_API_URL elsewhere), an unknown slug, a timeout — the
// answer is null and the dialog shows no number. DICTUMAL_REGION_PING=host:port sends every probe
// there instead (tests use a loopback listener).
import { connect } from 'node:net'

export type Env = Readonly<Record<string, string | undefined>>

export interface PingTarget {
  host: string
  port: number
}

const REGION_SLUG = /^[a-z]{3}\d$/
const CACHE_MS = 10 * 60_000

export function pingTarget(region: string, env: Env): PingTarget | null {
  if (!REGION_SLUG.test(region)) return null
  const override = env.DICTUMAL_REGION_PING?.trim()
  if (override) {
    const match = /^(.+):(\d{1,5})$/.exec(override)
    return match ? { host: match[1] ?? '', port: Number(match[2]) } : null
  }
  const api = env.DIGITALOCEAN_API_URL?.trim()
  if (api) {
    try {
      if (new URL(api).host !== 'api.digitalocean.com') return null
    } catch {
      return null
    }
  }
  return { host: `speedtest-${region}.digitalocean.com`, port: 443 }
}

/** Milliseconds until the TCP handshake completes, or null on error or timeout. */
export function handshakeMs(target: PingTarget, timeoutMs: number, now: () => number = () => performance.now()): Promise<number | null> {
  return new Promise((resolve) => {
    const started = now()
    const socket = connect({ host: target.host, port: target.port })
    const done = (value: number | null) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(value)
    }
    const timer = setTimeout(() => done(null), timeoutMs)
    socket.once('connect', () => done(Math.max(1, Math.round(now() - started))))
    socket.once('error', () => done(null))
  })
}

export interface LatencyProbe {
  measure(regions: readonly string[]): Promise<Record<string, number | null>>
}

export function createLatencyProbe(env: Env, options: { timeoutMs?: number; clock?: () => number } = {}): LatencyProbe {
  const timeoutMs = options.timeoutMs ?? 2000
  const clock = options.clock ?? Date.now
  const cache = new Map<string, { ms: number | null; at: number }>()
  const one = async (region: string): Promise<number | null> => {
    const cached = cache.get(region)
    if (cached && clock() - cached.at < CACHE_MS) return cached.ms
    const target = pingTarget(region, env)
    let best: number | null = null
    if (target) {
      for (let i = 0; i < 2; i++) {
        const ms = await handshakeMs(target, timeoutMs)
        if (ms !== null) best = best === null ? ms : Math.min(best, ms)
      }
    }
    cache.set(region, { ms: best, at: clock() })
    return best
  }
  return {
    async measure(regions) {
      const unique = [...new Set(regions)]
      const values = await Promise.all(unique.map(one))
      return Object.fromEntries(unique.map((region, i) => [region, values[i] ?? null]))
    },
  }
}
