// What the tray menu shows and which desktop notifications fire, as plain data: main/tray.ts and
// main/notifications.ts only translate these into Electron objects.
import type { CostSummary, Deployment } from '../../preload/contract'
import { displayNameOf } from './display-name'
import { redact } from './log'

export type TrayAction =
  | { kind: 'open'; deploymentId: string }
  | { kind: 'resume'; deploymentId: string }
  | { kind: 'new-deployment' }
  | { kind: 'show-window' }
  | { kind: 'quit' }

export interface TrayMenuItem {
  id: string
  label: string
  enabled: boolean
  type?: 'separator'
  action?: TrayAction
}

export interface TrayNotification {
  title: string
  body: string
  deploymentId: string
  kind: 'active' | 'error' | 'hibernated'
}

const MAX_NAME = 40

/** Names are user text: no control characters, and short enough for a menu. */
function displayName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim() || 'Untitled desktop'
  return clean.length > MAX_NAME ? `${clean.slice(0, MAX_NAME - 1)}…` : clean
}

function percentOf(deployment: Deployment): number {
  const value = Math.round(deployment.percent)
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0
}

function deploymentItem(deployment: Deployment): TrayMenuItem {
  const name = displayName(displayNameOf(deployment))
  const id = `deployment:${deployment.id}`
  switch (deployment.status) {
    case 'ACTIVE':
      return { id, label: `${name} — Active · Open`, enabled: true, action: { kind: 'open', deploymentId: deployment.id } }
    case 'PROVISIONING':
      return { id, label: `${name} — Provisioning ${percentOf(deployment)} %`, enabled: true, action: { kind: 'show-window' } }
    case 'CONFIGURING':
      return { id, label: `${name} — Configuring ${percentOf(deployment)} %`, enabled: true, action: { kind: 'show-window' } }
    case 'HIBERNATING':
      return { id, label: `${name} — Hibernating ${percentOf(deployment)} %`, enabled: true, action: { kind: 'show-window' } }
    case 'HIBERNATED':
      return { id, label: `${name} — Hibernated · Resume`, enabled: true, action: { kind: 'resume', deploymentId: deployment.id } }
    case 'ERROR':
      // The window is where Destroy lives; a failed droplet is still billed.
      return { id, label: `${name} — Error`, enabled: true, action: { kind: 'show-window' } }
    case 'DESTROYED':
      throw new Error('deploymentItem: destroyed deployments are not listed')
    default:
      return assertNever(deployment.status)
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`)
}

/**
 * Newest first, so the desktop just deployed is at the top. DESTROYED ones are history, not menu items.
 * With a cost summary (main/core/cost.ts), a line under them says what they cost now.
 */
export function buildTrayMenu(deployments: Deployment[], cost: CostSummary | null = null): TrayMenuItem[] {
  const live = deployments
    .filter((d) => d.status !== 'DESTROYED')
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id.localeCompare(b.id)))
  const items: TrayMenuItem[] =
    live.length > 0 ? live.map(deploymentItem) : [{ id: 'no-deployments', label: 'No desktops yet', enabled: false }]
  if (cost !== null && (cost.billed > 0 || cost.hibernated > 0)) items.push({ id: 'cost', label: `Costs now: ${cost.text}`, enabled: false })
  items.push(
    { id: 'separator-deployments', label: '', enabled: true, type: 'separator' },
    { id: 'new-deployment', label: 'New deployment…', enabled: true, action: { kind: 'new-deployment' } },
    { id: 'show-window', label: 'Show Dictumal', enabled: true, action: { kind: 'show-window' } },
    { id: 'separator-quit', label: '', enabled: true, type: 'separator' },
    { id: 'quit', label: 'Quit', enabled: true, action: { kind: 'quit' } },
  )
  return items
}

const MAX_ERROR = 160

/** The record's error is meant for users, but the body is shown on the lock screen: mask and cap it. */
function errorSummary(error: string | null): string {
  if (!error) return 'Setup failed.'
  const oneLine = redact(error).replace(/\s+/g, ' ').trim()
  const capped = oneLine.length > MAX_ERROR ? `${oneLine.slice(0, MAX_ERROR - 1)}…` : oneLine
  return /[.!?…]$/.test(capped) ? capped : `${capped}.`
}

/** Says once that a failed droplet is still billed: the engine's sentence often says it already. */
function withBillingNote(summary: string): string {
  return /costs money|billed/i.test(summary) ? summary : `${summary} The droplet still costs money until you destroy it.`
}

/**
 * A notification only for a transition INTO ACTIVE or ERROR. A deployment seen for the first time
 * (`previous` undefined, e.g. at app start) is not a transition: nothing is announced twice.
 */
export function notificationFor(previous: Deployment | undefined, next: Deployment): TrayNotification | null {
  if (!previous || previous.id !== next.id || previous.status === next.status) return null
  const name = displayName(displayNameOf(next))
  if (next.status === 'HIBERNATED' && previous.status === 'HIBERNATING') {
    return { kind: 'hibernated', deploymentId: next.id, title: `${name} is hibernated`, body: 'Its droplet is deleted; only the snapshot is billed. Resume brings it back.' }
  }
  // A failed resume is put back to HIBERNATED by Dictumal at once: that is what to tell, not this.
  if (next.status === 'ERROR' && next.hibernation?.op === 'resume') return null
  if (next.status === 'ACTIVE') {
    return {
      kind: 'active',
      deploymentId: next.id,
      title: `${name} is ready`,
      body: 'Your desktop is up. Click to open it.',
    }
  }
  if (next.status === 'ERROR') {
    return {
      kind: 'error',
      deploymentId: next.id,
      title: `${name} failed`,
      body: withBillingNote(errorSummary(next.error)),
    }
  }
  return null
}

/**
 * Remembers the last status of every deployment and turns each new snapshot into the notifications
 * it implies. The first snapshot only seeds the memory, so starting the app announces nothing.
 */
export function trackTransitions(): (deployments: Deployment[]) => TrayNotification[] {
  let known: Map<string, Deployment> | null = null
  return (deployments) => {
    const next = new Map(deployments.map((d) => [d.id, d]))
    const previous = known
    known = next
    if (!previous) return []
    const notes: TrayNotification[] = []
    for (const deployment of deployments) {
      const note = notificationFor(previous.get(deployment.id), deployment)
      if (note) notes.push(note)
    }
    return notes
  }
}
