// The resumable steps hibernation and desktop images share: stop a droplet (shutdown, power_off after a
// grace period), snapshot it, and wait for DigitalOcean actions. Every action id is handed to the
// caller (to store) BEFORE it is waited for, so a restarted process picks the step up where it stopped.
import type { CloudAction, CloudSnapshot, DropletActionRequest } from '../digitalocean'
import type { Clock } from '../digitalocean'
import type { Droplet } from '../digitalocean'

/** The DigitalOcean calls these steps use (DigitalOceanClient implements it). */
export interface SnapshotCloud {
  dropletAction(dropletId: number, action: DropletActionRequest): Promise<CloudAction>
  getAction(actionId: number): Promise<CloudAction>
  getDroplet(id: number): Promise<Droplet | null>
  listDropletSnapshots(dropletId: number): Promise<CloudSnapshot[]>
  getSnapshot(id: string): Promise<CloudSnapshot | null>
}

export type StopActionType = 'shutdown' | 'power_off'

/** A stop under way, as stored: which action, and when the stop began (the power_off clock). */
export interface PendingStop {
  actionId: number
  type: StopActionType
  startedAt: number
}

export type StepFailure = 'action-errored' | 'timed-out' | 'droplet-gone' | 'snapshot-missing'

/** A step that cannot finish; `userMessage` is one sentence for the user. */
export class SnapshotStepError extends Error {
  readonly code: StepFailure
  readonly userMessage: string
  constructor(code: StepFailure, userMessage: string) {
    super(userMessage)
    this.name = 'SnapshotStepError'
    this.code = code
    this.userMessage = userMessage
  }
}

export interface StepOptions {
  clock: Clock
  /** Pause between look-ups while waiting (default 3 s). */
  pollMs?: number
}

export interface StopOptions extends StepOptions {
  /** Called with every action started, before it is waited for: store it. */
  onAction(pending: PendingStop): void | Promise<void>
  /** How long a graceful shutdown gets before power_off (default 2 minutes). */
  powerOffAfterMs?: number
  /** How long power_off gets before the stop fails (default 5 minutes). */
  powerOffTimeoutMs?: number
  /** The stop a previous run started, to be waited for rather than started again. */
  pending?: PendingStop | null
}

export interface SnapshotOptions extends StepOptions {
  /** Called with the snapshot action's id before it is waited for: store it. */
  onAction(actionId: number): void | Promise<void>
  /** The snapshot action a previous run started. */
  pendingActionId?: number | null
  /** How long the snapshot may take (default 3 hours: DigitalOcean copies the whole disk). */
  timeoutMs?: number
}

const DEFAULT_POLL_MS = 3_000

function isPendingEvent(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'invalid-request'
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'not-found'
}

/** The state of a stored action now: 'errored' also when DigitalOcean no longer knows it. */
export async function resumeAction(cloud: Pick<SnapshotCloud, 'getAction'>, actionId: number): Promise<CloudAction['status']> {
  try {
    return (await cloud.getAction(actionId)).status
  } catch (error) {
    if (isNotFound(error)) return 'errored'
    throw error
  }
}

/** Waits until an action leaves in-progress; throws timed-out when it takes longer than `timeoutMs`. */
export async function waitForAction(
  cloud: Pick<SnapshotCloud, 'getAction'>,
  actionId: number,
  options: StepOptions & { timeoutMs: number; what: string },
): Promise<'completed' | 'errored'> {
  const deadline = options.clock.now() + options.timeoutMs
  for (;;) {
    const status = await resumeAction(cloud, actionId)
    if (status !== 'in-progress') return status
    if (options.clock.now() >= deadline) {
      throw new SnapshotStepError('timed-out', `DigitalOcean did not finish ${options.what} within ${Math.round(options.timeoutMs / 60_000)} minutes.`)
    }
    await options.clock.sleep(options.pollMs ?? DEFAULT_POLL_MS)
  }
}

async function dropletStatus(cloud: SnapshotCloud, dropletId: number): Promise<Droplet['status']> {
  const droplet = await cloud.getDroplet(dropletId)
  if (droplet === null) throw new SnapshotStepError('droplet-gone', 'The droplet no longer exists at DigitalOcean.')
  return droplet.status
}

