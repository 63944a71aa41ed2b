// The deployment engine: from "Deploy" to a usable desktop, crash-safe. It writes the record before
// asking DigitalOcean for anything, watches every in-progress deployment with short concurrent
// probes, asks DigitalOcean only while a droplet is not active or has no IP (one tagged listing for
// many), and moves records through the stages of SPEC §2. All state lives in the store, so any
// running engine (the app, a waiting CLI) advances the same deployments and sees the others' work.
import { randomUUID } from 'node:crypto'
import type { Deployment, UnmanagedDroplet } from '../../../preload/contract'
import { generateDeploymentCertificate } from '../certificate'
import { generateDeploymentSecrets, type DeploymentSecrets } from '../deployment-secrets'
import type { StoreData } from '../store'
import { deploymentTag, publicIpv4, type CreateDropletInput, type DeleteOutcome, type Droplet } from '../digitalocean'
import { checkedSshKeys } from '../digitalocean/config'
import { buildLaunchUrl, mintLaunchToken } from '../guacamole-token'
import { IMAGE_TAG } from '../images/names'
import { log } from '../log'
import { buildUserData, dropletNameFor } from '../recipe'
import { failureInWords } from './setup-progress'
import { WriteCoalescer } from '../store/coalesce'
import { findDeploymentByPrefix } from '../store/records'
import { isHibernationStatus, provisioningStartedAt } from '../hibernation/lifecycle'
import { AppError } from '../user-error'
import { nextDisplayName } from '../display-name'
import {
  advance,
  failed,
  isInProgress,
  mergeProgress,
  NO_CHECKS,
  STAGE_PERCENT,
  type Observation,
} from './progress'
import { LiveBoard, troubleSentence } from './live-notes'
import { DEFAULT_PROBE_TIMING, nextProbeDelay, remember, type ProbeMemory, type ProbeSight, type ProbeTiming } from './probe-schedule'
import { NetworkProber, type ProbeResult, type ProberPort } from './network-prober'
import { fetchSetupLog, type SetupLogOptions, type SetupLogTail } from './setup-log'

export { NetworkProber, type ProbeResult, type ProberPort }

export const OWNERSHIP_TAG = 'dictumal'
const DELETED_ELSEWHERE = 'The droplet was deleted outside Dictumal.'
export const INIT_LOG = '/var/log/dictumal-init.log'

export interface EngineClock {
  now(): number
}

/** The store as the engine needs it (main/core/store implements it). */
export interface StorePort {
  /** A frozen snapshot: a new object whenever the data changed (the engine caches what it derives from one). */
  read(): StoreData
  update<T>(fn: (draft: StoreData) => T): Promise<T>
}

/** What the keychain keeps per deployment: the secrets, and the pin so a lost record can be adopted. */
export type StoredDeploymentSecrets = DeploymentSecrets & { certFingerprint?: string; certificate?: { certPem: string; keyPem: string } }

export interface SecretsPort {
  getDeploymentSecrets(id: string): Promise<StoredDeploymentSecrets | null>
  setDeploymentSecrets(id: string, secrets: StoredDeploymentSecrets): Promise<void>
  deleteDeploymentSecrets(id: string): Promise<unknown>
}

export interface CloudPort {
  createDroplet(input: CreateDropletInput): Promise<Droplet>
  getDroplet(id: number): Promise<Droplet | null>
  listDropletsByTag(tag: string): Promise<Droplet[]>
  deleteDroplet(id: number): Promise<DeleteOutcome>
  /** Destroying a hibernated (or resuming) deployment deletes its snapshot too. */
  deleteSnapshot?(id: string): Promise<DeleteOutcome>
}

export interface EngineOptions {
  store: StorePort
  secrets: SecretsPort
  cloud: CloudPort
  /** For the watch loop's look-ups: a client that gives up quickly, so one slow call holds nothing up. */
  watchCloud?: Pick<CloudPort, 'getDroplet' | 'listDropletsByTag'>
  clock?: EngineClock
  prober?: ProberPort
  /** The image for new droplets (env / settings / discovery), asked at each create. */
  imageSlug: () => Promise<string>
  /** Chooses between a desktop image and a fresh install (main/core/images); without it, always fresh. */
  launchPlan?: (input: { region: string; fresh: boolean }) => Promise<{ image: string | number; fastStart: boolean; userDataMode: 'full' | 'personalise' }>
  /** SSH key ids or fingerprints for new droplets. */
  sshKeys: () => string[]
  /** Preferred launch host; blank means the droplet IP. */
  gatewayHost: () => string
  provisioningTimeoutMs?: number
  configuringTimeoutMs?: number
  /**
   * The loop's steady beat (hibernation hook, deployments not reachable yet), and the longest pause between
   * two probes of one droplet; probes themselves adapt (probeTiming) and are usually sooner near the gateway.
   */
  probeIntervalMs?: number
  /** Adaptive probe timing (main/core/engine/probe-schedule.ts); defaults to DEFAULT_PROBE_TIMING. */
  probeTiming?: Partial<ProbeTiming>
  /** First and longest pause between DigitalOcean look-ups for one deployment. */
  cloudIntervalMs?: { first: number; max: number }
  /** A PROVISIONING record without a droplet id is given this long for its create to land. */
  createGraceMs?: number
  /** Runs at the start of every round: hibernation drives HIBERNATING records from here (main/core/hibernation). */
  onTick?: () => Promise<void>
  /** Each beacon answer while a deployment sets up (setup-progress.ts: the step shown and measured). */
  onBeacon?: (d: Deployment, beacon: NonNullable<ProbeResult['beacon']>) => void
}

