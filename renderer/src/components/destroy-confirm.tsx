// Destroy with guards: a desktop that has been up a while asks the user to confirm that its files are
// lost and says what it cost; afterwards a toast says "Destroyed — billing stopped — total $0.21".
// Destroyed cards offer "Deploy again" with the same constitution (and the same SSH keys ticked).
import { useEffect, useId, useState } from 'react'
import type { Deployment } from '../../../preload/contract'
import { costSoFar, money } from '../format'
import { guarded, useAppStore } from '../store'
import { Dialog } from './dialog'
import './trust.css'

/** Up longer than this, a desktop may hold work: Destroy asks for a checked "files are lost". */
export const GUARD_AFTER_MS = 5 * 60_000

export function needsGuard(d: Pick<Deployment, 'status' | 'createdAt' | 'activeAt'>, now: number): boolean {
  if (d.status === 'ERROR') return false
  if (d.status === 'HIBERNATED') return true
  return d.activeAt !== null && now - Date.parse(d.activeAt) > GUARD_AFTER_MS
}

interface Props {
  deployment: Deployment
  title: string
  priceHourly: number | null
  now: number
  onClose(): void
  onDestroyed(message: string): void
}

export function DestroyConfirm({ deployment: d, title, priceHourly, now, onClose, onDestroyed }: Props) {
  const guard = needsGuard(d, now)
  const [understood, setUnderstood] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const box = useId()
  const what = d.status === 'HIBERNATED' ? `The snapshot of ${d.name}` : `The droplet ${d.name}${d.ip ? ` at ${d.ip}` : ''}`
  const cost = priceHourly === null ? null : costSoFar(priceHourly, d, now)

  const destroy = async () => {
    if (guard && !understood) return
    setBusy(true)
    setError(null)
    const result = await guarded(() => window.dictumal.deployments.destroy(d.id))
    setBusy(false)
    if (!result) return
    if (!result.ok) {
      setError(result.error.hint ? `${result.error.message} ${result.error.hint}` : result.error.message)
      return
    }
    const total = priceHourly === null ? null : costSoFar(priceHourly, result.value, Date.now())
    onDestroyed(`Destroyed “${title}” — billing stopped${total === null ? '' : ` — total ${money(total)}`}`)
    onClose()
  }

  return (
    <Dialog
      title={`Destroy “${title}”?`}
      description={`${what} and everything on its desktop are deleted for good. Billing stops.`}
      onClose={onClose}
      busy={busy}
      onSubmit={() => void destroy()}
      actions={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy} autoFocus>
            Cancel
          </button>
          <button type="submit" className="button danger" disabled={busy || (guard && !understood)}>
            {busy ? 'Working…' : 'Destroy'}
          </button>
        </>
      }
    >
      {guard && (
        <div className="note error destroy-guard" data-testid="destroy-guard">
          <p className="note-title">Files on this desktop are lost: nothing is kept once it is destroyed.</p>
          {cost !== null && (
            <p>
              It has cost {money(cost)} so far, at {money(priceHourly ?? 0)} per hour.
            </p>
          )}
          <p className="check-line">
            <input id={box} type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} />
            <label htmlFor={box}>I understand that the files on “{title}” are lost for good</label>
          </p>
        </div>
      )}
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
    </Dialog>
  )
}

/** A short-lived message at the bottom of the page (role=status, so screen readers hear it). */
export function Toast({ message, onDone }: { message: string | null; onDone(): void }) {
  useEffect(() => {
    if (message === null) return
    const timer = setTimeout(onDone, 10_000)
    return () => clearTimeout(timer)
  }, [message, onDone])
  return (
    <div className="toast-slot" role="status" aria-live="polite">
      {message && (
        <p className="toast" data-testid="toast">
          {message}
        </p>
      )}
    </div>
  )
}

/** On a destroyed card: the same constitution, deployed again through the usual dialog. */
export function DeployAgain({ deployment: d, title }: { deployment: Deployment; title: string }) {
  const exists = useAppStore((s) => s.constitutions?.some((c) => c.id === d.constitutionId) ?? false)
  const set = useAppStore((s) => s.set)
  if (!exists) return null
  return (
    <div className="card-actions">
      <button type="button" className="button" onClick={() => set({ deployTarget: d.constitutionId, deploySshKeys: d.sshKeys ?? null })} aria-label={`Deploy ${title} again`}>
        Deploy again
      </button>
    </div>
  )
}

/** Rename and Destroy, kept in a menu at the card's far end, away from Open and Copy IP. */
export function CardMenu({ title, onRename, onDestroy }: { title: string; onRename(): void; onDestroy(): void }) {
  const [open, setOpen] = useState(false)
  const menu = useId()
  const pick = (action: () => void) => () => {
    setOpen(false)
    action()
  }
  return (
    <div className="card-menu">
      <button type="button" className="button quiet" aria-expanded={open} aria-controls={menu} aria-label={`More actions for ${title}`} onClick={() => setOpen((o) => !o)}>
        More ▾
      </button>
      {open && (
        <div id={menu} className="card-menu-items" role="group" aria-label={`More actions for ${title}`}>
          <button type="button" className="button quiet" onClick={pick(onRename)} aria-label={`Rename ${title}`}>
            Rename
          </button>
          <button type="button" className="button quiet danger-text" onClick={pick(onDestroy)} aria-label={`Destroy ${title}`}>
            Destroy…
          </button>
        </div>
      )}
    </div>
  )
}

/** On a failed desktop: one click destroys it (billing stops) and deploys the same constitution again, same region and size. */
export function DestroyAndRetry({ deployment: d, title }: { deployment: Deployment; title: string }) {
  const exists = useAppStore((s) => s.constitutions?.some((c) => c.id === d.constitutionId) ?? false)
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)
  if (!exists) return null
  const retry = async () => {
    setBusy(true)
    setProblem(null)
    const destroyed = await guarded(() => window.dictumal.deployments.destroy(d.id))
    if (destroyed?.ok) {
      // The same SSH keys too ("None" stays none); older records have none kept, and Settings' keys apply.
      const sshKeys = d.sshKeys
      const created = await guarded(() =>
        window.dictumal.deployments.create({ constitutionId: d.constitutionId, region: d.region, size: d.size, ...(sshKeys ? { sshKeys } : {}) }),
      )
      if (created && !created.ok) setProblem(created.error.hint ? `${created.error.message} ${created.error.hint}` : created.error.message)
    } else if (destroyed) {
      setProblem(destroyed.error.message)
    }
    setBusy(false)
  }
  return (
    <>
      <button type="button" className="button primary" onClick={() => void retry()} disabled={busy} aria-label={`Destroy and retry ${title}`}>
        {busy ? 'Retrying…' : 'Destroy and retry'}
      </button>
      {problem && (
        <span role="alert" className="error-text">
          {problem}
        </span>
      )}
    </>
  )
}
