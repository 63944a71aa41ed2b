// Desktop images (SPEC §10): a builder droplet runs the install half of the recipe, reports `done`
// through the beacon, is shut down, snapshotted and deleted. Every step is written to the image record
// before it is waited for, so any Dictumal process (the app, a waiting CLI, reconcile) finishes a build
// another one started, or cleans up after it: no builder droplet, no half-made snapshot is left billing.
import { randomUUID } from 'node:crypto'
import type { DeployPlanView, DesktopImage, ImageStage } from '../../../preload/contract'
import type { ImageChoice } from '../config'
import type { CloudAction, CloudSnapshot, CreateDropletInput, DeleteOutcome, DropletActionRequest, Droplet, Env } from '../digitalocean'
import { publicIpv4 } from '../digitalocean'
import { fetchBeacon } from '../engine/probes'
import { log } from '../log'
import { buildBakeUserData, describeBeaconFailure, RECIPE_VERSION, type Beacon } from '../recipe'
import { resumeAction, snapshotDroplet, SnapshotStepError, stopDroplet, type PendingStop } from '../snapshots/steps'
import { DRIVER_STALE_MS, driverAlive } from '../snapshots/driver-lease'
import type { StoreData } from '../store'
import { AppError } from '../user-error'
import { builderName, builderTag, builderTagKey, IMAGE_TAG, imageIdFromTags, snapshotNameFor } from './names'
import { estimates, pushSample, stepDurations } from './timings'

export const OWNERSHIP_TAG = 'dictumal'

export const IMAGE_STAGE_PERCENT: Readonly<Record<ImageStage, number>> = {
  'creating-builder': 5,
  'waiting-for-ip': 10,
  installing: 15,
  stopping: 72,
  snapshotting: 80,
  'deleting-builder': 95,
  ready: 100,
}

/** What the builder asks of DigitalOcean (main/core/digitalocean's client implements it). */
export interface ImageCloudPort {
  createDroplet(input: CreateDropletInput): Promise<Droplet>
  getDroplet(id: number): Promise<Droplet | null>
  listDropletsByTag(tag: string): Promise<Droplet[]>
  deleteDroplet(id: number): Promise<DeleteOutcome>
  dropletAction(dropletId: number, action: DropletActionRequest): Promise<CloudAction>
  getAction(actionId: number): Promise<CloudAction>
  listDropletSnapshots(dropletId: number): Promise<CloudSnapshot[]>
  listSnapshots(): Promise<CloudSnapshot[]>
  getSnapshot(id: string): Promise<CloudSnapshot | null>
  deleteSnapshot(id: string): Promise<DeleteOutcome>
  transferImage(imageId: number, region: string): Promise<CloudAction>
}

export interface ImageStorePort {
  read(): StoreData
  update<T>(fn: (draft: StoreData) => T): Promise<T>
}

export interface ImageClock {
  now(): number
  sleep(ms: number): Promise<void>
}

export interface ImageServiceOptions {
  store: ImageStorePort
  cloud: ImageCloudPort
  clock?: ImageClock
  /** The distribution image the builder starts from (the same choice a fresh deploy makes). */
  baseImage: () => Promise<string>
  /** True when an image is set explicitly (env or setting): deploys then always go fresh on it. */
  explicitImage: () => boolean
  sshKeys: () => string[]
  /** The beacon of a builder (tests may script it); default: GET http://IP/dictumal/status.json. */
  beacon?: (ip: string) => Promise<Beacon | null>
  /** Builder size; the snapshot's minimum disk follows it, so the smallest usable one. */
  builderSize?: string
  /** How often a waiting step asks again. */
  pollMs?: number
  /** A build that is not READY within this long fails (and is cleaned up). */
  buildTimeoutMs?: number
  /** A create whose outcome was uncertain is given this long to show up under its tag. */
  createGraceMs?: number
  /** Passed to the shutdown step: power_off after this long. */
  powerOffAfterMs?: number
  /** Whether a process is alive (default: signal 0); a dead driver's build is taken over at once. */
  processAlive?: (pid: number) => boolean
  pid?: number
  /** Store change notifications, so start() sees a build another process left at once. */
  onStoreChange?: (listener: () => void) => () => void
}