export type ReconcileFinding = {
  kind: 'resumed' | 'destroyed-elsewhere' | 'unmanaged'
  deploymentId: string | null
  dropletId: number | null
  name: string
}

interface Watch {
  nextCloudAt: number
  cloudDelayMs: number
  dropletActive: boolean
  configuringSince: number | null
  /** When the provisioning clock started: the record's creation, or an adoption. */
  provisioningSince: number | null
  /** A look-up or probe of this deployment is under way. */
  busy: boolean
  /** This deployment's own due time for its next look. */
  nextObserveAt: number
  sight: ProbeSight | null
  memory: ProbeMemory | null
  /** The latest change handed to the writer and not yet known to be on disk. */
  unwritten: Deployment | null
}

const systemClock: EngineClock = { now: () => Date.now() }
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/

export function timeoutMessage(kind: 'provisioning' | 'configuring', minutes: number, ip: string | null): string {
  if (kind === 'provisioning') {
    return `DigitalOcean did not finish creating the droplet within ${minutes} minutes. The droplet may still cost money until you destroy it.`
  }
  const where = ip ? ` (ssh root@${ip})` : ''
  return `The desktop did not finish setting up within ${minutes} minutes. See ${INIT_LOG} on the droplet${where}; the droplet still costs money until you destroy it.`
}

export function stepFailedMessage(failedStep: ProbeResult['failedStep'] & object): string {
  return `${failureInWords(failedStep, INIT_LOG)} The droplet still costs money until you destroy it.`
}

export class Engine {
  private readonly store: StorePort
  private readonly secrets: SecretsPort
  private readonly cloud: CloudPort
  private readonly watchCloud: Pick<CloudPort, 'getDroplet' | 'listDropletsByTag'>
  private readonly clock: EngineClock
  private readonly prober: ProberPort
  private readonly options: EngineOptions
  private readonly watches = new Map<string, Watch>()
  private readonly creating = new Map<string, Promise<unknown>>()
  private readonly secretsCache = new Map<string, StoredDeploymentSecrets>()
  private unmanagedList: UnmanagedDroplet[] = []
  private readonly unmanagedListeners = new Set<(list: UnmanagedDroplet[]) => void>()
  private timer: NodeJS.Timeout | null = null
  private wakeAt = 0
  private ticking: Promise<void> | null = null
  private stopped = true
  /** The engine's own writes: the changes of one turn (many deployments) go to disk as one locked write. */
  private readonly writes: WriteCoalescer
  /** Notes for the cards that are not worth a write: DigitalOcean trouble during a deploy (live-notes.ts). */
  readonly live = new LiveBoard()
  private readonly inFlight = new Set<Promise<void>>()
  private cloudBusy = false
  private hookRunning: Promise<void> | null = null
  private nextHookAt = 0
  private inProgressOf: { data: StoreData; records: Deployment[] } | null = null

  constructor(options: EngineOptions) {
    this.options = options
    this.store = options.store
    this.secrets = options.secrets
    this.cloud = options.cloud
    this.watchCloud = options.watchCloud ?? options.cloud
    this.clock = options.clock ?? systemClock
    this.prober = options.prober ?? new NetworkProber()
    this.writes = new WriteCoalescer(options.store)
  }

  private get provisioningTimeoutMs(): number {
    return this.options.provisioningTimeoutMs ?? 600_000
  }

  private get configuringTimeoutMs(): number {
    return this.options.configuringTimeoutMs ?? 1_200_000
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString()
  }

  // ---------- queries ----------

  list(): Deployment[] {
    return this.store.read().deployments.map((d) => ({ ...d, checks: { ...d.checks } }))
  }

  /** A deployment by full id or any unique prefix. */
  find(idOrPrefix: string): Deployment {
    const found = findDeploymentByPrefix(this.store.read(), idOrPrefix)
    if (!found.ok) throw new AppError(found.error.code, found.error.message, found.error.hint)
    return { ...found.value, checks: { ...found.value.checks } }
  }

  unmanaged(): UnmanagedDroplet[] {
    return this.unmanagedList.map((u) => ({ ...u }))
  }

  onUnmanagedChange(listener: (list: UnmanagedDroplet[]) => void): () => void {
    this.unmanagedListeners.add(listener)
    return () => this.unmanagedListeners.delete(listener)
  }

  private setUnmanaged(list: UnmanagedDroplet[]): void {
    this.unmanagedList = list
    for (const listener of this.unmanagedListeners) listener(this.unmanaged())
  }

  // ---------- create ----------

