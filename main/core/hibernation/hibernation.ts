// Hibernation (SPEC §10): ACTIVE → HIBERNATING (stopping, snapshotting, deleting-droplet) → HIBERNATED,
// and resume through the engine's own PROVISIONING → CONFIGURING → ACTIVE. Data safety is the point: the
// droplet is deleted only once its snapshot is confirmed available, and the snapshot only once the
// resumed desktop is ACTIVE, so at every instant one of them exists. Every action id is in the store
// before it is waited for; any process running the engine (app, waiting CLI) finishes or rolls back.
import type { Deployment, HibernationProgress } from '../../../preload/contract'
import { generateDeploymentCertificate } from '../certificate'
import { deploymentTag, publicIpv4, systemClock } from '../digitalocean'
import { MAX_SSH_KEYS, sshKeyProblem } from '../digitalocean/config'
import type { Clock, CloudSnapshot, CreateDropletInput, DeleteOutcome, Droplet } from '../digitalocean'
import type { SecretsPort, StorePort, StoredDeploymentSecrets } from '../engine/engine'
import { NO_CHECKS, STAGE_PERCENT } from '../engine/progress'
import { log } from '../log'
import { buildUserData } from '../recipe'
import { snapshotDroplet, SnapshotStepError, stopDroplet } from '../snapshots/steps'
import type { SnapshotCloud } from '../snapshots/steps'
import { driverAlive } from '../snapshots/driver-lease'
import { findDeploymentByPrefix } from '../store/records'
import { AppError, toUserError } from '../user-error'

export interface HibernationCloud extends SnapshotCloud {
  createDroplet(input: CreateDropletInput): Promise<Droplet>
  deleteDroplet(id: number): Promise<DeleteOutcome>
  deleteSnapshot(id: string): Promise<DeleteOutcome>
  listSnapshots(): Promise<CloudSnapshot[]>
  listDropletsByTag(tag: string): Promise<Droplet[]>
  /** The account's SSH keys: a resume leaves out keys deleted since the desktop was deployed. */
  listSshKeys?(): Promise<{ id: number; fingerprint: string }[]>
}

export interface HibernationOptions {
  store: StorePort
  secrets: SecretsPort
  cloud: HibernationCloud
  clock?: Clock
  /** SSH key ids or fingerprints for the resumed droplet (as for a new one). */
  sshKeys: () => string[]
  /** Pause between DigitalOcean look-ups while a step runs (default 3 s). */
  pollMs?: number
  powerOffAfterMs?: number
  snapshotTimeoutMs?: number
  /** This process, and whether another one still lives (a dead driver's hibernation is taken over at once). */
  pid?: number
  processAlive?: (pid: number) => boolean
}

const OWNERSHIP_TAG = 'dictumal'
const HEARTBEAT_MS = 5_000
const TRANSIENT = new Set(['server-error', 'rate-limited', 'timeout', 'network', 'offline', 'dns', 'bad-response'])

/** A failure that ends the hibernation (it is rolled back), as opposed to one that is simply asked again. */
class HibernationFailed extends Error {}

function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && TRANSIENT.has(code)
}

function sentence(error: unknown): string {
  if (error instanceof SnapshotStepError || error instanceof HibernationFailed) return error.message
  return toUserError(error).message
}

/** dictumal-hibernate-<id8>-<yyyymmdd-hhmm> (UTC). */
export function hibernationSnapshotName(deploymentId: string, at: Date): string {
  const iso = at.toISOString()
  return `dictumal-hibernate-${deploymentId.slice(0, 8)}-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 16).replace(':', '')}`
}

/** What hibernating is worth: DigitalOcean bills snapshots at $0.06 per GiB-month. */
export const SNAPSHOT_PRICE_PER_GIB_MONTH = 0.06

export function snapshotMonthlyCost(sizeGigabytes: number): number {
  return Math.round(sizeGigabytes * SNAPSHOT_PRICE_PER_GIB_MONTH * 100) / 100
}

