// Measured times (SPEC §10: "from measured step times, not a guess"): every build and every deploy
// that reaches ACTIVE leaves one sample, fresh and from-image apart, in a short rolling record in the
// store. Estimates are the median of what was measured; a stated default stands in until then.
import type { Deployment, DeployPlanView, TimingSample } from '../../../preload/contract'
import type { StoreData } from '../store'
import { log } from '../log'

/** Samples kept per kind: recent enough to follow DigitalOcean's current speed. */
export const SAMPLES_PER_KIND = 10

/** Until something is measured: typical times on DigitalOcean, labelled as defaults in the UI. */
export const DEFAULT_ESTIMATE_MS: Readonly<Record<TimingSample['kind'], number>> = {
  fresh: 8 * 60_000,
  image: 90_000,
  build: 12 * 60_000,
}

/** A sample longer than this is not a deploy or build but a desktop adopted or resumed much later. */
const MAX_SAMPLE_MS = 3 * 60 * 60_000

interface StorePort {
  read(): StoreData
  update<T>(fn: (draft: StoreData) => T): Promise<T>
  onChange?(listener: (data: StoreData) => void): () => void
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : Math.round(((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2)
}

export function estimates(samples: readonly TimingSample[]): DeployPlanView['estimates'] {
  const one = (kind: TimingSample['kind']): { ms: number; measured: number } => {
    const mine = samples.filter((s) => s.kind === kind)
    return mine.length === 0 ? { ms: DEFAULT_ESTIMATE_MS[kind], measured: 0 } : { ms: median(mine.map((s) => s.totalMs)), measured: mine.length }
  }
  return { fresh: one('fresh'), image: one('image'), build: one('build') }
}

/** Milliseconds spent in each stage, from when each stage was first seen (in order) to the end. */
export function stepDurations(seen: Partial<Record<string, number>>, endMs: number): Record<string, number> {
  const entries = Object.entries(seen)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .sort((a, b) => a[1] - b[1])
  const out: Record<string, number> = {}
  entries.forEach(([stage, at], i) => {
    const next = entries[i + 1]?.[1] ?? endMs
    out[stage] = Math.max(0, next - at)
  })
  return out
}

/** Adds a sample (one per subject) to a store draft, keeping the newest SAMPLES_PER_KIND of its kind. */
export function pushSample(draft: StoreData, sample: TimingSample): void {
  if (sample.totalMs <= 0 || sample.totalMs > MAX_SAMPLE_MS) return
  if (draft.timings.some((t) => t.subjectId === sample.subjectId && t.kind === sample.kind)) return
  const others = draft.timings.filter((t) => t.kind !== sample.kind)
  const mine = [...draft.timings.filter((t) => t.kind === sample.kind), sample].sort((a, b) => a.at.localeCompare(b.at)).slice(-SAMPLES_PER_KIND)
  draft.timings = [...others, ...mine]
}

export async function recordSample(store: StorePort, sample: TimingSample): Promise<void> {
  await store.update((draft) => pushSample(draft, sample))
}

/**
 * Watches deployments and records each one's time to ACTIVE, fresh or from an image, with the stage
 * times this process saw. Any running engine may record; a deployment is sampled once.
 */
export function recordDeployTimes(store: Required<Pick<StorePort, 'onChange'>> & StorePort, now: () => number = Date.now): () => void {
  const seen = new Map<string, Partial<Record<string, number>>>()
  const consider = (data: StoreData): void => {
    for (const d of data.deployments) {
      if (d.status === 'PROVISIONING' || d.status === 'CONFIGURING') {
        const stages = seen.get(d.id) ?? {}
        if (stages[d.stage] === undefined) stages[d.stage] = now()
        seen.set(d.id, stages)
      } else if (d.status === 'ACTIVE' && d.activeAt !== null && seen.has(d.id)) {
        const stages = seen.get(d.id) ?? {}
        seen.delete(d.id)
        if (data.timings.some((t) => t.subjectId === d.id)) continue
        void recordSample(store, deploySample(d, stages)).catch((error: unknown) => log.warn('timings', 'could not record a deploy time', error))
      } else {
        seen.delete(d.id)
      }
    }
  }
  return store.onChange(consider)
}

function deploySample(d: Deployment, stages: Partial<Record<string, number>>): TimingSample {
  const end = Date.parse(d.activeAt ?? d.updatedAt)
  return {
    kind: d.fastStart ? 'image' : 'fresh',
    subjectId: d.id,
    totalMs: end - Date.parse(d.createdAt),
    steps: stepDurations(stages, end),
    at: d.activeAt ?? d.updatedAt,
  }
}