  /** `sshKeys`: this deploy's choice (the deploy dialog); without it, Settings' keys (or DIGITALOCEAN_SSH_KEYS). */
  async create(input: { constitutionId: string; region: string; size: string; fresh?: boolean; sshKeys?: string[] }): Promise<Deployment> {
    const region = input.region.trim()
    const size = input.size.trim()
    if (!SLUG.test(region)) throw new AppError('invalid-region', `"${input.region}" is not a DigitalOcean region slug (like nyc3).`)
    if (!SLUG.test(size)) throw new AppError('invalid-size', `"${input.size}" is not a DigitalOcean size slug (like s-2vcpu-4gb).`)
    const constitution = this.store.read().constitutions.find((c) => c.id === input.constitutionId)
    if (!constitution) throw new AppError('constitution-missing', 'That constitution no longer exists; pick another one.')

    const id = randomUUID()
    const secrets = generateDeploymentSecrets()
    const certificate = await generateDeploymentCertificate({ deploymentId: id, now: new Date(this.clock.now()) })
    // A desktop image (main/core/images) skips the install half: only personalising runs on the droplet.
    const plan = this.options.launchPlan
      ? await this.options.launchPlan({ region, fresh: input.fresh === true })
      : { image: await this.options.imageSlug(), fastStart: false, userDataMode: 'full' as const }
    const image = plan.image
    // DigitalOcean key ids or fingerprints (checked, else a sentence): they go to DigitalOcean only, which puts
    // the keys in root's authorized_keys; the droplet's setup copies them from there, so not into the user data.
    // Settings' keys (or DIGITALOCEAN_SSH_KEYS) are checked too, for their number: before anything is stored.
    const sshKeys = input.sshKeys !== undefined ? checkedSshKeys(input.sshKeys, 'this deploy') : checkedSshKeys(this.options.sshKeys(), 'your SSH key settings')
    const name = dropletNameFor(constitution.name, id)
    // Throws a sentence naming the constitution when the user data would pass 64 KiB.
    const userData = buildUserData(
      {
        deploymentId: id,
        constitution: { name: constitution.name, body: constitution.body },
        secrets,
        certificate: { certPem: certificate.certPem, keyPem: certificate.keyPem },
      },
      { mode: plan.userDataMode },
    )

    // Keychain first: with no keychain nothing is created, and nothing is left that could not be reached.
    const stored: StoredDeploymentSecrets = {
      ...secrets,
      certFingerprint: certificate.fingerprint,
      certificate: { certPem: certificate.certPem, keyPem: certificate.keyPem },
    }
    await this.secrets.setDeploymentSecrets(id, stored)
    this.secretsCache.set(id, stored)

    const now = this.nowIso()
    const record: Deployment = {
      id,
      constitutionId: constitution.id,
      name,
      region,
      size,
      image: String(image),
      dropletId: null,
      ip: null,
      status: 'PROVISIONING',
      stage: 'provisioning-droplet',
      percent: STAGE_PERCENT['provisioning-droplet'],
      checks: { ...NO_CHECKS },
      error: null,
      certFingerprint: certificate.fingerprint,
      createdAt: now,
      updatedAt: now,
      activeAt: null,
      destroyedAt: null,
      fastStart: plan.fastStart,
      snapshotId: null,
      snapshotSizeGigabytes: null,
      hibernatedAt: null,
      hibernation: null,
      // Two desktops from one constitution get distinct names ("Research desk", "Research desk 2").
      displayName: nextDisplayName(constitution.name, this.store.read().deployments),
      // Kept so a resume (and a redeploy) gives the droplet these keys again, "None" included.
      sshKeys: [...sshKeys],
    }
    // The record exists before DigitalOcean is asked, so a crash here is found again by its tag.
    await this.writes.update((draft) => {
      draft.deployments.push(record)
    })

    const creation = this.cloud.createDroplet({
      deploymentId: id,
      name,
      region,
      size,
      image,
      userData,
      sshKeys,
      tags: [OWNERSHIP_TAG, deploymentTag(id)],
    })
    this.creating.set(id, creation.catch(() => {}))
    try {
      const droplet = await creation
      if (this.store.read().deployments.find((d) => d.id === id)?.status === 'DESTROYED') {
        // Destroyed (by another Dictumal process) while DigitalOcean was creating it.
        await this.cloud.deleteDroplet(droplet.id)
        return this.find(id)
      }
      const ip = publicIpv4(droplet)
      await this.patch(id, (d) => ({ ...d, dropletId: droplet.id, ip: d.ip ?? ip, updatedAt: this.nowIso() }))
      this.watch(id).dropletActive = droplet.status === 'active'
      this.kick()
      return this.find(id)
    } catch (error) {
      if (nothingWasCreated(error)) {
        // DigitalOcean refused (bad token, limit, sold out…): nothing exists, so nothing is kept.
        await this.writes.update((draft) => {
          draft.deployments = draft.deployments.filter((d) => d.id !== id)
        })
        await this.forgetSecrets(id)
        throw error
      }
      // Uncertain (the client already looked the tag up and found nothing yet): the record stays and
      // the tag decides. Reporting a failure here would invite a second Deploy, and a second droplet.
      log.warn('engine', `create for ${id.slice(0, 8)} is unconfirmed; watching its tag`, error)
      this.kick()
      return this.find(id)
    } finally {
      this.creating.delete(id)
      this.live.clearCloud(id)
    }
  }