/** Test and tuning knobs from the environment (the CLI tests drive real child processes with them). */
export function hibernationOptionsFromEnv(env: Record<string, string | undefined>): Partial<HibernationOptions> {
  const num = (name: string): number | undefined => {
    const n = Number(env[name]?.trim() ?? '')
    return Number.isFinite(n) && n > 0 ? n : undefined
  }
  const poll = num('DICTUMAL_HIBERNATE_POLL_MS')
  const powerOff = num('DICTUMAL_POWER_OFF_AFTER_MS')
  const snapshot = num('DICTUMAL_SNAPSHOT_TIMEOUT_MS')
  return {
    ...(poll === undefined ? {} : { pollMs: poll }),
    ...(powerOff === undefined ? {} : { powerOffAfterMs: powerOff }),
    ...(snapshot === undefined ? {} : { snapshotTimeoutMs: snapshot }),
  }
}

export class Hibernation {
  private readonly store: StorePort
  private readonly cloud: HibernationCloud
  private readonly clock: Clock
  private readonly pid: number
  private readonly pollMs: number
  private readonly driving = new Map<string, Promise<void>>()
  private readonly finishing = new Set<string>()
  private stopped = false

  constructor(private readonly options: HibernationOptions) {
    this.store = options.store
    this.cloud = options.cloud
    this.clock = options.clock ?? systemClock
    this.pid = options.pid ?? process.pid
    this.pollMs = options.pollMs ?? 3_000
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString()
  }

  private find(idOrPrefix: string): Deployment {
    const found = findDeploymentByPrefix(this.store.read(), idOrPrefix)
    if (!found.ok) throw new AppError(found.error.code, found.error.message, found.error.hint)
    return structuredClone(found.value)
  }

  private record(id: string): Deployment | undefined {
    return this.store.read().deployments.find((d) => d.id === id)
  }

  private async patch(id: string, fn: (d: Deployment) => Partial<Deployment> | null): Promise<Deployment | null> {
    const now = this.nowIso()
    return this.store.update((draft) => {
      const index = draft.deployments.findIndex((d) => d.id === id)
      const current = draft.deployments[index]
      if (current === undefined) return null
      const change = fn(current)
      if (change === null) return null
      const next: Deployment = { ...current, ...change, id: current.id, updatedAt: now }
      draft.deployments[index] = next
      return structuredClone(next)
    })
  }

  private async patchProgress(id: string, fn: (h: HibernationProgress) => Partial<HibernationProgress>): Promise<void> {
    await this.patch(id, (d) => (d.hibernation === null ? null : { hibernation: { ...d.hibernation, ...fn(d.hibernation) } }))
  }

  // ---------- hibernate ----------

  /** Starts hibernating an ACTIVE deployment; resolves once HIBERNATING is stored (the steps run on). */
  async hibernate(idOrPrefix: string): Promise<Deployment> {
    const d = this.find(idOrPrefix)
    if (d.status === 'HIBERNATING' || d.status === 'HIBERNATED') return d
    if (d.status !== 'ACTIVE' || d.dropletId === null) {
      throw new AppError('not-active', `"${d.name}" is ${d.status.toLowerCase()}: only an active desktop can be hibernated.`)
    }
    const now = this.nowIso()
    const started = await this.patch(d.id, (current) =>
      current.status !== 'ACTIVE'
        ? null
        : {
            status: 'HIBERNATING',
            stage: 'stopping',
            percent: STAGE_PERCENT.stopping,
            error: null,
            hibernation: {
              op: 'hibernate',
              snapshotName: hibernationSnapshotName(d.id, new Date(this.clock.now())),
              action: null,
              startedAt: now,
              driver: { pid: this.pid, heartbeatAt: now },
            },
          },
    )
    if (started === null) return this.find(d.id)
    void this.drive(d.id)
    return started
  }

