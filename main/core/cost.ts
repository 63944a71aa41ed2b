// What the desktops cost right now, as numbers and as one line ("3 running · $0.108/h · ≈ $78.00 per
// month"), for the Deployments page, the tray and the CLI. Pure: prices come in, nothing is asked.
import type { CostSummary, Deployment, DeploymentStatus } from '../../preload/contract'

/** DigitalOcean bills snapshots at $0.06 per GiB-month (a hibernated desktop costs only this). */
export const SNAPSHOT_PRICE_PER_GIB_MONTH = 0.06

export interface SizePrice {
  priceHourly: number
  priceMonthly: number
}

export type PriceList = ReadonlyMap<string, SizePrice>

/** Statuses in which a droplet exists and is billed by the hour: a failed one bills like a running one. */
export function billsDroplet(status: DeploymentStatus): boolean {
  return status === 'PROVISIONING' || status === 'CONFIGURING' || status === 'ACTIVE' || status === 'ERROR' || status === 'HIBERNATING'
}

function snapshotMonthly(d: Pick<Deployment, 'snapshotId' | 'snapshotSizeGigabytes'>): number {
  return d.snapshotId === null || d.snapshotSizeGigabytes === null ? 0 : d.snapshotSizeGigabytes * SNAPSHOT_PRICE_PER_GIB_MONTH
}

/** Sub-cent amounts matter for the first minutes of a droplet, so three decimals below $1. */
export function money(value: number): string {
  return `$${value.toFixed(value < 1 ? 3 : 2)}`
}

export function summarizeCost(deployments: readonly Deployment[], prices: PriceList | null): CostSummary {
  let billed = 0
  let failed = 0
  let hibernated = 0
  let hourly: number | null = 0
  let monthly: number | null = 0
  for (const d of deployments) {
    if (d.status === 'DESTROYED') continue
    const snapshot = snapshotMonthly(d)
    if (d.status === 'HIBERNATED') {
      hibernated++
      if (monthly !== null) monthly += snapshot
      continue
    }
    if (!billsDroplet(d.status)) continue
    billed++
    if (d.status === 'ERROR') failed++
    const price = prices?.get(d.size)
    if (price === undefined) {
      hourly = null
      monthly = null
      continue
    }
    if (hourly !== null) hourly += price.priceHourly
    if (monthly !== null) monthly += price.priceMonthly + snapshot
  }
  return { billed, failed, hibernated, hourly, monthly, text: costLine({ billed, failed, hibernated, hourly, monthly }) }
}

/** "3 running (1 failed) · 1 hibernated · $0.108/h · ≈ $78.00 per month"; "Nothing is billed" when so. */
export function costLine(s: Omit<CostSummary, 'text'>): string {
  if (s.billed === 0 && s.hibernated === 0) return 'Nothing is billed now'
  const parts: string[] = []
  if (s.billed > 0 || s.hibernated === 0) parts.push(`${s.billed} running${s.failed > 0 ? ` (${s.failed} failed, still billed)` : ''}`)
  if (s.hibernated > 0) parts.push(`${s.hibernated} hibernated`)
  if (s.billed > 0) parts.push(s.hourly === null ? 'price unknown' : `${money(s.hourly)}/h`)
  if (s.monthly !== null) parts.push(`≈ ${money(s.monthly)} per month`)
  return parts.join(' · ')
}