export type ImageFinding = {
  kind: 'image-resumed' | 'image-cleaned-up' | 'builder-deleted' | 'image-gone'
  imageId: string | null
  dropletId: number | null
  name: string
}

/** A step that cannot succeed: the build goes to ERROR after its cloud resources are removed. */
class BuildFailed extends Error {}

const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/
const HEARTBEAT_MS = 5_000
const CLEANUP_PENDING = ' Dictumal could not yet delete the builder droplet; it tries again at the next start or "dictumal reconcile".'
/** A builder with no record is deleted once it is older than any build may take (another install may own it). */
const ORPHAN_BUILDER_AGE_MS = 90 * 60_000
/** The beacon steps a builder walks in bake mode (the install half), in order: they drive the build's percent. */
export const BAKE_STEPS: readonly string[] = ['boot', 'configure-firewall', 'install-docker', 'install-packages', 'pull-images', 'done']

const systemClock: ImageClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

async function defaultBeacon(ip: string): Promise<Beacon | null> {
  return (await fetchBeacon(ip)).beacon
}

export function isNothingCreated(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { nothingCreated?: unknown }).nothingCreated === true
}

export class ImageService {
  private readonly store: ImageStorePort
  private readonly cloud: ImageCloudPort
  private readonly clock: ImageClock
  private readonly options: ImageServiceOptions
  private readonly pid: number
  private readonly driving = new Map<string, Promise<void>>()
  private readonly transferring = new Map<string, Promise<void>>()
  private readonly cancelled = new Set<string>()
  /** When this process first saw each build in each stage, for the measured step times. */
  private readonly stageSeen = new Map<string, Partial<Record<ImageStage, number>>>()
  private stopped = false

  constructor(options: ImageServiceOptions) {
    this.options = options
    this.store = options.store
    this.cloud = options.cloud
    this.clock = options.clock ?? systemClock
    this.pid = options.pid ?? process.pid
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString()
  }

  private get pollMs(): number {
    return this.options.pollMs ?? 5_000
  }

  // ---------- queries ----------

  list(): DesktopImage[] {
    return [...this.store.read().images].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(copy)
  }

  /** An image by full id or any unique prefix. */
  find(idOrPrefix: string): DesktopImage {
    const wanted = idOrPrefix.trim().toLowerCase()
    if (wanted === '') throw new AppError('image-not-found', 'Give an image ID (or the start of one).')
    const images = this.store.read().images
    const exact = images.find((i) => i.id === wanted)
    if (exact) return copy(exact)
    const matches = images.filter((i) => i.id.startsWith(wanted))
    const [only] = matches
    if (matches.length === 1 && only) return copy(only)
    if (matches.length === 0) throw new AppError('image-not-found', `No desktop image has an ID starting with "${wanted}".`)
    throw new AppError('image-ambiguous', `"${wanted}" matches ${matches.length} images (${matches.map((i) => i.id.slice(0, 8)).join(', ')}); give more characters.`)
  }

  /** The newest READY image of the current recipe version available in this region. */
  newestReady(region: string): DesktopImage | null {
    const ready = this.list().filter((i) => i.status === 'READY' && i.recipeVersion === RECIPE_VERSION && i.snapshotId !== null)
    return ready.find((i) => i.regions.includes(region)) ?? null
  }

  /**
   * What a deploy in this region will start from: the newest READY image of this recipe version,
   * unless an image is set explicitly or a fresh install was asked for.
   */
  async launchPlan(input: { region: string; fresh: boolean }): Promise<{ image: string | number; fastStart: boolean; userDataMode: 'full' | 'personalise' }> {
    const view = this.planView(input)
    if (view.path === 'image' && view.image) return { image: Number(view.image.snapshotId), fastStart: true, userDataMode: 'personalise' }
    return { image: await this.options.baseImage(), fastStart: false, userDataMode: 'full' }
  }