  /** Drives a HIBERNATING deployment until it settles, unless another live process already does. */
  drive(id: string): Promise<void> {
    const running = this.driving.get(id)
    if (running) return running
    const run = this.runDrive(id).finally(() => this.driving.delete(id))
    this.driving.set(id, run)
    return run
  }

  private driverAlive(driver: HibernationProgress['driver']): boolean {
    return driverAlive(driver, this.clock.now(), this.options.processAlive)
  }

  private claim(id: string): Promise<boolean> {
    const now = this.nowIso()
    return this.store.update((draft) => {
      const d = draft.deployments.find((x) => x.id === id)
      if (!d || d.status !== 'HIBERNATING' || d.hibernation === null) return false
      const driver = d.hibernation.driver
      if (driver !== null && driver.pid !== this.pid && this.driverAlive(driver)) return false
      d.hibernation = { ...d.hibernation, driver: { pid: this.pid, heartbeatAt: now } }
      return true
    })
  }

  private async runDrive(id: string): Promise<void> {
    if (this.stopped || !(await this.claim(id))) return
    const beat = setInterval(() => {
      void this.patchProgress(id, (h) => (h.driver?.pid === this.pid ? { driver: { pid: this.pid, heartbeatAt: this.nowIso() } } : {})).catch(() => {})
    }, HEARTBEAT_MS)
    beat.unref()
    try {
      for (;;) {
        if (this.stopped) return
        const d = this.record(id)
        if (!d || d.status !== 'HIBERNATING' || d.hibernation === null || d.hibernation.driver?.pid !== this.pid) return
        try {
          if (d.error !== null) await this.rollBack(d)
          else await this.step(d)
        } catch (error) {
          const fatal = error instanceof HibernationFailed || error instanceof SnapshotStepError || !isTransient(error)
          if (fatal && d.error === null) {
            const note = `Hibernation failed: ${sentence(error)} The desktop keeps running.`
            log.warn('hibernation', `${id.slice(0, 8)}: ${note}`)
            await this.patch(id, (x) => (x.status === 'HIBERNATING' ? { error: note } : null))
            continue
          }
          // DigitalOcean unreachable, 5xx after retries, 429: nothing is lost by asking again shortly.
          log.warn('hibernation', `${id.slice(0, 8)} ${d.stage} did not go through; trying again`, error)
          await this.clock.sleep(this.pollMs)
        }
      }
    } finally {
      clearInterval(beat)
      await this.patchProgress(id, (h) => (h.driver?.pid === this.pid ? { driver: null } : {})).catch(() => {})
    }
  }

