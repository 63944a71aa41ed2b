// The Deployments page's cost line: "3 running · $0.108/h · ≈ $78.00 per month", failed desktops
// counted (they bill too), hibernated ones at their snapshot's cost. Main computes it (main/core/cost.ts)
// with DigitalOcean's current prices; it is asked again whenever the deployments change.
import { useEffect, useState } from 'react'
import type { CostSummary, Deployment } from '../../../preload/contract'
import { guarded } from '../store'
import './trust.css'

export function CostSummaryLine({ deployments }: { deployments: readonly Deployment[] }) {
  const [summary, setSummary] = useState<CostSummary | null>(null)
  // Only what changes the cost matters: which desktops exist, in which status, at which size.
  const key = deployments.map((d) => `${d.id}:${d.status}:${d.size}:${d.snapshotSizeGigabytes ?? ''}`).join('|')
  useEffect(() => {
    let live = true
    void guarded(() => window.dictumal.deployments.cost()).then((s) => {
      if (live && s) setSummary(s)
    })
    return () => {
      live = false
    }
  }, [key])
  return (
    <p className={summary && summary.failed > 0 ? 'muted monthly-total cost-failed' : 'muted monthly-total'} data-testid="monthly-total">
      Costs now: <strong className="num">{summary === null ? '—' : summary.text}</strong>
    </p>
  )
}