  planView(input: { region: string; fresh: boolean }): DeployPlanView {
    const current = this.list().filter((i) => i.recipeVersion === RECIPE_VERSION && i.status !== 'ERROR')
    const ready = this.newestReady(input.region)
    const elsewhere = ready ? null : (current.find((i) => i.status === 'READY' && i.regions.length > 0) ?? null)
    const base = {
      elsewhere: elsewhere ? { id: elsewhere.id, name: elsewhere.name, regions: [...elsewhere.regions] } : null,
      anyImage: current.length > 0,
      estimates: estimates(this.store.read().timings),
    }
    if (this.options.explicitImage()) return { ...base, path: 'fresh', reason: 'explicit-image', image: null }
    if (input.fresh) return { ...base, path: 'fresh', reason: 'fresh-requested', image: null }
    if (!ready || ready.snapshotId === null) return { ...base, path: 'fresh', reason: 'no-ready-image', image: null }
    return { ...base, path: 'image', reason: 'newest-ready-image', image: { id: ready.id, name: ready.name, snapshotId: ready.snapshotId } }
  }

  // ---------- build ----------

  /** Writes the record, then drives the build in the background; resolves once the builder create is sent. */
  async build(input: { region: string }): Promise<DesktopImage> {
    const region = input.region.trim()
    if (!SLUG.test(region)) throw new AppError('invalid-region', `"${input.region}" is not a DigitalOcean region slug (like nyc3).`)
    const id = randomUUID()
    const now = this.nowIso()
    const record: DesktopImage = {
      id,
      snapshotId: null,
      name: snapshotNameFor(RECIPE_VERSION, new Date(this.clock.now())),
      recipeVersion: RECIPE_VERSION,
      regions: [],
      sizeGigabytes: null,
      status: 'BUILDING',
      stage: 'creating-builder',
      percent: IMAGE_STAGE_PERCENT['creating-builder'],
      error: null,
      createdAt: now,
      updatedAt: now,
      region,
      size: this.options.builderSize ?? 's-2vcpu-4gb',
      builderDropletId: null,
      builderIp: null,
      pendingAction: null,
      transfers: [],
      driver: { pid: this.pid, heartbeatAt: now },
    }
    // The record exists before DigitalOcean is asked, so a crash right after the create finds the builder by its tag.
    await this.store.update((draft) => {
      draft.images.push(record)
    })
    // The first step runs here so that a refused create (bad region, droplet limit) is the caller's error.
    try {
      await this.createBuilder(record, { fresh: true })
    } catch (error) {
      if (isNothingCreated(error) || error instanceof BuildFailed) {
        await this.store.update((draft) => {
          draft.images = draft.images.filter((i) => i.id !== id)
        })
        throw error instanceof BuildFailed ? new AppError('image-build-failed', error.message) : error
      }
      log.warn('images', `builder create for ${id.slice(0, 8)} is unconfirmed; its tag decides`, error)
    }
    void this.drive(id)
    return this.find(id)
  }

  /** Drives a BUILDING image until it settles, unless another live process already does. */
  drive(id: string): Promise<void> {
    const running = this.driving.get(id)
    if (running) return running
    const run = this.runDrive(id).finally(() => this.driving.delete(id))
    this.driving.set(id, run)
    return run
  }

  /** Resolves when the image is READY or ERROR (whoever drives it). */
  async settled(id: string): Promise<DesktopImage> {
    for (;;) {
      const record = this.store.read().images.find((i) => i.id === id)
      if (!record) throw new AppError('image-not-found', 'That desktop image was deleted.')
      if (record.status !== 'BUILDING') return copy(record)
      // Another live process may be driving it: then only watch, and take over if it dies.
      if (!this.driving.has(id) && !this.drivenElsewhere(record)) void this.drive(id)
      await this.clock.sleep(Math.min(this.pollMs, 500))
    }
  }

