// When to look at a droplet next (issue 15): often once the gateway is about to come up (the beacon says
// configure-https, Guacamole answers, or Nginx took port 80 over), rarely while it installs. Each
// deployment keeps its own due time; pure, so the timing is tested with an injected clock.
import { BEACON_STEPS, type BeaconStep } from '../recipe'

export interface ProbeTiming {
  /** Near the gateway: readiness is seen within about this long. */
  fastMs: number
  /** Longest pause while the step before Guacamole runs (pulling images, starting it). */
  almostMaxMs: number
  /** Longest pause while installing, or while nothing answers yet. */
  slowMaxMs: number
  /** The pause grows with how long the current step has run: this fraction of its age. */
  ageFraction: number
}

export const DEFAULT_PROBE_TIMING: Readonly<ProbeTiming> = { fastMs: 200, almostMaxMs: 1000, slowMaxMs: 3000, ageFraction: 0.25 }

/** What one probe saw, as far as timing is concerned. */
export interface ProbeSight {
  /** The step the beacon reported; null when no beacon answered. */
  step: BeaconStep | null
  /** When that step started by the droplet's clock (the beacon's timings), if it said. */
  stepStartedAt: number | null
  http80: boolean
  guacHttp8080: boolean
  guacHttps443: boolean
}

/** What the engine remembers per deployment between probes. */
export interface ProbeMemory {
  /** When this process first probed the droplet. */
  probingSince: number
  step: BeaconStep | null
  /** When this process first saw `step`. */
  stepSeenAt: number
}

const HTTPS_STEP = BEACON_STEPS.indexOf('configure-https')

/** Steps still to run before configure-https (0 once it runs or later). */
export function stepsBeforeHttps(step: BeaconStep): number {
  return Math.max(0, HTTPS_STEP - BEACON_STEPS.indexOf(step))
}

/**
 * The gateway may answer any moment: the beacon reports configure-https (or done), Guacamole is up, 443
 * answers, or port 80 answers without a beacon (Nginx took it over, or the beacon is gone).
 */
export function nearGateway(sight: Pick<ProbeSight, 'step' | 'http80' | 'guacHttp8080' | 'guacHttps443'>): boolean {
  if (sight.guacHttps443 || sight.guacHttp8080) return true
  if (sight.step !== null) return stepsBeforeHttps(sight.step) === 0
  return sight.http80
}

export function remember(memory: ProbeMemory | null, sight: ProbeSight, now: number): ProbeMemory {
  if (memory === null) return { probingSince: now, step: sight.step, stepSeenAt: now }
  if (memory.step === sight.step) return memory
  return { ...memory, step: sight.step, stepSeenAt: now }
}

/**
 * The pause before the next probe. Near the gateway: `fastMs`. Otherwise a quarter of how long the current
 * step has run (a step that just began means the droplet is moving fast; one that has run for minutes
 * will not end this instant), between `fastMs` and a cap: 1 s for the steps just before Guacamole, 3 s
 * while installing or while nothing answers. `capMs` (the engine's probeIntervalMs) caps everything.
 */
export function nextProbeDelay(sight: ProbeSight, memory: ProbeMemory, now: number, timing: ProbeTiming = DEFAULT_PROBE_TIMING, capMs = Infinity): number {
  const cap = (ms: number): number => Math.round(Math.max(1, Math.min(ms, capMs)))
  if (nearGateway(sight)) return cap(timing.fastMs)
  let ageMs: number
  let maxMs: number
  if (sight.step === null) {
    ageMs = now - memory.probingSince
    maxMs = timing.slowMaxMs
  } else {
    // The droplet's clock may be off: its own start time only ever lengthens the age we saw ourselves.
    const seen = memory.step === sight.step ? now - memory.stepSeenAt : 0
    const reported = sight.stepStartedAt === null ? 0 : now - sight.stepStartedAt
    ageMs = Math.max(seen, reported)
    maxMs = stepsBeforeHttps(sight.step) <= 2 ? timing.almostMaxMs : timing.slowMaxMs
  }
  return cap(Math.min(maxMs, Math.max(timing.fastMs, ageMs * timing.ageFraction)))
}
