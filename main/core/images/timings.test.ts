// Measured times: the median of the last samples per kind, a labelled default until one exists, one
// sample per deployment or image, and deploys recorded from what a running engine saw.
import { describe, expect, it } from 'vitest'
import type { Deployment, TimingSample } from '../../../preload/contract'
import { emptyStoreData, type StoreData } from '../store'
import { DEFAULT_ESTIMATE_MS, estimates, pushSample, recordDeployTimes, SAMPLES_PER_KIND, stepDurations } from './timings'
import { sampleDeployment } from '../../../test/fixtures/deployment'

function sample(kind: TimingSample['kind'], totalMs: number, i: number): TimingSample {
  return { kind, subjectId: `${kind}-${i}`, totalMs, steps: {}, at: new Date(1_700_000_000_000 + i * 1000).toISOString() }
}

describe('estimates', () => {
  it('are stated defaults until something is measured, then the median of the measurements', () => {
    expect(estimates([])).toEqual({
      fresh: { ms: DEFAULT_ESTIMATE_MS.fresh, measured: 0 },
      image: { ms: DEFAULT_ESTIMATE_MS.image, measured: 0 },
      build: { ms: DEFAULT_ESTIMATE_MS.build, measured: 0 },
    })
    const e = estimates([sample('image', 60_000, 1), sample('image', 80_000, 2), sample('image', 500_000, 3), sample('fresh', 400_000, 4), sample('fresh', 300_000, 5)])
    expect(e.image).toEqual({ ms: 80_000, measured: 3 })
    expect(e.fresh).toEqual({ ms: 350_000, measured: 2 })
    expect(e.build.measured).toBe(0)
  })

  it('keeps the newest samples per kind, one per subject, and ignores impossible ones', () => {
    const draft: StoreData = emptyStoreData()
    for (let i = 0; i < SAMPLES_PER_KIND + 5; i++) pushSample(draft, sample('fresh', 1000 + i, i))
    pushSample(draft, sample('build', 5000, 1))
    pushSample(draft, sample('build', 9999, 1))
    pushSample(draft, sample('image', -5, 2))
    pushSample(draft, sample('image', 24 * 3_600_000, 3))
    expect(draft.timings.filter((t) => t.kind === 'fresh').map((t) => t.totalMs)).toEqual(Array.from({ length: SAMPLES_PER_KIND }, (_, i) => 1005 + i))
    expect(draft.timings.filter((t) => t.kind === 'build').map((t) => t.totalMs)).toEqual([5000])
    expect(draft.timings.filter((t) => t.kind === 'image')).toEqual([])
  })

  it('splits a run into stage durations by when each stage was first seen', () => {
    expect(stepDurations({ b: 1500, a: 1000, c: 4000 }, 5000)).toEqual({ a: 500, b: 2500, c: 1000 })
  })
})

describe('recordDeployTimes', () => {
  it('records a deploy it watched to ACTIVE once, as fresh or image by fastStart; not one it never saw in progress', async () => {
    let data: StoreData = emptyStoreData()
    const listeners = new Set<(d: StoreData) => void>()
    const store = {
      read: () => data,
      update: async <T>(fn: (draft: StoreData) => T): Promise<T> => {
        const draft = structuredClone(data)
        const out = fn(draft)
        data = draft
        for (const l of listeners) l(data)
        return out
      },
      onChange: (l: (d: StoreData) => void) => {
        listeners.add(l)
        return () => listeners.delete(l)
      },
    }
    let now = Date.parse('2026-12-01T10:00:00Z')
    const off = recordDeployTimes(store, () => now)
    const base: Deployment = { ...sampleDeployment(), createdAt: '2026-12-01T10:00:00.000Z', status: 'PROVISIONING', stage: 'provisioning-droplet', activeAt: null, fastStart: true }
    const set = async (d: Deployment[]): Promise<void> => store.update((draft) => void (draft.deployments = d))
    await set([base, { ...base, id: 'adopted-elsewhere', status: 'ACTIVE', activeAt: '2026-12-01T10:05:00.000Z' }])
    now += 20_000
    await set([{ ...base, status: 'CONFIGURING', stage: 'installing-packages' }])
    now += 40_000
    await set([{ ...base, status: 'ACTIVE', stage: 'active', activeAt: '2026-12-01T10:01:05.000Z' }])
    await set([{ ...base, status: 'ACTIVE', stage: 'active', activeAt: '2026-12-01T10:01:05.000Z' }])
    await new Promise((r) => setTimeout(r, 10))
    off()
    expect(data.timings).toEqual([
      { kind: 'image', subjectId: base.id, totalMs: 65_000, steps: { 'provisioning-droplet': 20_000, 'installing-packages': 45_000 }, at: '2026-12-01T10:01:05.000Z' },
    ])
  })
})