  private async runDrive(id: string): Promise<void> {
    if (!(await this.claim(id))) return
    const beat = setInterval(() => {
      // A stopped service no longer vouches for the build, even if a step of it still hangs.
      if (this.stopped) {
        clearInterval(beat)
        return
      }
      void this.heartbeat(id).catch((error: unknown) => log.warn('images', 'heartbeat failed', error))
    }, HEARTBEAT_MS)
    beat.unref()
    try {
      for (;;) {
        if (this.stopped || this.cancelled.has(id)) return
        const record = this.store.read().images.find((i) => i.id === id)
        if (!record || record.status !== 'BUILDING' || record.driver?.pid !== this.pid) return
        this.noteStage(record)
        try {
          const age = this.clock.now() - Date.parse(record.createdAt)
          const limit = this.options.buildTimeoutMs ?? 45 * 60_000
          if (age > limit && record.stage !== 'deleting-builder') {
            throw new BuildFailed(`The image build did not finish within ${Math.round(limit / 60_000)} minutes, so it was stopped and its builder deleted.`)
          }
          await this.step(record)
        } catch (error) {
          if (error instanceof BuildFailed) {
            await this.fail(id, error.message)
            return
          }
          // DigitalOcean unreachable, 5xx after retries, 429: the step is asked again; the timeout bounds it.
          log.warn('images', `build ${id.slice(0, 8)} step ${record.stage} failed; trying again`, error)
          await this.clock.sleep(this.pollMs)
        }
      }
    } finally {
      clearInterval(beat)
      await this.store
        .update((draft) => {
          const r = draft.images.find((i) => i.id === id)
          if (r && r.driver?.pid === this.pid) r.driver = null
        })
        .catch(() => {})
    }
  }

  private drivenElsewhere(r: DesktopImage): boolean {
    return r.driver !== null && r.driver.pid !== this.pid && this.driverAlive(r.driver)
  }

  private driverAlive(driver: DesktopImage['driver']): boolean {
    return driverAlive(driver, this.clock.now(), this.options.processAlive)
  }

  private claim(id: string): Promise<boolean> {
    const now = this.nowIso()
    return this.store.update((draft) => {
      const r = draft.images.find((i) => i.id === id)
      if (!r || r.status !== 'BUILDING') return false
      if (r.driver !== null && r.driver.pid !== this.pid && this.driverAlive(r.driver)) return false
      r.driver = { pid: this.pid, heartbeatAt: now }
      return true
    })
  }

  private heartbeat(id: string): Promise<void> {
    const now = this.nowIso()
    return this.store.update((draft) => {
      const r = draft.images.find((i) => i.id === id)
      if (r && r.driver?.pid === this.pid) r.driver = { pid: this.pid, heartbeatAt: now }
    })
  }

  private async patch(id: string, fn: (r: DesktopImage) => Partial<DesktopImage>): Promise<DesktopImage | null> {
    const now = this.nowIso()
    return this.store.update((draft) => {
      const index = draft.images.findIndex((i) => i.id === id)
      const current = draft.images[index]
      if (current === undefined) return null
      const change = fn(current)
      const next: DesktopImage = { ...current, ...change, id: current.id, updatedAt: now }
      // Percent never goes backwards within a build.
      if (next.status === 'BUILDING') next.percent = Math.max(current.percent, next.percent)
      draft.images[index] = next
      return copy(next)
    })
  }

  private toStage(stage: ImageStage, extra: Partial<DesktopImage> = {}): (r: DesktopImage) => Partial<DesktopImage> {
    return () => ({ stage, percent: IMAGE_STAGE_PERCENT[stage], ...extra })
  }

  /** One step of the build from what the record says; waiting steps sleep before they return. */
  private async step(r: DesktopImage): Promise<void> {
    switch (r.stage) {
      case 'creating-builder':
        return this.createBuilder(r, { fresh: false })
      case 'waiting-for-ip':
        return this.waitForIp(r)
      case 'installing':
        return this.waitForBake(r)
      case 'stopping':
        return this.stopBuilder(r)
      case 'snapshotting':
        return this.takeSnapshot(r)
      case 'deleting-builder':
        return this.deleteBuilder(r)
      case 'ready':
        await this.patch(r.id, () => ({ status: 'READY', driver: null }))
        return
    }
  }

