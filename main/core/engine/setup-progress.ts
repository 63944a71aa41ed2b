// Progress people can read (issue 13): the droplet's own setup steps from its beacon ("Step 5 of 9 ·
// Downloading the Guacamole images") with an estimate of the time left from measured step times. The
// droplet reports each step's duration; a rolling record of past deployments per region and size
// (the last few of each step, in step-times.json next to the data file) gives the typical times.
// The seven stages and their percents stay as SPEC §2 says: this only adds words under them.
import { readFileSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Deployment, SetupStepNote } from '../../../preload/contract'
import { BEACON_STEP_TITLES, BEACON_STEPS, stepDurations, type Beacon, type BeaconStep } from '../recipe'

/** The steps a person sees counted: everything from boot to HTTPS (`done` is the end, not a step). */
export const COUNTED_STEPS = BEACON_STEPS.filter((s) => s !== 'done') as Exclude<BeaconStep, 'done'>[]

/** Seconds each step typically takes on a fresh s-2vcpu-4gb install, until this computer has measured its own. */
export const TYPICAL_SECONDS: Record<Exclude<BeaconStep, 'done'>, number> = {
  boot: 5,
  'create-user': 3,
  'configure-firewall': 3,
  'install-docker': 60,
  'install-packages': 150,
  'start-vnc': 5,
  'pull-images': 60,
  'start-guacamole': 20,
  'configure-https': 5,
}

/** Samples kept per step and place: enough to smooth one slow mirror, few enough to follow a change. */
const KEEP = 5

type History = Record<string, Partial<Record<BeaconStep, number[]>>>

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export function placeKey(d: Pick<Deployment, 'region' | 'size' | 'fastStart'>): string {
  return `${d.region}/${d.size}${d.fastStart ? '/image' : ''}`
}

export class StepTimes {
  private history: History

  constructor(private readonly file: string | null) {
    this.history = {}
    if (file === null) return
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
      if (typeof parsed === 'object' && parsed !== null) this.history = parsed as History
    } catch {
      // No record yet (or an unreadable one): start a new one; it only ever feeds estimates.
    }
  }

  /** Typical seconds for a step at this place: the median of its last measurements, else the built-in guess. */
  typical(place: string, step: Exclude<BeaconStep, 'done'>): number {
    const samples = this.history[place]?.[step]
    return samples && samples.length > 0 ? median(samples) : TYPICAL_SECONDS[step]
  }

  measured(place: string): number {
    return Object.values(this.history[place] ?? {}).reduce((n, s) => Math.max(n, s?.length ?? 0), 0)
  }

  add(place: string, step: BeaconStep, seconds: number): void {
    const forPlace = (this.history[place] ??= {})
    forPlace[step] = [...(forPlace[step] ?? []), seconds].slice(-KEEP)
  }

  async save(): Promise<void> {
    if (this.file === null) return
    await mkdir(dirname(this.file), { recursive: true })
    const temp = `${this.file}.${process.pid}.tmp`
    await writeFile(temp, JSON.stringify(this.history))
    await rename(temp, this.file)
  }
}

/** "Step 5 of 9 · Downloading the Guacamole images" and the time left, from the beacon and the record. */
export function setupStepNote(d: Deployment, beacon: Pick<Beacon, 'step' | 'timings'>, times: StepTimes, now: number): SetupStepNote | null {
  if (beacon.step === 'done') return null
  const index = COUNTED_STEPS.indexOf(beacon.step)
  if (index < 0) return null
  const place = placeKey(d)
  const started = Date.parse(beacon.timings?.[beacon.step]?.start ?? '')
  const inStep = Number.isFinite(started) ? Math.max(0, (now - started) / 1000) : 0
  let left = Math.max(0, times.typical(place, beacon.step) - inStep)
  for (const step of COUNTED_STEPS.slice(index + 1)) left += times.typical(place, step)
  return {
    step: beacon.step,
    index: index + 1,
    total: COUNTED_STEPS.length,
    title: BEACON_STEP_TITLES[beacon.step],
    leftMs: Math.round(left * 1000),
    measured: times.measured(place),
  }
}

/** Adds the steps this beacon shows finished that were not recorded for this deployment yet. */
export function recordFinishedSteps(d: Deployment, beacon: Pick<Beacon, 'timings'>, times: StepTimes, seen: Set<string>): boolean {
  let added = false
  for (const { step, seconds } of stepDurations(beacon)) {
    const key = `${d.id}:${step}`
    if (seen.has(key)) continue
    seen.add(key)
    times.add(placeKey(d), step, seconds)
    added = true
  }
  return added
}

/** A failed setup step in words: "Starting Guacamole failed on the droplet (exit code 125)." plus why, where known. */
export function failureInWords(failed: NonNullable<Beacon['failed']>, log: string): string {
  const base = `${BEACON_STEP_TITLES[failed.step]} failed on the droplet (exit code ${failed.exitCode}).`
  if (failed.reason === 'docker-rate-limit') {
    return (
      `${base} Docker Hub refused the Guacamole images: its limit of 10 anonymous downloads per hour per IP address ` +
      `was reached, possibly by whoever had this droplet's address before. Destroy and retry, or wait an hour.`
    )
  }
  return `${base} The setup log is ${log} on the droplet.`
}
