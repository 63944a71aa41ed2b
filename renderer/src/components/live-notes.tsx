// The engine's live notes (main/core/engine/live-notes.ts), followed once for the whole page, and the
// card's line for DigitalOcean trouble during a deploy: "DigitalOcean isn't answering (HTTP 503);
// retrying — nothing has been created yet", with how long it has lasted.
import { useSyncExternalStore } from 'react'
import type { LiveNote } from '../../../preload/contract'
import { duration } from '../format'
import { guarded, useAppStore } from '../store'
import './trust.css'

let notes: Record<string, LiveNote> = {}
const listeners = new Set<() => void>()
let following = false

function publish(next: Record<string, LiveNote>): void {
  notes = next
  for (const listener of listeners) listener()
}

function subscribe(listener: () => void): () => void {
  if (!following) {
    following = true
    window.dictumal.deployments.onLive(publish)
    void guarded(() => window.dictumal.deployments.live()).then((first) => {
      if (first) publish({ ...first, ...notes })
    })
  }
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function useLiveNote(deploymentId: string): LiveNote | undefined {
  return useSyncExternalStore(subscribe, () => notes[deploymentId])
}

export function CloudTroubleNote({ deploymentId, now }: { deploymentId: string; now: number }) {
  const note = useLiveNote(deploymentId)
  if (!note?.cloud) return null
  const lasted = now - Date.parse(note.cloud.since)
  return (
    <div role="status" className="note warn cloud-trouble" data-testid="cloud-trouble">
      <p className="note-title">{note.cloud.message}</p>
      {lasted >= 1000 && <p className="muted small">For {duration(lasted)} so far.</p>}
    </div>
  )
}

function roughly(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (ms < 45_000) return 'less than a minute left'
  return minutes <= 1 ? 'about 1 min left' : `about ${minutes} min left`
}

/** "Step 5 of 9 · Downloading the Guacamole images · about 3 min left", from the droplet's beacon. */
export function SetupStepLine({ deploymentId }: { deploymentId: string }) {
  const setup = useLiveNote(deploymentId)?.setup
  if (!setup) return null
  return (
    <p className="setup-step" data-testid="setup-step">
      <strong>
        Step {setup.index} of {setup.total}
      </strong>{' '}
      · {setup.title} · <span className="num">{roughly(setup.leftMs)}</span>{' '}
      <span className="muted small">
        ({setup.measured > 0 ? `estimate from ${setup.measured} past ${setup.measured === 1 ? 'deployment' : 'deployments'} here` : 'a first estimate'})
      </span>
    </p>
  )
}

/** In the deploy dialog while DigitalOcean is asked: its trouble with the create just sent, if any. */
export function CreateTroubleNote({ constitutionId }: { constitutionId: string }) {
  // The record is stored before DigitalOcean is asked: the newest one of this constitution without a droplet yet.
  const pending = useAppStore((s) => {
    const mine = s.deployments.filter((d) => d.constitutionId === constitutionId && d.status === 'PROVISIONING' && d.dropletId === null)
    return mine.length === 0 ? null : mine.reduce((a, b) => (b.createdAt > a.createdAt ? b : a)).id
  })
  const note = useLiveNote(pending ?? '')
  if (pending === null || !note?.cloud) return null
  return (
    <div role="status" className="note warn cloud-trouble" data-testid="create-trouble">
      <p className="note-title">{note.cloud.message}</p>
    </div>
  )
}
