// One name for a desktop everywhere: the display name main keeps on the record (main/core/display-name.ts),
// else the constitution's name, else the droplet's; and the dialog that renames it.
import { useId, useState } from 'react'
import type { Deployment, UserError } from '../../../preload/contract'
import { guarded } from '../store'
import { Dialog } from './dialog'
import { ErrorNote } from './notes'

export function displayTitle(d: Pick<Deployment, 'name' | 'displayName'>, constitutionName?: string): string {
  return d.displayName?.trim() || constitutionName || d.name
}

export function RenameDialog({ deployment, title, onClose }: { deployment: Deployment; title: string; onClose(): void }) {
  const [name, setName] = useState(title)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<UserError | null>(null)
  const field = useId()
  const save = async () => {
    setBusy(true)
    setError(null)
    const result = await guarded(() => window.dictumal.deployments.rename({ id: deployment.id, name }))
    setBusy(false)
    if (result && !result.ok) setError(result.error)
    else if (result) onClose()
  }
  return (
    <Dialog
      title={`Rename “${title}”`}
      description={`The name shows on the card, in the tray, in notifications and above the desktop. The droplet stays ${deployment.name} at DigitalOcean.`}
      onClose={onClose}
      busy={busy}
      onSubmit={() => void save()}
      actions={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Saving…' : 'Rename'}
          </button>
        </>
      }
    >
      <div className="field">
        <label htmlFor={field}>Name</label>
        <input id={field} value={name} maxLength={80} onChange={(e) => setName(e.target.value)} autoFocus />
      </div>
      {error && <ErrorNote error={error} />}
    </Dialog>
  )
}