  private async step(d: Deployment): Promise<void> {
    const h = d.hibernation as HibernationProgress
    const dropletId = d.dropletId
    switch (d.stage) {
      case 'stopping': {
        if (dropletId === null) throw new HibernationFailed('The deployment has no droplet to hibernate.')
        const pending = h.action !== null && (h.action.type === 'shutdown' || h.action.type === 'power_off') ? h.action : null
        await stopDroplet(this.cloud, dropletId, {
          clock: this.clock,
          pollMs: this.pollMs,
          ...(this.options.powerOffAfterMs === undefined ? {} : { powerOffAfterMs: this.options.powerOffAfterMs }),
          pending: pending === null ? null : { actionId: pending.id, type: pending.type as 'shutdown' | 'power_off', startedAt: Date.parse(pending.startedAt) },
          onAction: (p) => this.patchProgress(d.id, () => ({ action: { id: p.actionId, type: p.type, startedAt: new Date(p.startedAt).toISOString() } })),
        })
        await this.patch(d.id, (x) => (x.status === 'HIBERNATING' ? { stage: 'snapshotting', percent: STAGE_PERCENT.snapshotting, hibernation: { ...h, ...x.hibernation, action: null } } : null))
        return
      }
      case 'snapshotting': {
        if (dropletId === null) throw new HibernationFailed('The deployment has no droplet to snapshot.')
        const snapshot = await snapshotDroplet(this.cloud, dropletId, h.snapshotName, {
          clock: this.clock,
          pollMs: this.pollMs,
          ...(this.options.snapshotTimeoutMs === undefined ? {} : { timeoutMs: this.options.snapshotTimeoutMs }),
          pendingActionId: h.action?.type === 'snapshot' ? h.action.id : null,
          onAction: (actionId) => this.patchProgress(d.id, () => ({ action: { id: actionId, type: 'snapshot', startedAt: this.nowIso() } })),
        })
        await this.patch(d.id, (x) =>
          x.status === 'HIBERNATING' && x.hibernation !== null
            ? {
                stage: 'deleting-droplet',
                percent: STAGE_PERCENT['deleting-droplet'],
                snapshotId: snapshot.id,
                snapshotSizeGigabytes: snapshot.sizeGigabytes,
                hibernation: { ...x.hibernation, action: null },
              }
            : null,
        )
        return
      }
      case 'deleting-droplet': {
        // The one irreversible step: only with the snapshot confirmed available right now.
        const snapshot = d.snapshotId === null ? null : await this.cloud.getSnapshot(d.snapshotId)
        if (snapshot === null) {
          // Gone since it was taken (deleted in the control panel?): go back and take it again.
          await this.patch(d.id, () => ({ stage: 'snapshotting', percent: STAGE_PERCENT.snapshotting, snapshotId: null, snapshotSizeGigabytes: null }))
          return
        }
        if (dropletId !== null) await this.cloud.deleteDroplet(dropletId)
        const now = this.nowIso()
        await this.patch(d.id, (x) =>
          x.status === 'HIBERNATING'
            ? {
                status: 'HIBERNATED',
                stage: 'hibernated',
                percent: STAGE_PERCENT.hibernated,
                dropletId: null,
                ip: null,
                checks: { ...NO_CHECKS },
                snapshotSizeGigabytes: snapshot.sizeGigabytes,
                hibernatedAt: now,
                hibernation: null,
              }
            : null,
        )
        return
      }
      default:
        throw new HibernationFailed(`A hibernating deployment cannot be at stage ${d.stage}.`)
    }
  }

  /** Back to ACTIVE: the droplet on again, any snapshot of this attempt deleted, the note kept. */
  private async rollBack(d: Deployment): Promise<void> {
    const h = d.hibernation as HibernationProgress
    if (d.dropletId === null) {
      // No droplet left to return to: the snapshot is all there is, so keep it (HIBERNATED), never delete it.
      if (d.snapshotId !== null && (await this.cloud.getSnapshot(d.snapshotId)) !== null) {
        await this.patch(d.id, () => ({ status: 'HIBERNATED', stage: 'hibernated', percent: 100, ip: null, hibernatedAt: this.nowIso(), hibernation: null }))
        return
      }
      // Neither exists: someone deleted the droplet mid-hibernation, before any snapshot was taken.
      const now = this.nowIso()
      await this.patch(d.id, () => ({ status: 'DESTROYED', error: 'The droplet was deleted outside Dictumal before it could be hibernated.', destroyedAt: now, hibernation: null }))
      await this.options.secrets.deleteDeploymentSecrets(d.id)
      return
    }
    const droplet = await this.cloud.getDroplet(d.dropletId)
    if (droplet === null) {
      await this.patch(d.id, () => ({ dropletId: null }))
      return
    }
    if (droplet.status === 'off') {
      let actionId = h.action?.type === 'power_on' ? h.action.id : null
      if (actionId === null) {
        try {
          actionId = (await this.cloud.dropletAction(d.dropletId, { type: 'power_on' })).id
        } catch (error) {
          // Still busy (a snapshot DigitalOcean is finishing): power on once it is done.
          if ((error as { code?: unknown }).code === 'invalid-request') {
            await this.clock.sleep(this.pollMs)
            return
          }
          throw error
        }
        const id = actionId
        await this.patchProgress(d.id, () => ({ action: { id, type: 'power_on', startedAt: this.nowIso() } }))
      }
      const status = (await this.cloud.getAction(actionId).catch(() => null))?.status ?? 'errored'
      if (status === 'in-progress') {
        await this.clock.sleep(this.pollMs)
        return
      }
      if (status === 'errored') await this.patchProgress(d.id, () => ({ action: null }))
      return
    }
    // Running again. A snapshot this attempt made is not needed (the droplet has the data) and would bill.
    const leftovers = (await this.cloud.listDropletSnapshots(d.dropletId)).filter((s) => s.name === h.snapshotName || s.id === d.snapshotId)
    for (const s of leftovers) await this.cloud.deleteSnapshot(s.id)
    await this.patch(d.id, (x) =>
      x.status === 'HIBERNATING'
        ? { status: 'ACTIVE', stage: 'active', percent: 100, ip: x.ip ?? publicIpv4(droplet), snapshotId: null, snapshotSizeGigabytes: null, hibernation: null }
        : null,
    )
  }

