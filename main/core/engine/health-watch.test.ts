// Running desktops re-checked, on an injected clock: the round trip every 30 s, "not answering" only
// after two misses (with the time of the first), Reconnect re-checks at once, and a droplet deleted in
// DigitalOcean's panel becomes DESTROYED only when its id answers 404.
import { describe, expect, it } from 'vitest'
import type { HealthNote } from '../../../preload/contract'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { healthTimingFromEnv, HealthWatch, type HealthPorts } from './health-watch'

const T0 = Date.parse('2026-12-01T14:00:00.000Z')

function rig() {
  let now = T0
  const answers: boolean[] = []
  const reports: { id: string; note: HealthNote | null }[] = []
  const tagged = new Set([101])
  const existing = new Set([101])
  const deleted: string[] = []
  const probed: number[] = []
  let deployments = [sampleDeployment({ id: 'd1', status: 'ACTIVE', stage: 'active', ip: '127.0.0.9', dropletId: 101 })]
  let listings = 0
  const ports: HealthPorts = {
    clock: { now: () => now },
    deployments: () => deployments,
    probe: async () => {
      probed.push(now)
      const ok = answers.shift() ?? true
      return { ok, roundTripMs: ok ? 42 : null }
    },
    listTaggedIds: async () => {
      listings++
      return new Set(tagged)
    },
    dropletExists: async (id) => existing.has(id),
    markDeletedElsewhere: async (id) => {
      deleted.push(id)
      deployments = deployments.map((d) => (d.id === id ? { ...d, status: 'DESTROYED' } : d))
    },
    report: (id, note) => reports.push({ id, note }),
  }
  const watch = new HealthWatch(ports, { probeMs: 30_000, cloudMs: 180_000 })
  return {
    watch,
    answers,
    reports,
    tagged,
    existing,
    deleted,
    probed,
    get listings() {
      return listings
    },
    advance: async (ms: number) => {
      now += ms
      await watch.tick()
    },
  }
}

describe('health watch', () => {
  it('re-checks every 30 s with the round trip, and says "not answering" after two misses, since the first', async () => {
    const r = rig()
    await r.watch.tick()
    expect(r.probed).toEqual([])
    await r.advance(30_000)
    expect(r.reports.at(-1)?.note).toMatchObject({ state: 'ok', roundTripMs: 42, downSince: null })
    await r.advance(10_000)
    expect(r.probed).toHaveLength(1)
    r.answers.push(false, false)
    await r.advance(20_000)
    // One miss: still the last good answer.
    expect(r.reports).toHaveLength(1)
    await r.advance(30_000)
    expect(r.reports.at(-1)?.note).toMatchObject({ state: 'down', roundTripMs: null, downSince: '2026-12-01T14:01:00.000Z' })
    // Reconnect: probed at the next tick, not 30 s later.
    r.watch.recheckSoon('d1')
    await r.advance(1_000)
    expect(r.reports.at(-1)?.note).toMatchObject({ state: 'ok', roundTripMs: 42 })
  })

  it('asks DigitalOcean by one listing every few minutes and marks a 404 droplet deleted outside Dictumal', async () => {
    const r = rig()
    await r.advance(179_000)
    expect(r.listings).toBe(0)
    await r.advance(1_000)
    expect(r.listings).toBe(1)
    // Untagged but still there: kept.
    r.tagged.clear()
    await r.advance(180_000)
    expect(r.deleted).toEqual([])
    r.existing.clear()
    await r.advance(180_000)
    expect(r.listings).toBe(3)
    expect(r.deleted).toEqual(['d1'])
    expect(r.reports.at(-1)).toEqual({ id: 'd1', note: null })
  })

  it('reads faster timings for tests from the environment, ignoring nonsense', () => {
    expect(healthTimingFromEnv({ DICTUMAL_HEALTH_PROBE_MS: '200', DICTUMAL_HEALTH_CLOUD_MS: 'soon' })).toEqual({ probeMs: 200 })
  })
})