  private async createBuilder(r: DesktopImage, { fresh }: { fresh: boolean }): Promise<void> {
    if (r.builderDropletId !== null) {
      await this.patch(r.id, this.toStage('waiting-for-ip'))
      return
    }
    if (!fresh) {
      // A create may have been sent before a crash: its tag decides, and a second builder is never made blindly.
      const [found] = await this.cloud.listDropletsByTag(builderTag(r.id))
      if (found) {
        await this.patch(r.id, this.toStage('waiting-for-ip', { builderDropletId: found.id }))
        return
      }
      if (this.clock.now() - Date.parse(r.updatedAt) < (this.options.createGraceMs ?? 120_000)) {
        await this.clock.sleep(this.pollMs)
        return
      }
    }
    const droplet = await this.cloud.createDroplet({
      deploymentId: builderTagKey(r.id),
      name: builderName(r.id),
      region: r.region,
      size: r.size,
      image: await this.options.baseImage(),
      userData: buildBakeUserData(),
      sshKeys: this.options.sshKeys(),
      tags: [OWNERSHIP_TAG, IMAGE_TAG, builderTag(r.id)],
    })
    await this.patch(r.id, this.toStage('waiting-for-ip', { builderDropletId: droplet.id }))
  }

  private async builder(r: DesktopImage): Promise<Droplet> {
    if (r.builderDropletId === null) throw new BuildFailed('The image record lost its builder droplet.')
    const droplet = await this.cloud.getDroplet(r.builderDropletId)
    if (!droplet) throw new BuildFailed('The builder droplet was deleted outside Dictumal, so the image could not be made.')
    return droplet
  }

  private async waitForIp(r: DesktopImage): Promise<void> {
    const droplet = await this.builder(r)
    const ip = publicIpv4(droplet)
    if (droplet.status === 'active' && ip !== null) {
      await this.patch(r.id, this.toStage('installing', { builderIp: ip }))
      return
    }
    await this.clock.sleep(this.pollMs)
  }

  private async waitForBake(r: DesktopImage): Promise<void> {
    if (r.builderIp === null) {
      await this.patch(r.id, this.toStage('waiting-for-ip'))
      return
    }
    const beacon = await (this.options.beacon ?? defaultBeacon)(r.builderIp).catch(() => null)
    if (beacon?.failed) throw new BuildFailed(`${describeBeaconFailure(beacon.failed)} The builder droplet was deleted.`)
    if (beacon?.step === 'done') {
      await this.patch(r.id, this.toStage('stopping', { pendingAction: null }))
      return
    }
    if (beacon) {
      const index = Math.max(0, BAKE_STEPS.indexOf(beacon.step))
      const span = IMAGE_STAGE_PERCENT.stopping - IMAGE_STAGE_PERCENT.installing
      const percent = IMAGE_STAGE_PERCENT.installing + Math.floor((span * index) / Math.max(1, BAKE_STEPS.length - 1))
      if (percent > r.percent) await this.patch(r.id, () => ({ percent }))
    } else if (this.clock.now() - Date.parse(r.updatedAt) > 60_000) {
      // No beacon for a while: make sure the builder still exists, so a deleted one fails now, not at the timeout.
      await this.builder(r)
      await this.patch(r.id, () => ({}))
    }
    await this.clock.sleep(this.pollMs)
  }

  private async stopBuilder(r: DesktopImage): Promise<void> {
    const droplet = await this.builder(r)
    const stored = r.pendingAction
    const pending: PendingStop | null =
      stored !== null && stored.type !== 'snapshot' ? { actionId: stored.id, type: stored.type, startedAt: Date.parse(stored.startedAt) } : null
    try {
      await stopDroplet(this.cloud, droplet.id, {
        onAction: async (p: PendingStop) => {
          await this.patch(r.id, () => ({ pendingAction: { id: p.actionId, type: p.type, startedAt: new Date(p.startedAt).toISOString() } }))
        },
        clock: this.clock,
        pollMs: this.pollMs,
        powerOffAfterMs: this.options.powerOffAfterMs ?? 120_000,
        pending,
      })
    } catch (error) {
      if (error instanceof SnapshotStepError) throw new BuildFailed(`${error.userMessage} The builder droplet was deleted.`)
      throw error
    }
    await this.patch(r.id, this.toStage('snapshotting', { pendingAction: null }))
  }