  // ---------- resume ----------

  /** Creates a droplet from the hibernation snapshot; the engine takes it from PROVISIONING to ACTIVE. */
  async resume(idOrPrefix: string): Promise<Deployment> {
    const d = this.find(idOrPrefix)
    if (d.hibernation?.op === 'resume' && (d.status === 'PROVISIONING' || d.status === 'CONFIGURING')) return d
    if (d.status !== 'HIBERNATED' || d.snapshotId === null) {
      throw new AppError('not-hibernated', `"${d.name}" is ${d.status.toLowerCase()}, not hibernated: there is nothing to resume.`)
    }
    const snapshot = await this.cloud.getSnapshot(d.snapshotId)
    if (snapshot === null) {
      throw new AppError('snapshot-missing', `The snapshot of "${d.name}" no longer exists at DigitalOcean, so it cannot be resumed.`)
    }
    if (!snapshot.regions.includes(d.region)) {
      throw new AppError('snapshot-region', `The snapshot of "${d.name}" is not available in ${d.region}; it cannot be resumed there.`)
    }
    const secrets = await this.options.secrets.getDeploymentSecrets(d.id)
    if (secrets === null) {
      throw new AppError('secrets-missing', `The passwords of "${d.name}" are no longer in the keychain, so it cannot be resumed.`)
    }
    // The keys the desktop was deployed with ("None" stays none); records from before that: Settings' keys.
    const sshKeys = await this.stillInAccount(d.sshKeys !== undefined ? usableKeys(d.sshKeys) : this.options.sshKeys())
    const { userData, certFingerprint } = await this.resumeUserData(d, secrets)
    const now = this.nowIso()
    const resuming = await this.patch(d.id, (x) =>
      x.status !== 'HIBERNATED'
        ? null
        : {
            status: 'PROVISIONING',
            stage: 'provisioning-droplet',
            percent: STAGE_PERCENT['provisioning-droplet'],
            checks: { ...NO_CHECKS },
            error: null,
            activeAt: null,
            certFingerprint,
            hibernation: { op: 'resume', snapshotName: snapshot.name, action: null, startedAt: now, driver: null },
          },
    )
    if (resuming === null) return this.find(d.id)
    try {
      const droplet = await this.cloud.createDroplet({
        deploymentId: d.id,
        name: d.name,
        region: d.region,
        size: d.size,
        image: Number(d.snapshotId),
        userData,
        sshKeys,
        tags: [OWNERSHIP_TAG, deploymentTag(d.id)],
      })
      return (
        (await this.patch(d.id, (x) => (x.status === 'PROVISIONING' ? { dropletId: droplet.id, ip: x.ip ?? publicIpv4(droplet) } : null))) ?? this.find(d.id)
      )
    } catch (error) {
      if ((error as { nothingCreated?: unknown }).nothingCreated === true) {
        // DigitalOcean refused (droplet limit, say): nothing was made; the snapshot is still the desktop.
        await this.patch(d.id, () => ({ status: 'HIBERNATED', stage: 'hibernated', percent: 100, certFingerprint: d.certFingerprint, hibernation: null, activeAt: d.activeAt }))
        throw error
      }
      // Uncertain: the engine finds the droplet by its tag, or gives up after its grace and we roll back.
      log.warn('hibernation', `resume of ${d.id.slice(0, 8)} is unconfirmed; watching its tag`, error)
      return this.find(d.id)
    }
  }

