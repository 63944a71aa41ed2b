// Pure presentation helpers: stage names, hints from the MVP troubleshooting playbook, money and time.
// Kept free of React so e2e/ui-format.spec.ts can test them directly.
import { DEPLOYMENT_STAGES, type Deployment, type DeploymentStage, type DeploymentStatus, type ReadinessChecks } from '../../preload/contract'

export function assertNever(value: never): never {
  throw new Error(`Unexpected value: ${String(value)}`)
}

export const STAGES: readonly DeploymentStage[] = DEPLOYMENT_STAGES

export function stageLabel(stage: DeploymentStage): string {
  switch (stage) {
    case 'provisioning-droplet':
      return 'Creating the droplet'
    case 'waiting-for-ip':
      return 'Waiting for an IP address'
    case 'installing-packages':
      return 'Installing the desktop'
    case 'starting-guacamole':
      return 'Starting Guacamole'
    case 'configuring-https':
      return 'Configuring HTTPS'
    case 'final-health-check':
      return 'Final health check'
    case 'active':
      return 'Running'
    case 'stopping':
      return 'Shutting the droplet down'
    case 'snapshotting':
      return 'Taking a snapshot'
    case 'deleting-droplet':
      return 'Deleting the droplet'
    case 'hibernated':
      return 'Hibernated'
    default:
      return assertNever(stage)
  }
}

export function statusLabel(status: DeploymentStatus): string {
  switch (status) {
    // One vocabulary with the stage names and the filters: the badge says the phase, the stage the step.
    case 'PROVISIONING':
    case 'CONFIGURING':
      return 'Setting up'
    case 'ACTIVE':
      return 'Running'
    case 'HIBERNATING':
      return 'Hibernating'
    case 'HIBERNATED':
      return 'Hibernated'
    case 'ERROR':
      return 'Failed'
    case 'DESTROYED':
      return 'Destroyed'
    default:
      return assertNever(status)
  }
}

export function isInProgress(status: DeploymentStatus): boolean {
  return status === 'PROVISIONING' || status === 'CONFIGURING'
}

export const CHECKS: readonly { key: keyof ReadinessChecks; label: string }[] = [
  { key: 'vnc5901', label: 'VNC (5901)' },
  { key: 'http80', label: 'HTTP (80)' },
  { key: 'guacHttp8080', label: 'Guacamole (8080)' },
  { key: 'guacHttps443', label: 'HTTPS gateway (443)' },
]

export const INIT_LOG = '/var/log/dictumal-init.log'

/** The playbook's advice that applies to this deployment right now, most important first. */
export function hintsFor(d: Deployment): string[] {
  const hints: string[] = []
  if (d.status === 'ERROR') {
    // The engine's message may already say some of this; never tell the user the same thing twice.
    const said = (d.error ?? '').toLowerCase()
    if (!said.includes('costs money') && !said.includes('billed')) {
      hints.push('This droplet still exists and DigitalOcean bills it by the hour until you destroy it.')
    }
    if (d.ip !== null) {
      hints.push(
        said.includes(INIT_LOG)
          ? `To read the log: ssh root@${d.ip} (works if you added an SSH key in Settings), then less ${INIT_LOG}.`
          : `The full setup log is on the droplet at ${INIT_LOG} (ssh root@${d.ip} if you added an SSH key in Settings).`,
      )
    }
    return hints
  }
  if (d.status === 'DESTROYED') return hints
  if (!d.checks.vnc5901 && d.ip !== null) {
    hints.push('VNC (5901) showing as down is expected: it listens only inside the droplet and never blocks activation.')
  }
  if (d.status === 'CONFIGURING') {
    hints.push(`Installing takes a few minutes. The droplet logs every step to ${INIT_LOG}.`)
  }
  return hints
}

/** Hours a deployment has existed (until it was destroyed), for "cost so far". */
export function hoursBilled(d: Pick<Deployment, 'createdAt' | 'destroyedAt'>, now: number): number {
  const start = Date.parse(d.createdAt)
  const end = d.destroyedAt ? Date.parse(d.destroyedAt) : now
  if (!Number.isFinite(start) || !Number.isFinite(end)) return 0
  return Math.max(0, end - start) / 3_600_000
}

export function costSoFar(priceHourly: number, d: Pick<Deployment, 'createdAt' | 'destroyedAt'>, now: number): number {
  return priceHourly * hoursBilled(d, now)
}

/** DigitalOcean bills snapshots at $0.06 per GiB-month (a hibernated desktop costs only this). */
export const SNAPSHOT_PRICE_PER_GIB_MONTH = 0.06

/** The hibernation snapshot's monthly cost, or null while its size is unknown. */
export function snapshotMonthly(d: Pick<Deployment, 'snapshotId' | 'snapshotSizeGigabytes'>): number | null {
  return d.snapshotId === null || d.snapshotSizeGigabytes === null ? null : d.snapshotSizeGigabytes * SNAPSHOT_PRICE_PER_GIB_MONTH
}

/**
 * What a deployment costs per month right now: its droplet while one is billed, plus its snapshot while
 * one is kept. Null when the droplet's price is not known yet.
 */
export function monthlyNow(d: Pick<Deployment, 'status' | 'snapshotId' | 'snapshotSizeGigabytes'>, dropletMonthly: number | null): number | null {
  if (d.status === 'DESTROYED') return 0
  const snapshot = snapshotMonthly(d) ?? 0
  if (d.status === 'HIBERNATED') return snapshot
  return dropletMonthly === null ? null : dropletMonthly + snapshot
}

export function money(value: number): string {
  // Sub-cent amounts matter for the first minutes of a droplet, so show three decimals below $1.
  const digits = value < 1 ? 3 : 2
  return `$${value.toFixed(digits)}`
}

/** "2 h 05 min", "4 min 07 s", "12 s" — compact and stable in width for a running counter. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`
  if (m > 0) return `${m} min ${String(s).padStart(2, '0')} s`
  return `${s} s`
}

export function age(iso: string, now: number): string {
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return 'unknown'
  const ms = Math.max(0, now - t)
  const days = Math.floor(ms / 86_400_000)
  if (days >= 1) return `${days} d`
  return duration(ms)
}

export function memory(mb: number): string {
  return mb >= 1024 ? `${mb / 1024} GB` : `${mb} MB`
}