  private async takeSnapshot(r: DesktopImage): Promise<void> {
    const builderId = r.builderDropletId
    if (builderId === null) throw new BuildFailed('The image record lost its builder droplet.')
    let made: CloudSnapshot
    try {
      // Idempotent by name: a snapshot sent just before a crash (its action id never written) is found, not taken twice.
      made = await snapshotDroplet(this.cloud, builderId, r.name, {
        onAction: async (id: number) => {
          await this.patch(r.id, () => ({ pendingAction: { id, type: 'snapshot', startedAt: this.nowIso() } }))
        },
        clock: this.clock,
        pollMs: this.pollMs,
        pendingActionId: r.pendingAction?.type === 'snapshot' ? r.pendingAction.id : null,
      })
    } catch (error) {
      if (error instanceof SnapshotStepError) throw new BuildFailed(`${error.userMessage} The builder and any partial snapshot were deleted.`)
      throw error
    }
    await this.recordSnapshot(r, made)
  }

  private async recordSnapshot(r: DesktopImage, s: CloudSnapshot): Promise<void> {
    await this.patch(
      r.id,
      this.toStage('deleting-builder', { snapshotId: s.id, regions: [...s.regions], sizeGigabytes: s.sizeGigabytes, pendingAction: null }),
    )
  }

  private async deleteBuilder(r: DesktopImage): Promise<void> {
    if (r.builderDropletId !== null) {
      // Anything else taken from this builder (a retried snapshot) is a leftover, not the image.
      for (const s of await this.snapshotsOf(r.builderDropletId)) if (s.id !== r.snapshotId) await this.cloud.deleteSnapshot(s.id)
    }
    for (const d of await this.cloud.listDropletsByTag(builderTag(r.id))) await this.cloud.deleteDroplet(d.id)
    if (r.builderDropletId !== null) await this.cloud.deleteDroplet(r.builderDropletId)
    const seen = this.stageSeen.get(r.id) ?? {}
    this.stageSeen.delete(r.id)
    const now = this.clock.now()
    // READY and its measured time in one write, so whoever waits for READY sees the time too.
    await this.store.update((draft) => {
      const index = draft.images.findIndex((i) => i.id === r.id)
      const current = draft.images[index]
      if (current === undefined) return
      const at = new Date(now).toISOString()
      draft.images[index] = {
        ...current,
        status: 'READY',
        stage: 'ready',
        percent: 100,
        builderDropletId: null,
        builderIp: null,
        pendingAction: null,
        driver: null,
        updatedAt: at,
      }
      pushSample(draft, { kind: 'build', subjectId: r.id, totalMs: now - Date.parse(current.createdAt), steps: stepDurations(seen, now), at })
    })
  }

  private async snapshotsOf(dropletId: number): Promise<CloudSnapshot[]> {
    // The account-wide list still names snapshots of a builder that is already gone.
    return (await this.cloud.listSnapshots()).filter((s) => s.resourceId === String(dropletId))
  }

  /** Removes the builder and whatever snapshot it made, then marks the build ERROR. */
  private async fail(id: string, message: string): Promise<void> {
    const r = this.store.read().images.find((i) => i.id === id)
    if (!r) return
    try {
      await this.cleanUp(r)
      await this.patch(id, () => ({
        status: 'ERROR',
        error: message,
        snapshotId: null,
        regions: [],
        builderDropletId: null,
        builderIp: null,
        pendingAction: null,
        driver: null,
      }))
    } catch (error) {
      log.warn('images', `cleaning up build ${id.slice(0, 8)} failed; reconcile tries again`, error)
      await this.patch(id, () => ({
        status: 'ERROR',
        error: `${message}${CLEANUP_PENDING}`,
        driver: null,
      }))
    }
  }

  /** Deletes a build's builder droplet(s) and every snapshot taken from them. Safe to repeat. */
  private async cleanUp(r: DesktopImage): Promise<void> {
    if (r.pendingAction?.type === 'snapshot') {
      // A snapshot still being made would appear after we looked: let DigitalOcean finish it first.
      const actionId = r.pendingAction.id
      for (let i = 0; i < 120 && (await resumeAction(this.cloud, actionId)) === 'in-progress'; i++) await this.clock.sleep(this.pollMs)
    }
    const builders = new Set<number>((await this.cloud.listDropletsByTag(builderTag(r.id))).map((d) => d.id))
    if (r.builderDropletId !== null) builders.add(r.builderDropletId)
    for (const dropletId of builders) {
      for (const s of await this.snapshotsOf(dropletId)) await this.cloud.deleteSnapshot(s.id)
    }
    if (r.snapshotId !== null && r.status !== 'READY') await this.cloud.deleteSnapshot(r.snapshotId)
    for (const dropletId of builders) await this.cloud.deleteDroplet(dropletId)
  }

