// Idle auto-hibernate (SPEC §10): an ACTIVE desktop nobody has had open for `idleHibernateMinutes` is
// hibernated, after a warning a few minutes before that offers "Keep running". The droplet's beacon says
// when a desktop connection was last open (`lastActivityAt`); a droplet that does not report it is
// never auto-hibernated, because its idleness cannot be known. The decision is a pure function.
import type { Deployment } from '../../../preload/contract'
import type { Clock } from '../digitalocean'
import { systemClock } from '../digitalocean'
import { log } from '../log'

export type IdleVerdict = { kind: 'keep' } | { kind: 'warn'; hibernateAt: number } | { kind: 'hibernate' }

export interface IdleInput {
  now: number
  /** The setting; null (or not above zero) means off. */
  idleMinutes: number | null
  /** From the beacon: an ISO time, null when no connection was ever open, undefined when not reported. */
  lastActivityAt: string | null | undefined
  /** When the desktop became ACTIVE: idleness never counts from before it was usable. */
  activeAt: string | null
  /** When the user last chose "Keep running": the idle clock starts again from there. */
  keptAt?: number
}

/** How long before hibernating the warning comes: five minutes, or half the idle time if that is shorter. */
export function warningLeadMs(idleMinutes: number): number {
  return Math.min(5 * 60_000, (idleMinutes * 60_000) / 2)
}

export function idleVerdict(input: IdleInput): IdleVerdict {
  const minutes = input.idleMinutes
  if (minutes === null || !(minutes > 0)) return { kind: 'keep' }
  if (input.lastActivityAt === undefined) return { kind: 'keep' }
  const times = [input.lastActivityAt, input.activeAt].filter((t): t is string => t !== null).map((t) => Date.parse(t)).filter(Number.isFinite)
  if (input.keptAt !== undefined) times.push(input.keptAt)
  if (times.length === 0) return { kind: 'keep' }
  const last = Math.max(...times)
  const hibernateAt = last + minutes * 60_000
  if (input.now >= hibernateAt) return { kind: 'hibernate' }
  if (input.now >= hibernateAt - warningLeadMs(minutes)) return { kind: 'warn', hibernateAt }
  return { kind: 'keep' }
}

export interface IdleWatcherOptions {
  deployments(): Deployment[]
  idleMinutes(): number | null
  /** The beacon's lastActivityAt for this desktop (undefined when unreachable or not reported). */
  lastActivity(d: Deployment): Promise<string | null | undefined>
  hibernate(id: string): Promise<unknown>
  clock?: Clock
  /** How often desktops are looked at (default one minute). */
  intervalMs?: number
}

export class IdleWatcher {
  private readonly clock: Clock
  private readonly kept = new Map<string, number>()
  private readonly warned = new Map<string, number>()
  private readonly listeners = new Set<(d: Deployment, hibernateAt: number) => void>()
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null

  constructor(private readonly options: IdleWatcherOptions) {
    this.clock = options.clock ?? systemClock
  }

  /** Told once per idle spell that a desktop hibernates at `hibernateAt` unless kept running. */
  onWarning(listener: (d: Deployment, hibernateAt: number) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** "Keep running": the idle clock starts again now, and a new warning comes before the next hibernation. */
  keepRunning(id: string): void {
    this.kept.set(id, this.clock.now())
    this.warned.delete(id)
  }

  /** One look at every ACTIVE desktop; returns what was decided, for tests and logs. */
  async tick(): Promise<Map<string, IdleVerdict['kind']>> {
    const decided = new Map<string, IdleVerdict['kind']>()
    const minutes = this.options.idleMinutes()
    if (minutes === null || !(minutes > 0)) return decided
    for (const d of this.options.deployments()) {
      if (d.status !== 'ACTIVE' || d.ip === null) continue
      let lastActivityAt: string | null | undefined
      try {
        lastActivityAt = await this.options.lastActivity(d)
      } catch {
        lastActivityAt = undefined
      }
      const kept = this.kept.get(d.id)
      const verdict = idleVerdict({ now: this.clock.now(), idleMinutes: minutes, lastActivityAt, activeAt: d.activeAt, ...(kept === undefined ? {} : { keptAt: kept }) })
      decided.set(d.id, verdict.kind)
      if (verdict.kind === 'keep') {
        // Used again: the next idle spell gets its own warning.
        this.warned.delete(d.id)
      } else if (verdict.kind === 'warn') {
        if (this.warned.get(d.id) !== verdict.hibernateAt) {
          this.warned.set(d.id, verdict.hibernateAt)
          for (const listener of this.listeners) listener(d, verdict.hibernateAt)
        }
      } else {
        this.warned.delete(d.id)
        this.kept.delete(d.id)
        log.info('idle', `${d.id.slice(0, 8)} idle for ${minutes} minutes: hibernating`)
        await this.options.hibernate(d.id).catch((error: unknown) => log.warn('idle', `auto-hibernate of ${d.id.slice(0, 8)} failed`, error))
      }
    }
    return decided
  }

  start(): () => void {
    const beat = (): void => {
      if (this.running) return
      this.running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => log.warn('idle', 'idle check failed', error))
        .finally(() => {
          this.running = null
        })
    }
    this.timer = setInterval(beat, this.options.intervalMs ?? 60_000)
    this.timer.unref()
    return () => {
      if (this.timer) clearInterval(this.timer)
      this.timer = null
    }
  }
}
