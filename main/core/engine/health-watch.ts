// Running desktops are re-checked (issue 13): each ACTIVE desktop's beacon and pinned HTTPS gateway
// about every 30 s (the round trip is shown as a health dot), and DigitalOcean by one tagged listing
// every few minutes: a droplet gone from it, and 404 for its id, was deleted outside Dictumal and
// becomes DESTROYED (SPEC §8). Driven from the engine's timer (its onTick hook) with an injected clock.
import type { Deployment, HealthNote } from '../../../preload/contract'

export interface HealthProbe {
  /** Whether the desktop answered (beacon or pinned HTTPS), and how long the gateway took. */
  (d: Deployment): Promise<{ ok: boolean; roundTripMs: number | null }>
}

export interface HealthPorts {
  clock: { now(): number }
  deployments(): readonly Deployment[]
  probe: HealthProbe
  /** Ids of the droplets tagged `dictumal` (one listing). */
  listTaggedIds(): Promise<Set<number>>
  /** Null once DigitalOcean says 404. */
  dropletExists(id: number): Promise<boolean>
  markDeletedElsewhere(deploymentId: string): Promise<void>
  report(deploymentId: string, note: HealthNote | null): void
}

export interface HealthTiming {
  probeMs: number
  cloudMs: number
  /** Misses in a row before a desktop is "not answering" (one lost probe is not an outage). */
  missesForDown: number
}

export const DEFAULT_HEALTH_TIMING: HealthTiming = { probeMs: 30_000, cloudMs: 180_000, missesForDown: 2 }

interface Seen {
  nextProbeAt: number
  misses: number
  downSince: number | null
  note: HealthNote | null
}

export class HealthWatch {
  private readonly seen = new Map<string, Seen>()
  private nextCloudAt: number
  private running: Promise<void> | null = null
  private readonly timing: HealthTiming

  constructor(
    private readonly ports: HealthPorts,
    timing: Partial<HealthTiming> = {},
  ) {
    this.timing = { ...DEFAULT_HEALTH_TIMING, ...timing }
    this.nextCloudAt = ports.clock.now() + this.timing.cloudMs
  }

  /** Starts what is due; a round still running is not doubled. */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = null
    })
    return this.running
  }

  /** Reconnect: probe this desktop at the next tick. */
  recheckSoon(id: string): void {
    const s = this.seen.get(id)
    if (s) s.nextProbeAt = 0
  }

  private async round(): Promise<void> {
    const now = this.ports.clock.now()
    const active = this.ports.deployments().filter((d) => d.status === 'ACTIVE' && d.ip !== null)
    const ids = new Set(active.map((d) => d.id))
    for (const id of [...this.seen.keys()]) {
      if (!ids.has(id)) {
        this.seen.delete(id)
        this.ports.report(id, null)
      }
    }
    const work: Promise<void>[] = []
    for (const d of active) {
      let s = this.seen.get(d.id)
      if (!s) {
        // The engine has just seen it answer: the first re-check waits a full period.
        s = { nextProbeAt: now + this.timing.probeMs, misses: 0, downSince: null, note: null }
        this.seen.set(d.id, s)
      }
      if (s.nextProbeAt <= now) work.push(this.probeOne(d, s))
    }
    if (active.length > 0 && now >= this.nextCloudAt) {
      this.nextCloudAt = now + this.timing.cloudMs
      work.push(this.checkCloud(active))
    }
    await Promise.all(work)
  }

  private async probeOne(d: Deployment, s: Seen): Promise<void> {
    let result: { ok: boolean; roundTripMs: number | null }
    try {
      result = await this.ports.probe(d)
    } catch {
      result = { ok: false, roundTripMs: null }
    }
    const now = this.ports.clock.now()
    s.nextProbeAt = now + this.timing.probeMs
    if (result.ok) {
      s.misses = 0
      s.downSince = null
    } else {
      s.misses++
      if (s.misses === 1) s.downSince = now
    }
    const down = s.misses >= this.timing.missesForDown
    const note: HealthNote = {
      state: down ? 'down' : 'ok',
      roundTripMs: result.ok ? result.roundTripMs : null,
      checkedAt: new Date(now).toISOString(),
      downSince: down && s.downSince !== null ? new Date(s.downSince).toISOString() : null,
    }
    // A desktop that missed once shows its last good round trip until it is really down.
    if (!result.ok && !down && s.note) return
    s.note = note
    this.ports.report(d.id, note)
  }

  private async checkCloud(active: Deployment[]): Promise<void> {
    let tagged: Set<number>
    try {
      tagged = await this.ports.listTaggedIds()
    } catch {
      return
    }
    for (const d of active) {
      if (d.dropletId === null || tagged.has(d.dropletId)) continue
      // Absent from the listing is not yet gone (a tag edited away, a lagging list): only a 404 counts.
      let exists: boolean
      try {
        exists = await this.ports.dropletExists(d.dropletId)
      } catch {
        continue
      }
      if (!exists) {
        await this.ports.markDeletedElsewhere(d.id)
        this.seen.delete(d.id)
        this.ports.report(d.id, null)
      }
    }
  }
}

/** The real probe: the pinned HTTPS gateway (its round trip is what the dot shows), else the beacon. */
export function networkHealthProbe(tools: {
  pinnedAgent(fingerprint: string): { close(): Promise<void> }
  probeHttps(ip: string, agent: never): Promise<boolean>
  fetchBeacon(ip: string): Promise<{ beacon: unknown }>
}): HealthProbe {
  return async (d) => {
    if (d.ip === null) return { ok: false, roundTripMs: null }
    const agent = tools.pinnedAgent(d.certFingerprint)
    try {
      const started = performance.now()
      if (await tools.probeHttps(d.ip, agent as never)) return { ok: true, roundTripMs: Math.max(1, Math.round(performance.now() - started)) }
    } finally {
      await agent.close().catch(() => {})
    }
    return { ok: (await tools.fetchBeacon(d.ip)).beacon !== null, roundTripMs: null }
  }
}

/** DICTUMAL_HEALTH_PROBE_MS / DICTUMAL_HEALTH_CLOUD_MS (tests): faster re-checks. */
export function healthTimingFromEnv(env: Record<string, string | undefined>): Partial<HealthTiming> {
  const ms = (v: string | undefined): number | undefined => {
    const n = Number(v)
    return v !== undefined && Number.isInteger(n) && n >= 50 ? n : undefined
  }
  const probeMs = ms(env.DICTUMAL_HEALTH_PROBE_MS)
  const cloudMs = ms(env.DICTUMAL_HEALTH_CLOUD_MS)
  return { ...(probeMs === undefined ? {} : { probeMs }), ...(cloudMs === undefined ? {} : { cloudMs }) }
}