  // ---------- delete, transfer ----------

  /** Deletes an image and its snapshot; a build in progress is stopped and cleaned up first. */
  async delete(idOrPrefix: string): Promise<void> {
    const r = this.find(idOrPrefix)
    if (r.status === 'BUILDING') {
      if (r.driver !== null && r.driver.pid !== this.pid && this.driverAlive(r.driver)) {
        throw new AppError('image-busy', `Image ${r.id.slice(0, 8)} is being built by another Dictumal process (pid ${r.driver.pid}); delete it there, or once it has finished.`)
      }
      this.cancelled.add(r.id)
      await this.driving.get(r.id)
    }
    const current = this.find(r.id)
    if (current.status === 'READY' && current.snapshotId !== null) await this.cloud.deleteSnapshot(current.snapshotId)
    else await this.cleanUp(current)
    await this.store.update((draft) => {
      draft.images = draft.images.filter((i) => i.id !== r.id)
    })
    this.cancelled.delete(r.id)
  }

  /** Copies a READY image to another region (DigitalOcean's image transfer); `regions` grows when it completes. */
  async copyToRegion(idOrPrefix: string, region: string): Promise<DesktopImage> {
    const r = this.find(idOrPrefix)
    const target = region.trim()
    if (!SLUG.test(target)) throw new AppError('invalid-region', `"${region}" is not a DigitalOcean region slug (like nyc3).`)
    if (r.status !== 'READY' || r.snapshotId === null) throw new AppError('image-not-ready', `Image ${r.id.slice(0, 8)} is not ready yet; copy it once it is.`)
    if (r.regions.includes(target) || r.transfers.some((t) => t.region === target)) return r
    const action = await this.cloud.transferImage(Number(r.snapshotId), target)
    const updated = await this.patch(r.id, (cur) => ({ transfers: [...cur.transfers, { region: target, actionId: action.id }] }))
    void this.followTransfers(r.id)
    return updated ?? this.find(r.id)
  }

  /** Waits for an image's transfers to finish, adding each region as it becomes usable. */
  followTransfers(id: string): Promise<void> {
    const running = this.transferring.get(id)
    if (running) return running
    const run = (async () => {
      for (;;) {
        if (this.stopped) return
        const r = this.store.read().images.find((i) => i.id === id)
        if (!r || r.transfers.length === 0) return
        for (const t of r.transfers) {
          try {
            const state = await resumeAction(this.cloud, t.actionId)
            if (state === 'in-progress') continue
            await this.patch(id, (cur) => ({
              transfers: cur.transfers.filter((x) => x.actionId !== t.actionId),
              regions: state === 'completed' && !cur.regions.includes(t.region) ? [...cur.regions, t.region] : cur.regions,
              error: state === 'errored' ? `Copying the image to ${t.region} failed at DigitalOcean; try again.` : cur.error,
            }))
          } catch (error) {
            log.warn('images', `transfer of ${id.slice(0, 8)} to ${t.region}: asking again`, error)
          }
        }
        await this.clock.sleep(this.pollMs)
      }
    })().finally(() => this.transferring.delete(id))
    this.transferring.set(id, run)
    return run
  }

  // ---------- reconcile ----------