/**
 * Turns the droplet off: a graceful shutdown, and power_off once `powerOffAfterMs` has passed since the
 * stop began (or the shutdown errored). Returns when DigitalOcean reports the droplet `off`.
 */
export async function stopDroplet(cloud: SnapshotCloud, dropletId: number, options: StopOptions): Promise<void> {
  const { clock } = options
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS
  const graceMs = options.powerOffAfterMs ?? 120_000
  const hardMs = options.powerOffTimeoutMs ?? 300_000
  if ((await dropletStatus(cloud, dropletId)) === 'off') return

  let pending = options.pending ?? null
  if (pending === null) {
    const action = await cloud.dropletAction(dropletId, { type: 'shutdown' })
    pending = { actionId: action.id, type: 'shutdown', startedAt: clock.now() }
    await options.onAction(pending)
  }
  let powerOffAt = pending.type === 'power_off' ? pending.startedAt : null

  for (;;) {
    if ((await dropletStatus(cloud, dropletId)) === 'off') return
    const status = await resumeAction(cloud, pending.actionId)
    const now = clock.now()
    if (pending.type === 'shutdown' && (status === 'errored' || now - pending.startedAt >= graceMs)) {
      const action = await cloud.dropletAction(dropletId, { type: 'power_off' })
      pending = { actionId: action.id, type: 'power_off', startedAt: pending.startedAt }
      powerOffAt = now
      await options.onAction(pending)
      continue
    }
    if (pending.type === 'power_off') {
      // A restart does not know when power_off was sent; count its time from this run's first look.
      powerOffAt ??= now
      if (status === 'errored') throw new SnapshotStepError('action-errored', 'DigitalOcean could not power the droplet off.')
      if (now - powerOffAt >= hardMs) {
        throw new SnapshotStepError('timed-out', `The droplet did not power off within ${Math.round(hardMs / 60_000)} minutes.`)
      }
    }
    await clock.sleep(pollMs)
  }
}

/**
 * Snapshots the droplet as `name` and returns the snapshot once DigitalOcean lists it as available.
 * Idempotent by name: a snapshot of that name that already exists is returned without a new action.
 */
export async function snapshotDroplet(cloud: SnapshotCloud, dropletId: number, name: string, options: SnapshotOptions): Promise<CloudSnapshot> {
  const { clock } = options
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS
  const timeoutMs = options.timeoutMs ?? 3 * 3_600_000
  const started = clock.now()
  let actionId = options.pendingActionId ?? null

  const byName = async (): Promise<CloudSnapshot | null> => {
    const found = (await cloud.listDropletSnapshots(dropletId)).find((s) => s.name === name)
    // Confirmed through /v2/snapshots too: that is where it is usable (and what resume will ask for).
    return found === undefined ? null : await cloud.getSnapshot(found.id)
  }

  while (actionId === null) {
    const existing = await byName()
    if (existing !== null) return existing
    try {
      actionId = (await cloud.dropletAction(dropletId, { type: 'snapshot', name })).id
      await options.onAction(actionId)
    } catch (error) {
      // "Pending event": an action we never heard back about (a crash before it was stored) is still
      // running; wait for it to end and for its snapshot to appear by name.
      if (!isPendingEvent(error)) throw error
      if (clock.now() - started >= timeoutMs) throw new SnapshotStepError('timed-out', 'The droplet stayed busy with another action.')
      await clock.sleep(pollMs)
    }
  }

  const outcome = await waitForAction(cloud, actionId, { clock, pollMs, timeoutMs: Math.max(0, timeoutMs - (clock.now() - started)), what: 'the snapshot' })
  if (outcome === 'errored') throw new SnapshotStepError('action-errored', 'DigitalOcean could not take the snapshot.')
  // Completed: the snapshot may take a moment to be listed.
  for (let tries = 0; tries < 10; tries++) {
    const snapshot = await byName()
    if (snapshot !== null) return snapshot
    await clock.sleep(pollMs)
  }
  throw new SnapshotStepError('snapshot-missing', 'DigitalOcean finished the snapshot but does not list it.')
}