  /**
   * The keys DigitalOcean still has. One deleted from the account since the deploy would make it refuse
   * the resume, and the desktop could not wake; the snapshot's own authorized_keys still hold it anyway.
   * When the keys cannot be listed, they go as they are (DigitalOcean says if one is gone).
   */
  private async stillInAccount(keys: string[]): Promise<string[]> {
    if (keys.length === 0 || this.cloud.listSshKeys === undefined) return keys
    let account: { id: number; fingerprint: string }[]
    try {
      account = await this.cloud.listSshKeys()
    } catch {
      return keys
    }
    const known = new Set(account.flatMap((k) => [String(k.id), k.fingerprint.toLowerCase()]))
    const kept = keys.filter((k) => known.has(k.toLowerCase()))
    if (kept.length < keys.length) log.info('hibernation', `resuming without ${keys.length - kept.length} SSH key(s) no longer in the account`)
    return kept
  }

  private async resumeUserData(d: Deployment, secrets: StoredDeploymentSecrets): Promise<{ userData: string; certFingerprint: string }> {
    let certificate = secrets.certificate
    let certFingerprint = d.certFingerprint
    if (certificate === undefined) {
      // Deployed before Dictumal kept the certificate: a new one, pinned from now on.
      const made = await generateDeploymentCertificate({ deploymentId: d.id, now: new Date(this.clock.now()) })
      certificate = { certPem: made.certPem, keyPem: made.keyPem }
      certFingerprint = made.fingerprint
      await this.options.secrets.setDeploymentSecrets(d.id, { ...secrets, certFingerprint, certificate })
    }
    const constitution = this.store.read().constitutions.find((c) => c.id === d.constitutionId)
    const userData = buildUserData(
      {
        deploymentId: d.id,
        constitution: { name: constitution?.name ?? d.name, body: constitution?.body ?? '' },
        secrets: {
          vncPassword: secrets.vncPassword,
          guacamoleKey: secrets.guacamoleKey,
          userPassword: secrets.userPassword,
          // The resumed droplet keeps serving its setup log to the same key (older desktops have none).
          ...(secrets.logKey === undefined ? {} : { logKey: secrets.logKey }),
        },
        certificate,
        sshKeys: [],
      },
      { mode: 'personalise' },
    )
    return { userData, certFingerprint }
  }

  // ---------- the engine's round ----------

  /**
   * Called at the start of every engine round: drives HIBERNATING records, deletes the snapshot of a
   * resume that reached ACTIVE, puts a failed resume back to HIBERNATED, and cleans up after a destroy.
   * Never waits for a step itself, so the engine's round stays short.
   */
  async tick(): Promise<void> {
    if (this.stopped) return
    for (const d of this.store.read().deployments) {
      if (d.status === 'HIBERNATING' && !this.driving.has(d.id)) {
        const driver = d.hibernation?.driver ?? null
        if (driver === null || driver.pid === this.pid || !this.driverAlive(driver)) void this.drive(d.id)
      } else if (d.hibernation?.op === 'resume' && (d.status === 'ACTIVE' || d.status === 'ERROR')) {
        this.finish(d.id, () => (d.status === 'ACTIVE' ? this.resumed(d) : this.resumeFailed(d)))
      } else if (d.status === 'DESTROYED' && (d.hibernation !== null || d.snapshotId !== null)) {
        this.finish(d.id, () => this.cleanUpDestroyed(d))
      }
    }
  }