  /**
   * The client is about to retry a droplet create or tag look-up (wired in app-services): every create
   * in flight shows it. A POST retried means DigitalOcean made nothing (429, or no droplet with the tag).
   */
  noteCloudRetry(error: unknown, call: { method: string; path: string }): void {
    if (call.path !== '/v2/droplets') return
    const moment = call.method === 'POST' ? 'creating' : 'unconfirmed'
    for (const id of this.creating.keys()) this.live.setCloud(id, troubleSentence(error, moment), this.nowIso())
  }

  // ---------- destroy ----------

  async destroy(idOrPrefix: string): Promise<Deployment> {
    const record = this.find(idOrPrefix)
    if (record.status === 'DESTROYED') return record
    await this.creating.get(record.id)
    const current = this.find(record.id)
    const dropletIds = current.dropletId !== null ? [current.dropletId] : (await this.cloud.listDropletsByTag(deploymentTag(current.id))).map((d) => d.id)
    for (const dropletId of dropletIds) await this.cloud.deleteDroplet(dropletId)
    if (current.snapshotId !== null) await this.cloud.deleteSnapshot?.(current.snapshotId)
    const now = this.nowIso()
    await this.patch(current.id, (d) => ({ ...d, status: 'DESTROYED', destroyedAt: now, updatedAt: now }), { force: true })
    this.dropWatch(current.id)
    await this.forgetSecrets(current.id)
    this.setUnmanaged(this.unmanagedList.filter((u) => !dropletIds.includes(u.dropletId)))
    return this.find(current.id)
  }

  private async forgetSecrets(id: string): Promise<void> {
    this.secretsCache.delete(id)
    await this.secrets.deleteDeploymentSecrets(id)
  }

  // ---------- launch ----------

  private async secretsFor(id: string): Promise<StoredDeploymentSecrets> {
    const cached = this.secretsCache.get(id)
    if (cached) return cached
    const loaded = await this.secrets.getDeploymentSecrets(id)
    if (!loaded) throw new AppError('secrets-missing', "This desktop's passwords are no longer in the keychain, so Dictumal cannot open it; destroy it and deploy again.")
    this.secretsCache.set(id, loaded)
    return loaded
  }

  /** The tail of the droplet's setup log (setup-log.ts); the log key stays in here. */
  async setupLog(idOrPrefix: string, options?: SetupLogOptions): Promise<SetupLogTail> {
    const d = this.find(idOrPrefix)
    return fetchSetupLog(d, () => this.secretsFor(d.id), options)
  }

