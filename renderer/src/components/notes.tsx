// Small shared pieces: an expected error told as a sentence (plus hint), and a status badge.
import type { DeploymentStatus, UserError } from '../../../preload/contract'
import { statusLabel } from '../format'

export function ErrorNote({ error }: { error: UserError }) {
  return (
    <div role="alert" className="note error">
      <p className="note-title">{error.message}</p>
      {error.hint && <p>{error.hint}</p>}
    </div>
  )
}

export function StatusBadge({ status }: { status: DeploymentStatus }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{statusLabel(status)}</span>
}
