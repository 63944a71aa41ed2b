// The probe timing as a pure function of what the last probe saw and an injected clock.
import { describe, expect, it } from 'vitest'
import { DEFAULT_PROBE_TIMING, nearGateway, nextProbeDelay, remember, stepsBeforeHttps, type ProbeMemory, type ProbeSight } from './probe-schedule'

const T0 = Date.parse('2026-12-01T12:00:00.000Z')

function sight(overrides: Partial<ProbeSight> = {}): ProbeSight {
  return { step: 'install-packages', stepStartedAt: null, http80: true, guacHttp8080: false, guacHttps443: false, ...overrides }
}

/** What the engine would remember after seeing `s` first at `at`. */
function seen(s: ProbeSight, at: number): ProbeMemory {
  return remember(null, s, at)
}

describe('near the gateway: probe fast', () => {
  it.each([
    ['the beacon reports configure-https', sight({ step: 'configure-https' })],
    ['the beacon reports done', sight({ step: 'done' })],
    ['Guacamole answers on 8080 (the beacon says so)', sight({ step: 'start-guacamole', guacHttp8080: true })],
    ['443 already answers', sight({ step: 'install-packages', guacHttps443: true })],
    ['port 80 answers without a beacon (Nginx took it over)', sight({ step: null, http80: true })],
  ])('%s', (_why, s) => {
    expect(nearGateway(s)).toBe(true)
    // However long the droplet has been at it.
    expect(nextProbeDelay(s, seen(s, T0 - 600_000), T0)).toBe(DEFAULT_PROBE_TIMING.fastMs)
  })

  it('is not near while installing, nor while nothing answers', () => {
    expect(nearGateway(sight())).toBe(false)
    expect(nearGateway(sight({ step: 'start-guacamole' }))).toBe(false)
    expect(nearGateway(sight({ step: null, http80: false }))).toBe(false)
  })

  it('counts the steps left before HTTPS', () => {
    expect(stepsBeforeHttps('boot')).toBe(8)
    expect(stepsBeforeHttps('start-guacamole')).toBe(1)
    expect(stepsBeforeHttps('configure-https')).toBe(0)
    expect(stepsBeforeHttps('done')).toBe(0)
  })
})

describe('away from the gateway: back off with the age of the step', () => {
  it('stays fast while steps change quickly, slows down as one step drags on, and caps at 3 s while installing', () => {
    const s = sight()
    const memory = seen(s, T0)
    expect(nextProbeDelay(s, memory, T0)).toBe(200)
    expect(nextProbeDelay(s, memory, T0 + 400)).toBe(200)
    expect(nextProbeDelay(s, memory, T0 + 4000)).toBe(1000)
    expect(nextProbeDelay(s, memory, T0 + 8000)).toBe(2000)
    expect(nextProbeDelay(s, memory, T0 + 60_000)).toBe(3000)
  })

  it('caps at 1 s in the last steps before Guacamole', () => {
    for (const step of ['pull-images', 'start-guacamole'] as const) {
      const s = sight({ step })
      expect(nextProbeDelay(s, seen(s, T0), T0 + 60_000)).toBe(1000)
    }
    const vnc = sight({ step: 'start-vnc' })
    expect(nextProbeDelay(vnc, seen(vnc, T0), T0 + 60_000)).toBe(3000)
  })

  it("uses the beacon's start time for a step first seen now (an app restarted mid-install)", () => {
    const s = sight({ stepStartedAt: T0 - 120_000 })
    expect(nextProbeDelay(s, seen(s, T0), T0)).toBe(3000)
  })

  it('ignores a droplet clock that runs ahead (a start time in the future)', () => {
    const s = sight({ stepStartedAt: T0 + 3_600_000 })
    const memory = seen(s, T0)
    expect(nextProbeDelay(s, memory, T0)).toBe(200)
    expect(nextProbeDelay(s, memory, T0 + 8000)).toBe(2000)
  })

  it('starts fast again when the step changes', () => {
    const first = sight({ step: 'install-docker' })
    let memory = seen(first, T0)
    expect(nextProbeDelay(first, memory, T0 + 60_000)).toBe(3000)
    const next = sight({ step: 'install-packages' })
    memory = remember(memory, next, T0 + 60_000)
    expect(memory.stepSeenAt).toBe(T0 + 60_000)
    expect(memory.probingSince).toBe(T0)
    expect(nextProbeDelay(next, memory, T0 + 60_000)).toBe(200)
    // Seeing the same step again keeps its first sighting.
    expect(remember(memory, next, T0 + 70_000)).toBe(memory)
  })

  it('backs off from the first probe while nothing answers at all (the droplet is still booting)', () => {
    const s = sight({ step: null, http80: false })
    const memory = seen(s, T0)
    expect(nextProbeDelay(s, memory, T0)).toBe(200)
    expect(nextProbeDelay(s, memory, T0 + 6000)).toBe(1500)
    expect(nextProbeDelay(s, memory, T0 + 120_000)).toBe(3000)
  })

  it("never waits longer than the engine's probe interval, and takes other timings", () => {
    const s = sight()
    const memory = seen(s, T0)
    expect(nextProbeDelay(s, memory, T0 + 60_000, DEFAULT_PROBE_TIMING, 100)).toBe(100)
    const timing = { fastMs: 50, almostMaxMs: 300, slowMaxMs: 500, ageFraction: 0.5 }
    expect(nextProbeDelay(sight({ step: 'configure-https' }), memory, T0, timing)).toBe(50)
    expect(nextProbeDelay(s, memory, T0 + 60_000, timing)).toBe(500)
  })
})
