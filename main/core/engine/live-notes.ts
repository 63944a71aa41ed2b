// What the engine knows about a deployment right now that is not worth a write to the data file:
// DigitalOcean trouble during a deploy ("DigitalOcean isn't answering (HTTP 503); retrying — nothing
// has been created yet"). Kept in memory by the running engine and pushed to the window as it changes.
import type { HealthNote, LiveNote, SetupStepNote } from '../../../preload/contract'

/** Where the deployment stands when DigitalOcean misbehaves: it decides what can be promised. */
export type TroubleMoment = 'creating' | 'unconfirmed' | 'exists'

interface CloudFailure {
  code?: unknown
  status?: unknown
  retryAfterMs?: unknown
}

function what(error: unknown): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as CloudFailure
  const status = typeof e.status === 'number' ? e.status : null
  switch (e.code) {
    case 'rate-limited':
      return 'DigitalOcean is rate limiting this token (HTTP 429)'
    case 'server-error':
      return `DigitalOcean isn't answering (HTTP ${status ?? 500})`
    case 'timeout':
      return "DigitalOcean isn't answering (no reply in time)"
    case 'offline':
      return 'DigitalOcean cannot be reached: this computer seems to be offline'
    case 'dns':
      return "DigitalOcean's API server name does not resolve"
    case 'network':
    case 'tls':
      return 'The connection to DigitalOcean keeps breaking off'
    case 'bad-response':
      return 'DigitalOcean sends replies Dictumal cannot read'
    default:
      return status === null ? "DigitalOcean isn't answering" : `DigitalOcean answers with an error (HTTP ${status})`
  }
}

/** One line for the card: what DigitalOcean does, that Dictumal retries, and what exists so far. */
export function troubleSentence(error: unknown, moment: TroubleMoment): string {
  const state =
    moment === 'creating'
      ? 'nothing has been created yet'
      : moment === 'unconfirmed'
        ? 'the droplet may already exist; Dictumal keeps looking for it'
        : 'the droplet exists and is billed; Dictumal keeps checking on it'
  return `${what(error)}; retrying — ${state}.`
}

export class LiveBoard {
  private readonly notes = new Map<string, LiveNote>()
  private readonly listeners = new Set<(notes: Record<string, LiveNote>) => void>()

  /** Sets the DigitalOcean trouble note; `since` stays that of the first sighting while it lasts. */
  setCloud(id: string, message: string, at: string): void {
    const note = this.notes.get(id) ?? { cloud: null }
    if (note.cloud?.message === message) return
    this.notes.set(id, { ...note, cloud: { message, since: note.cloud?.since ?? at } })
    this.changed()
  }

  clearCloud(id: string): void {
    const note = this.notes.get(id)
    if (!note?.cloud) return
    this.notes.set(id, { ...note, cloud: null })
    this.changed()
  }

  /** A running desktop's health (null once it is no longer watched). */
  setHealth(id: string, health: HealthNote | null): void {
    const note = this.notes.get(id) ?? { cloud: null }
    if (JSON.stringify(note.health ?? null) === JSON.stringify(health)) return
    this.notes.set(id, { ...note, health })
    this.changed()
  }

  /** The droplet's own setup step while it sets up (null once it is done or no longer watched). */
  setSetup(id: string, setup: SetupStepNote | null): void {
    const note = this.notes.get(id) ?? { cloud: null }
    if (JSON.stringify(note.setup ?? null) === JSON.stringify(setup)) return
    this.notes.set(id, { ...note, setup })
    this.changed()
  }

  snapshot(): Record<string, LiveNote> {
    const out: Record<string, LiveNote> = {}
    for (const [id, note] of this.notes) {
      if (note.cloud === null && !note.health && !note.setup) continue
      out[id] = { cloud: note.cloud, ...(note.health ? { health: note.health } : {}), ...(note.setup ? { setup: note.setup } : {}) }
    }
    return out
  }

  onChange(listener: (notes: Record<string, LiveNote>) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private changed(): void {
    const notes = this.snapshot()
    for (const listener of this.listeners) listener(notes)
  }
}
