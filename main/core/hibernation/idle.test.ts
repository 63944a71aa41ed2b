// Idle auto-hibernate decisions on an injected clock: off by default, a warning a few minutes before,
// "Keep running" restarts the clock, and a droplet that does not report activity is never hibernated.
import { describe, expect, it } from 'vitest'
import type { Deployment } from '../../../preload/contract'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { idleVerdict, IdleWatcher, warningLeadMs } from './idle'

const T0 = Date.parse('2026-12-01T10:00:00Z')
const min = (n: number): number => n * 60_000
const iso = (ms: number): string => new Date(ms).toISOString()

describe('idleVerdict', () => {
  const base = { idleMinutes: 30, lastActivityAt: iso(T0), activeAt: iso(T0 - min(60)) }

  it('is off without the setting', () => {
    expect(idleVerdict({ ...base, now: T0 + min(600), idleMinutes: null })).toEqual({ kind: 'keep' })
    expect(idleVerdict({ ...base, now: T0 + min(600), idleMinutes: 0 })).toEqual({ kind: 'keep' })
  })

  it('keeps, then warns five minutes before, then hibernates', () => {
    expect(idleVerdict({ ...base, now: T0 + min(24) })).toEqual({ kind: 'keep' })
    expect(idleVerdict({ ...base, now: T0 + min(25) })).toEqual({ kind: 'warn', hibernateAt: T0 + min(30) })
    expect(idleVerdict({ ...base, now: T0 + min(30) })).toEqual({ kind: 'hibernate' })
  })

  it('never hibernates a droplet that does not report activity', () => {
    expect(idleVerdict({ ...base, lastActivityAt: undefined, now: T0 + min(600) })).toEqual({ kind: 'keep' })
  })

  it('counts from ACTIVE when no connection was ever open, and from "Keep running" when later', () => {
    expect(idleVerdict({ ...base, lastActivityAt: null, activeAt: iso(T0), now: T0 + min(31) })).toEqual({ kind: 'hibernate' })
    expect(idleVerdict({ ...base, now: T0 + min(31), keptAt: T0 + min(29) })).toEqual({ kind: 'keep' })
  })

  it('warns half-way for short idle times', () => {
    expect(warningLeadMs(4)).toBe(min(2))
    expect(idleVerdict({ ...base, idleMinutes: 4, now: T0 + min(2) })).toEqual({ kind: 'warn', hibernateAt: T0 + min(4) })
  })
})

describe('IdleWatcher', () => {
  function rig(activity: string | null | undefined) {
    let now = T0
    const desk = sampleDeployment({ status: 'ACTIVE', stage: 'active', percent: 100, ip: '127.0.0.9', dropletId: 7, activeAt: iso(T0 - min(60)) })
    const warned: number[] = []
    const hibernated: string[] = []
    const watcher = new IdleWatcher({
      deployments: (): Deployment[] => [desk],
      idleMinutes: () => 30,
      lastActivity: async () => activity,
      hibernate: async (id) => void hibernated.push(id),
      clock: { now: () => now, sleep: async () => {} },
    })
    watcher.onWarning((_d, at) => void warned.push(at))
    return { watcher, warned, hibernated, at: (ms: number) => (now = ms), id: desk.id }
  }

  it('warns once, keeps running when asked, warns again later, then hibernates', async () => {
    const r = rig(iso(T0))
    r.at(T0 + min(26))
    await r.watcher.tick()
    await r.watcher.tick()
    expect(r.warned).toEqual([T0 + min(30)])
    r.watcher.keepRunning(r.id)
    r.at(T0 + min(31))
    expect((await r.watcher.tick()).get(r.id)).toBe('keep')
    expect(r.hibernated).toEqual([])
    r.at(T0 + min(26 + 26))
    await r.watcher.tick()
    expect(r.warned).toEqual([T0 + min(30), T0 + min(56)])
    r.at(T0 + min(57))
    expect((await r.watcher.tick()).get(r.id)).toBe('hibernate')
    expect(r.hibernated).toEqual([r.id])
  })

  it('leaves a desktop alone whose beacon cannot be read', async () => {
    const r = rig(undefined)
    r.at(T0 + min(600))
    await r.watcher.tick()
    expect(r.hibernated).toEqual([])
    expect(r.warned).toEqual([])
  })
})