  private finish(id: string, task: () => Promise<void>): void {
    if (this.finishing.has(id)) return
    this.finishing.add(id)
    void task()
      .catch((error: unknown) => log.warn('hibernation', `${id.slice(0, 8)}: will try again`, error))
      .finally(() => this.finishing.delete(id))
  }

  /** ACTIVE again: the hibernation snapshot has done its job. */
  private async resumed(d: Deployment): Promise<void> {
    if (d.snapshotId !== null) await this.cloud.deleteSnapshot(d.snapshotId)
    await this.patch(d.id, (x) =>
      x.status === 'ACTIVE' && x.hibernation?.op === 'resume' ? { snapshotId: null, snapshotSizeGigabytes: null, hibernatedAt: null, hibernation: null } : null,
    )
  }

  /** The resumed droplet never became usable: delete it (the snapshot still holds the desktop). */
  private async resumeFailed(d: Deployment): Promise<void> {
    if (d.snapshotId === null || (await this.cloud.getSnapshot(d.snapshotId)) === null) {
      // Without its snapshot the droplet is all there is: leave it for the user to look at or destroy.
      await this.patch(d.id, (x) => (x.status === 'ERROR' ? { hibernation: null, snapshotId: null } : null))
      return
    }
    const ids = d.dropletId !== null ? [d.dropletId] : (await this.cloud.listDropletsByTag(deploymentTag(d.id))).map((x) => x.id)
    for (const id of ids) await this.cloud.deleteDroplet(id)
    const why = d.error ?? 'the desktop did not start.'
    await this.patch(d.id, (x) =>
      x.status === 'ERROR'
        ? {
            status: 'HIBERNATED',
            stage: 'hibernated',
            percent: 100,
            dropletId: null,
            ip: null,
            checks: { ...NO_CHECKS },
            error: `Resuming failed, so the new droplet was deleted and the desktop is still hibernated: ${why}`,
            hibernation: null,
          }
        : null,
    )
  }

  /** Destroyed mid-hibernation: a snapshot that finished afterwards must not bill forever. */
  private async cleanUpDestroyed(d: Deployment): Promise<void> {
    if (d.snapshotId !== null) await this.cloud.deleteSnapshot(d.snapshotId)
    if (d.hibernation !== null) {
      const name = d.hibernation.snapshotName
      for (const s of (await this.cloud.listSnapshots()).filter((x) => x.name === name)) await this.cloud.deleteSnapshot(s.id)
      // A snapshot action still running would leave one behind later: keep looking until it is done.
      const action = d.hibernation.action
      if (action?.type === 'snapshot' && (await this.cloud.getAction(action.id).catch(() => null))?.status === 'in-progress') return
    }
    await this.patch(d.id, (x) => (x.status === 'DESTROYED' ? { snapshotId: null, hibernation: null } : null))
  }

  /** Resolves once the deployment is HIBERNATED, ACTIVE again or gone (whoever drives it). */
  async settledHibernation(id: string): Promise<Deployment> {
    for (;;) {
      const d = this.record(id)
      if (!d) throw new AppError('deployment-not-found', 'That deployment no longer exists.')
      if (d.status !== 'HIBERNATING') return structuredClone(d)
      await this.tick()
      await this.clock.sleep(Math.min(this.pollMs, 500))
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    await Promise.allSettled([...this.driving.values()])
  }
}

/**
 * The record's keys DigitalOcean would take: a key made unusable by hand in the data file is left out
 * (the snapshot's own authorized_keys still hold what it had), so the desktop can always wake.
 */
function usableKeys(keys: readonly string[]): string[] {
  const usable = keys.filter((k) => sshKeyProblem(k, 'the record') === null).map((k) => k.trim().toLowerCase())
  if (usable.length < keys.length) log.info('hibernation', `resuming without ${keys.length - usable.length} unusable SSH key(s) from the record`)
  return usable.slice(0, MAX_SSH_KEYS)
}
