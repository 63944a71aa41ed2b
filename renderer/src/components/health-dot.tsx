// A running desktop's health from its re-checks (main/core/engine/health-watch.ts): a green dot with
// the measured round trip, or "Not answering since 14:02" with Reconnect (a re-check now).
import { guarded } from '../store'
import { useLiveNote } from './live-notes'
import './trust.css'

function clock(iso: string): string {
  const t = new Date(iso)
  return `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`
}

export function HealthDot({ deploymentId, title, reconnect = true }: { deploymentId: string; title: string; reconnect?: boolean }) {
  const health = useLiveNote(deploymentId)?.health
  if (!health) return null
  if (health.state === 'ok') {
    return (
      <span className="health ok" data-testid="health" title={`Answered at ${clock(health.checkedAt)}`}>
        <span className="health-dot" aria-hidden="true" />
        {health.roundTripMs === null ? 'Answering' : `Answering · ${health.roundTripMs} ms`}
      </span>
    )
  }
  return (
    <span className="health down" data-testid="health" role="status">
      <span className="health-dot" aria-hidden="true" />
      Not answering since {health.downSince ? clock(health.downSince) : clock(health.checkedAt)}
      {reconnect && (
        <button type="button" className="button link" onClick={() => void guarded(() => window.dictumal.deployments.recheck(deploymentId))} aria-label={`Reconnect to ${title}`}>
          Reconnect
        </button>
      )}
    </span>
  )
}