  /** A fresh launch URL (token valid 5 minutes). Sensitive: never log it. */
  async launchUrl(idOrPrefix: string, options: { target?: 'ip' } = {}): Promise<string> {
    const d = this.find(idOrPrefix)
    if (d.status !== 'ACTIVE' || d.ip === null) {
      throw new AppError('not-active', `"${d.name}" is ${d.status.toLowerCase()}, not active: it can be opened once it is ACTIVE.`)
    }
    const secrets = await this.secretsFor(d.id)
    const token = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: this.clock.now() })
    const gateway = this.options.gatewayHost().trim()
    const host = options.target === 'ip' || gateway === '' ? d.ip : gateway
    try {
      return buildLaunchUrl(host, token)
    } catch {
      throw new AppError(
        'bad-gateway-host',
        `The gateway host "${gateway}" is not a host name or address; fix it in Settings or DICTUMAL_STREAM_GATEWAY_HOST, or launch by IP.`,
      )
    }
  }

  // ---------- the watch loop ----------

  /** Starts watching in-progress deployments until stop(). */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.ticking
    await Promise.allSettled([...this.creating.values()])
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    await this.hookRunning
    await this.writes.settled()
    for (const id of [...this.watches.keys()]) this.dropWatch(id)
    await this.prober.close()
  }

  /** Wakes the loop after `delayMs`, unless it is already due to wake sooner. */
  private schedule(delayMs: number): void {
    if (this.stopped) return
    const at = Date.now() + Math.max(0, delayMs)
    if (this.timer && this.wakeAt <= at) return
    if (this.timer) clearTimeout(this.timer)
    this.wakeAt = at
    this.timer = setTimeout(() => {
      this.timer = null
      // Starts what is due and sleeps until the next due time: no round waits for another deployment's probe.
      void this.beat().finally(() => this.schedule(this.nextWakeMs()))
    }, Math.max(0, delayMs))
  }

  /** Run the loop soon (after a create, say). */
  private kick(): void {
    if (!this.stopped) this.schedule(0)
  }

  private get beatMs(): number {
    return this.options.probeIntervalMs ?? 1000
  }

  private watch(id: string): Watch {
    let w = this.watches.get(id)
    if (!w) {
      const first = this.options.cloudIntervalMs?.first ?? 2000
      w = {
        nextCloudAt: 0,
        cloudDelayMs: first,
        dropletActive: false,
        configuringSince: null,
        provisioningSince: null,
        busy: false,
        nextObserveAt: 0,
        sight: null,
        memory: null,
        unwritten: null,
      }
      this.watches.set(id, w)
    }
    return w
  }

  private dropWatch(id: string): void {
    this.watches.delete(id)
    this.live.clearCloud(id)
    this.live.setSetup(id, null)
  }

  /**
   * One round: starts whatever is due (a DigitalOcean look-up shared by many, each deployment's own probe)
   * and resolves once that work and its writes are done. The timer does not wait for it: see beat().
   */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking
    this.ticking = (async () => {
      await this.runHook()
      await Promise.all(this.startDue())
      await this.writes.settled()
    })()
      .catch((error: unknown) => log.error('engine', 'watch round failed', error))
      .finally(() => {
        this.ticking = null
      })
    return this.ticking
  }

  /** The timer's round: the hook on its own beat, then what is due, without waiting for any of it. */
  private async beat(): Promise<void> {
    try {
      if (this.clock.now() >= this.nextHookAt) void this.runHook()
      this.startDue()
    } catch (error) {
      log.error('engine', 'watch round failed', error)
    }
  }

  private runHook(): Promise<void> {
    if (!this.options.onTick) return Promise.resolve()
    if (this.hookRunning) return this.hookRunning
    this.nextHookAt = this.clock.now() + this.beatMs
    this.hookRunning = this.options
      .onTick()
      .catch((error: unknown) => log.error('engine', 'hibernation round failed', error))
      .finally(() => {
        this.hookRunning = null
      })
    return this.hookRunning
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work
      .catch((error: unknown) => log.error('engine', 'watching a deployment failed', error))
      .finally(() => {
        this.inFlight.delete(tracked)
        this.schedule(this.nextWakeMs())
      })
    this.inFlight.add(tracked)
    return tracked
  }

  // DigitalOcean may show the IP while the droplet is still `new`: keep asking until it is active.
  private needsCloud(r: Deployment): boolean {
    return r.dropletId === null || r.ip === null || (r.status === 'PROVISIONING' && !this.watch(r.id).dropletActive)
  }

  private startDue(): Promise<void>[] {
    const now = this.clock.now()
    const records = this.inProgress()
    const live = new Set(records.map((r) => r.id))
    for (const id of [...this.watches.keys()]) if (!live.has(id)) this.dropWatch(id)
    const work: Promise<void>[] = []

    // One listing serves every deployment that needs DigitalOcean now or soon, so calls do not grow with them.
    if (!this.cloudBusy) {
      const wanting = records.filter((r) => this.needsCloud(r) && !this.watch(r.id).busy && !this.creating.has(r.id))
      if (wanting.some((r) => this.watch(r.id).nextCloudAt <= now)) {
        const window = Math.round((this.options.cloudIntervalMs?.first ?? 2000) / 2)
        work.push(this.track(this.askCloud(wanting.filter((r) => this.watch(r.id).nextCloudAt <= now + window))))
      }
    }
    for (const record of records) {
      const w = this.watch(record.id)
      if (w.busy || w.nextObserveAt > now) continue
      work.push(this.track(this.observeOne(record.id, undefined)))
    }
    return work
  }

  /** In-progress records of the current snapshot, found once per snapshot (old records can be many). */
  private inProgress(): Deployment[] {
    const data = this.store.read()
    if (this.inProgressOf?.data !== data) this.inProgressOf = { data, records: data.deployments.filter(isInProgress) }
    return this.inProgressOf.records
  }

  /** When the loop must wake next: the earliest due probe, look-up or hook, and at least once a beat. */
  private nextWakeMs(): number {
    const now = this.clock.now()
    let next = now + this.beatMs
    if (this.options.onTick) next = Math.min(next, this.nextHookAt)
    for (const record of this.inProgress()) {
      const w = this.watches.get(record.id)
      if (!w || w.busy) continue
      next = Math.min(next, w.nextObserveAt)
      if (!this.cloudBusy && this.needsCloud(record) && !this.creating.has(record.id)) next = Math.min(next, w.nextCloudAt)
    }
    return Math.max(5, next - now)
  }

  /** Asks DigitalOcean about deployments that still need it (one tagged listing for many), then looks at each. */
  private async askCloud(due: Deployment[]): Promise<void> {
    const now = this.clock.now()
    const verdicts = new Map<string, Deployment>()
    this.cloudBusy = true
    for (const r of due) this.watch(r.id).busy = true
    let view: Map<string, Droplet | 'missing'>
    try {
      view = await this.lookUp(due, verdicts, now)
    } finally {
      this.cloudBusy = false
      for (const r of due) this.watch(r.id).busy = false
    }
    await Promise.all(
      due.map(async (record) => {
        const verdict = verdicts.get(record.id)
        if (verdict) return this.writeProgress(verdict)
        return this.observeOne(record.id, view.get(record.id))
      }),
    )
  }

  /** Looks at one deployment (probing it if it can be reached) and writes what changed. */
  private async observeOne(id: string, fromCloud: Droplet | 'missing' | undefined): Promise<void> {
    const w = this.watch(id)
    if (w.busy) return
    w.busy = true
    try {
      const onDisk = this.store.read().deployments.find((d) => d.id === id)
      if (!onDisk || !isInProgress(onDisk)) return
      // A change still on its way to disk is the base: the next probe does not wait for that write.
      const record = w.unwritten ? mergeProgress(onDisk, w.unwritten) : onDisk
      if (!isInProgress(record)) return
      const next = await this.observe(record, fromCloud)
      if (next !== record) {
        w.unwritten = next
        void this.track(
          this.writeProgress(next).finally(() => {
            if (w.unwritten === next) w.unwritten = null
          }),
        )
      }
    } finally {
      w.busy = false
      w.nextObserveAt = this.clock.now() + this.observeDelay(w)
    }
  }

  /** Adaptive (main/core/engine/probe-schedule.ts) once the droplet can be probed; a steady beat before. */
  private observeDelay(w: Watch): number {
    if (w.sight === null || w.memory === null) return this.beatMs
    const timing = { ...DEFAULT_PROBE_TIMING, ...this.options.probeTiming }
    return nextProbeDelay(w.sight, w.memory, this.clock.now(), timing, this.options.probeIntervalMs)
  }

  /** This process's view of one deployment, merged into the file with the other changes of this turn. */
  private writeProgress(mine: Deployment): Promise<void> {
    return this.writes.update((draft) => {
      const index = draft.deployments.findIndex((d) => d.id === mine.id)
      const onDisk = draft.deployments[index]
      if (onDisk) draft.deployments[index] = mergeProgress(onDisk, mine)
    })
  }

  private async lookUp(due: Deployment[], updates: Map<string, Deployment>, now: number): Promise<Map<string, Droplet | 'missing'>> {
    const view = new Map<string, Droplet | 'missing'>()
    if (due.length === 0) return view
    try {
      let droplets: Droplet[]
      const [only] = due
      if (due.length === 1 && only) {
        if (only.dropletId !== null) {
          const one = await this.watchCloud.getDroplet(only.dropletId)
          droplets = one ? [one] : []
        } else {
          droplets = await this.watchCloud.listDropletsByTag(deploymentTag(only.id))
        }
      } else {
        droplets = await this.watchCloud.listDropletsByTag(OWNERSHIP_TAG)
      }
      for (const record of due) {
        const droplet = droplets.find((d) => (record.dropletId !== null ? d.id === record.dropletId : d.tags.includes(deploymentTag(record.id))))
        view.set(record.id, droplet ?? 'missing')
        const w = this.watch(record.id)
        w.nextCloudAt = now + w.cloudDelayMs
        w.cloudDelayMs = Math.min(this.options.cloudIntervalMs?.max ?? 10_000, Math.round(w.cloudDelayMs * 1.4))
        if (droplet) w.dropletActive = droplet.status === 'active'
        if (!droplet) {
          const verdict = await this.missingDroplet(record)
          if (verdict) updates.set(record.id, verdict)
        }
        this.live.clearCloud(record.id)
      }
    } catch (error) {
      log.warn('engine', 'DigitalOcean look-up failed; trying again shortly', error)
      for (const record of due) this.watch(record.id).nextCloudAt = now + this.watch(record.id).cloudDelayMs
      for (const record of due) {
        if (!this.creating.has(record.id)) this.live.setCloud(record.id, troubleSentence(error, record.dropletId === null ? 'unconfirmed' : 'exists'), this.nowIso())
      }
    }
    return view
  }

  /**
   * A droplet absent from a listing is not yet gone (its tag may have been edited, or the listing
   * lags): only DigitalOcean's 404 for its id counts.
   */
  private async missingDroplet(record: Deployment): Promise<Deployment | null> {
    const now = this.nowIso()
    if (record.dropletId !== null) {
      const confirmed = await this.watchCloud.getDroplet(record.dropletId)
      if (confirmed) return null
      return { ...record, status: 'DESTROYED', error: DELETED_ELSEWHERE, destroyedAt: now, updatedAt: now }
    }
    const age = this.clock.now() - Date.parse(provisioningStartedAt(record))
    if (age > (this.options.createGraceMs ?? 120_000)) {
      return failed(record, 'DigitalOcean never created the droplet (Dictumal stopped before the create was confirmed); nothing is running for it.', now)
    }
    return null
  }

  private async observe(record: Deployment, fromCloud: Droplet | 'missing' | undefined): Promise<Deployment> {
    const w = this.watch(record.id)
    let current = record
    if (fromCloud && fromCloud !== 'missing') {
      const ip = publicIpv4(fromCloud)
      if (current.dropletId !== fromCloud.id || (ip !== null && current.ip === null)) {
        current = { ...current, dropletId: fromCloud.id, ip: current.ip ?? ip, updatedAt: this.nowIso() }
      }
    }
    // A record that already has an IP was seen active by some engine: no need to ask again.
    const dropletActive = w.dropletActive || (current.ip !== null && current.status === 'CONFIGURING')
    let observation: Observation = { dropletActive, ip: current.ip, checks: { ...NO_CHECKS }, tokenAccepted: false }

    let seenAt: string | null = null
    if (dropletActive && current.ip !== null) {
      const result = await this.prober.probe(current.ip, current.certFingerprint)
      this.noteSight(w, result)
      if (result.beacon) this.options.onBeacon?.(current, result.beacon)
      if (result.failedStep) {
        return failed(current, stepFailedMessage(result.failedStep), this.nowIso())
      }
      observation = { ...observation, checks: result.checks }
      if (result.checks.guacHttps443) {
        // Show final-health-check (92 %) while the token check runs, so no stage is skipped.
        // That write goes on while the token is checked; ACTIVE is written after it, and stamped when it was seen.
        const checking = advance(current, observation, this.nowIso())
        let shown: Promise<void> = Promise.resolve()
        if (checking !== current && checking.stage === 'final-health-check') {
          shown = this.writeProgress(checking)
          // Awaited below; this only keeps a failure meanwhile from counting as unhandled.
          shown.catch(() => {})
          current = checking
        }
        observation.tokenAccepted = await this.tokenAccepted(current)
        seenAt = this.nowIso()
        await shown
      }
    }

    let next = advance(current, observation, seenAt ?? this.nowIso())
    if (next.status === 'CONFIGURING' && w.configuringSince === null) {
      // First sight in this process (a restart, the CLI): the 20 minutes count from now.
      w.configuringSince = this.clock.now()
    }
    next = this.enforceTimeouts(next, w)
    return next
  }

  private noteSight(w: Watch, result: ProbeResult): void {
    const sight: ProbeSight = {
      step: result.beacon?.step ?? null,
      stepStartedAt: result.beacon?.stepStartedAt ?? null,
      http80: result.checks.http80,
      guacHttp8080: result.checks.guacHttp8080,
      guacHttps443: result.checks.guacHttps443,
    }
    w.sight = sight
    w.memory = remember(w.memory, sight, this.clock.now())
  }

  private async tokenAccepted(d: Deployment): Promise<boolean> {
    if (d.ip === null) return false
    try {
      const secrets = await this.secretsFor(d.id)
      const token = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: this.clock.now() })
      return await this.prober.acceptsToken(d.ip, d.certFingerprint, token)
    } catch (error) {
      log.warn('engine', `cannot check the gateway of ${d.id.slice(0, 8)}`, error)
      return false
    }
  }

  private enforceTimeouts(d: Deployment, w: Watch): Deployment {
    const now = this.clock.now()
    if (d.status === 'PROVISIONING' && now - (w.provisioningSince ?? Date.parse(provisioningStartedAt(d))) > this.provisioningTimeoutMs) {
      return failed(d, timeoutMessage('provisioning', Math.round(this.provisioningTimeoutMs / 60_000), d.ip), this.nowIso())
    }
    if (d.status === 'CONFIGURING') {
      const since = w.configuringSince ?? this.clock.now()
      if (now - since > this.configuringTimeoutMs) {
        return failed(d, timeoutMessage('configuring', Math.round(this.configuringTimeoutMs / 60_000), d.ip), this.nowIso())
      }
    }
    return d
  }

  private async patch(id: string, fn: (d: Deployment) => Deployment, options: { force?: boolean } = {}): Promise<void> {
    await this.writes.update((draft) => {
      draft.deployments = draft.deployments.map((d) => {
        if (d.id !== id) return d
        if (!options.force && d.status === 'DESTROYED') return d
        return fn(d)
      })
    })
  }

  // ---------- reconcile, adopt ----------

  /**
   * Compares local records with the droplets tagged `dictumal` (SPEC §8): resumes what is in
   * progress, marks droplets deleted elsewhere as DESTROYED, and lists tagged droplets no record owns.
   */
  async reconcile(): Promise<ReconcileFinding[]> {
    const droplets = await this.cloud.listDropletsByTag(OWNERSHIP_TAG)
    const findings: ReconcileFinding[] = []
    const now = this.nowIso()
    const records = this.store.read().deployments
    const owned = new Set<number>()
    const changes = new Map<string, Deployment>()

    for (const record of records) {
      if (record.status === 'DESTROYED') continue
      if (isHibernationStatus(record.status)) {
        // Hibernation reconciles its own (a droplet missing mid-hibernation is expected, not deleted elsewhere).
        if (record.dropletId !== null) owned.add(record.dropletId)
        continue
      }
      const droplet = droplets.find((d) => (record.dropletId !== null ? d.id === record.dropletId : d.tags.includes(deploymentTag(record.id))))
      if (droplet) {
        owned.add(droplet.id)
        if (record.dropletId === null) changes.set(record.id, { ...record, dropletId: droplet.id, ip: publicIpv4(droplet), updatedAt: now })
        if (isInProgress(record)) findings.push({ kind: 'resumed', deploymentId: record.id, dropletId: droplet.id, name: record.name })
        this.watch(record.id).dropletActive = droplet.status === 'active'
      } else if (record.dropletId !== null) {
        const confirmed = await this.cloud.getDroplet(record.dropletId)
        if (confirmed) {
          // Still there, only without our tag: keep it managed.
          owned.add(confirmed.id)
          if (isInProgress(record)) findings.push({ kind: 'resumed', deploymentId: record.id, dropletId: confirmed.id, name: record.name })
          continue
        }
        changes.set(record.id, { ...record, status: 'DESTROYED', error: DELETED_ELSEWHERE, destroyedAt: now, updatedAt: now })
        findings.push({ kind: 'destroyed-elsewhere', deploymentId: record.id, dropletId: record.dropletId, name: record.name })
      } else if (isInProgress(record)) {
        findings.push({ kind: 'resumed', deploymentId: record.id, dropletId: null, name: record.name })
      }
    }

    if (changes.size > 0) {
      await this.store.update((draft) => {
        draft.deployments = draft.deployments.map((d) => {
          const change = changes.get(d.id)
          if (!change || d.status === 'DESTROYED') return d
          return change.status === 'DESTROYED' ? change : mergeProgress(d, change)
        })
      })
      for (const [id, change] of changes) if (change.status === 'DESTROYED') await this.forgetSecrets(id).catch(() => {})
    }

    const unmanaged: UnmanagedDroplet[] = []
    const destroyedIds = new Set(records.filter((r) => r.status === 'DESTROYED').map((r) => r.id))
    for (const droplet of droplets) {
      // Image builders are not desktops: the image service (main/core/images) finishes or deletes them.
      if (owned.has(droplet.id) || droplet.tags.includes(IMAGE_TAG)) continue
      const deploymentId = deploymentIdFromTags(droplet.tags)
      if (deploymentId && destroyedIds.has(deploymentId)) {
        // The user destroyed this deployment while its create was still in flight: finish the job.
        await this.cloud.deleteDroplet(droplet.id)
        continue
      }
      let canAdopt = false
      if (deploymentId) {
        const secrets = await this.secrets.getDeploymentSecrets(deploymentId).catch(() => null)
        canAdopt = secrets !== null && typeof secrets.certFingerprint === 'string'
      }
      unmanaged.push({
        dropletId: droplet.id,
        name: droplet.name,
        ip: publicIpv4(droplet),
        region: droplet.region.slug,
        size: droplet.size_slug,
        createdAt: droplet.created_at,
        deploymentId,
        canAdopt,
      })
      findings.push({ kind: 'unmanaged', deploymentId, dropletId: droplet.id, name: droplet.name })
    }
    this.setUnmanaged(unmanaged)
    this.kick()
    return findings
  }

  /** Takes a tagged droplet whose record was lost back under management, if its secrets survived. */
  async adopt(dropletId: number): Promise<Deployment> {
    const droplet = await this.cloud.getDroplet(dropletId)
    if (!droplet) throw new AppError('not-found', 'That droplet no longer exists at DigitalOcean.')
    const deploymentId = deploymentIdFromTags(droplet.tags)
    if (!droplet.tags.includes(OWNERSHIP_TAG) || !deploymentId) throw new AppError('not-ours', 'That droplet was not made by Dictumal, so it cannot be adopted.')
    const secrets = await this.secrets.getDeploymentSecrets(deploymentId)
    if (!secrets || typeof secrets.certFingerprint !== 'string') {
      throw new AppError('secrets-missing', "That droplet's passwords are not in this keychain, so it cannot be adopted; destroy it instead.")
    }
    const existing = this.store.read().deployments.find((d) => d.id === deploymentId && d.status !== 'DESTROYED')
    if (existing) return { ...existing }
    const now = this.nowIso()
    const ip = publicIpv4(droplet)
    const record: Deployment = {
      id: deploymentId,
      constitutionId: '',
      name: droplet.name,
      region: droplet.region.slug,
      size: droplet.size_slug,
      image: droplet.image.slug ?? String(droplet.image.id),
      dropletId: droplet.id,
      ip,
      status: 'PROVISIONING',
      stage: 'provisioning-droplet',
      percent: STAGE_PERCENT['provisioning-droplet'],
      checks: { ...NO_CHECKS },
      error: null,
      certFingerprint: secrets.certFingerprint,
      createdAt: droplet.created_at,
      updatedAt: now,
      activeAt: null,
      destroyedAt: null,
      fastStart: false,
      snapshotId: null,
      snapshotSizeGigabytes: null,
      hibernatedAt: null,
      hibernation: null,
      displayName: null,
    }
    await this.store.update((draft) => {
      draft.deployments = draft.deployments.filter((d) => d.id !== deploymentId)
      draft.deployments.push(record)
    })
    this.secretsCache.set(deploymentId, secrets)
    const w = this.watch(deploymentId)
    w.dropletActive = droplet.status === 'active'
    // Its boot is long over: give it fresh windows instead of timing out at once.
    w.configuringSince = this.clock.now()
    w.provisioningSince = this.clock.now()
    this.setUnmanaged(this.unmanagedList.filter((u) => u.dropletId !== dropletId))
    this.kick()
    return { ...record }
  }

  async destroyUnmanaged(dropletId: number): Promise<void> {
    const droplet = await this.cloud.getDroplet(dropletId)
    if (droplet && !droplet.tags.includes(OWNERSHIP_TAG)) throw new AppError('not-ours', 'That droplet was not made by Dictumal, so Dictumal will not destroy it.')
    if (droplet) await this.cloud.deleteDroplet(dropletId)
    const deploymentId = droplet ? deploymentIdFromTags(droplet.tags) : null
    if (deploymentId && !this.store.read().deployments.some((d) => d.id === deploymentId && d.status !== 'DESTROYED')) {
      await this.forgetSecrets(deploymentId).catch(() => {})
    }
    this.setUnmanaged(this.unmanagedList.filter((u) => u.dropletId !== dropletId))
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function deploymentIdFromTags(tags: readonly string[]): string | null {
  for (const tag of tags) {
    const id = tag.startsWith('dictumal-') ? tag.slice('dictumal-'.length) : ''
    if (UUID.test(id)) return id
  }
  return null
}

/** DigitalOcean says whether a failed create made nothing (4xx, no token) or is uncertain (timeout, 5xx). */
function nothingWasCreated(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { nothingCreated?: unknown }).nothingCreated === true
}