  /**
   * After a crash: resumes builds nobody drives, finishes the clean-up of failed ones, deletes builder
   * droplets no live build owns, follows unfinished transfers, and notices snapshots deleted elsewhere.
   */
  async reconcile(): Promise<ImageFinding[]> {
    const findings: ImageFinding[] = []
    for (const r of this.store.read().images) {
      if (r.status === 'BUILDING' && !this.driving.has(r.id) && (r.driver === null || r.driver.pid === this.pid || !this.driverAlive(r.driver))) {
        findings.push({ kind: 'image-resumed', imageId: r.id, dropletId: r.builderDropletId, name: r.name })
        void this.drive(r.id)
      } else if (r.status === 'ERROR' && r.builderDropletId !== null) {
        await this.cleanUp(r)
        await this.patch(r.id, (cur) => ({
          builderDropletId: null,
          builderIp: null,
          pendingAction: null,
          snapshotId: null,
          regions: [],
          error: cur.error?.replace(CLEANUP_PENDING, '') ?? null,
        }))
        findings.push({ kind: 'image-cleaned-up', imageId: r.id, dropletId: r.builderDropletId, name: r.name })
      } else if (r.status === 'READY' && r.transfers.length > 0) {
        void this.followTransfers(r.id)
      }
    }

    const images = this.store.read().images
    for (const droplet of await this.cloud.listDropletsByTag(IMAGE_TAG)) {
      const imageId = imageIdFromTags(droplet.tags)
      const record = imageId === null ? undefined : images.find((i) => i.id === imageId)
      if (record?.status === 'BUILDING') continue
      if (!record && this.clock.now() - Date.parse(droplet.created_at) < ORPHAN_BUILDER_AGE_MS) continue
      for (const s of await this.snapshotsOf(droplet.id)) if (s.id !== record?.snapshotId) await this.cloud.deleteSnapshot(s.id)
      await this.cloud.deleteDroplet(droplet.id)
      findings.push({ kind: 'builder-deleted', imageId, dropletId: droplet.id, name: droplet.name })
    }

    const ready = this.store.read().images.filter((i) => i.status === 'READY' && i.snapshotId !== null)
    if (ready.length > 0) {
      const snapshots = new Map((await this.cloud.listSnapshots()).map((s) => [s.id, s]))
      for (const r of ready) {
        const s = snapshots.get(r.snapshotId ?? '')
        if (!s) {
          await this.patch(r.id, () => ({ status: 'ERROR', error: 'The snapshot was deleted outside Dictumal.', snapshotId: null, regions: [] }))
          findings.push({ kind: 'image-gone', imageId: r.id, dropletId: null, name: r.name })
        } else if (s.regions.some((region) => !r.regions.includes(region))) {
          await this.patch(r.id, () => ({ regions: [...s.regions] }))
        }
      }
    }
    return findings
  }

  /**
   * For a long-running process (the app): takes over any build or copy that no live process drives,
   * e.g. one a CLI started without --wait, as soon as the store shows it. Returns the stop function.
   */
  start(): () => void {
    const check = (): void => {
      if (this.stopped) return
      for (const r of this.store.read().images) {
        if (r.status === 'BUILDING' && !this.driving.has(r.id) && !this.cancelled.has(r.id) && (r.driver === null || r.driver.pid === this.pid || !this.driverAlive(r.driver))) {
          void this.drive(r.id)
        } else if (r.status === 'READY' && r.transfers.length > 0 && !this.transferring.has(r.id)) {
          void this.followTransfers(r.id)
        }
      }
    }
    const off = this.options.onStoreChange?.(check) ?? (() => {})
    // A driver that died silently is noticed once its heartbeat is stale, without any store change.
    const timer = setInterval(check, DRIVER_STALE_MS)
    timer.unref()
    check()
    return () => {
      off()
      clearInterval(timer)
    }
  }

  /** Stops driving (the records stay as they are: the next process resumes them). */
  async stop(): Promise<void> {
    this.stopped = true
    await Promise.allSettled([...this.driving.values(), ...this.transferring.values()])
  }

  // ---------- measured times ----------

  private noteStage(r: DesktopImage): void {
    const seen = this.stageSeen.get(r.id) ?? {}
    if (seen[r.stage] === undefined) seen[r.stage] = this.clock.now()
    this.stageSeen.set(r.id, seen)
  }
}

function copy(r: DesktopImage): DesktopImage {
  return structuredClone(r) as DesktopImage
}


/** An image slug set in the environment or Settings: deploys then go fresh on exactly that image. */
export function isExplicitImage(choice: ImageChoice): boolean {
  return choice.kind === 'slug' && choice.source !== 'default'
}

/** DICTUMAL_IMAGE_POLL_MS: how often a build asks again (tests and the boot rehearsal run it fast). */
export function imageOptionsFromEnv(env: Env): Partial<ImageServiceOptions> {
  const poll = Number(env.DICTUMAL_IMAGE_POLL_MS?.trim() ?? '')
  return Number.isFinite(poll) && poll > 0 ? { pollMs: poll } : {}
}
