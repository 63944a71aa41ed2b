// A modal built on the native <dialog>: showModal() makes the page behind it inert (focus stays
// inside) and Escape closes it, so keyboard users get the behaviour without a focus-trap library.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react'

interface DialogProps {
  title: string
  onClose(): void
  children: ReactNode
  /** Buttons at the bottom, right-aligned. */
  actions: ReactNode
  description?: string
  wide?: boolean
  /** Closing is refused while something is in flight. */
  busy?: boolean
  /** Enter in a field, or a submit button, runs this. */
  onSubmit?(): void
}

export function Dialog({ title, onClose, children, actions, description, wide, busy, onSubmit }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const descriptionId = useId()
  const closeRef = useRef(onClose)
  closeRef.current = onClose
  const busyRef = useRef(busy)
  busyRef.current = busy

  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null
    dialog.showModal()
    const onCancel = (event: Event) => {
      event.preventDefault()
      if (!busyRef.current) closeRef.current()
    }
    dialog.addEventListener('cancel', onCancel)
    return () => {
      dialog.removeEventListener('cancel', onCancel)
      dialog.close()
      // Give focus back to whatever opened the dialog, as a keyboard user expects.
      previous?.focus()
    }
  }, [])

  return (
    <dialog
      ref={ref}
      className={wide ? 'dialog wide' : 'dialog'}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
    >
      <form
        className="dialog-body"
        onSubmit={(event) => {
          event.preventDefault()
          if (!busy) onSubmit?.()
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {description && <p id={descriptionId} className="muted">{description}</p>}
        {children}
        <div className="dialog-actions">{actions}</div>
      </form>
    </dialog>
  )
}

interface ConfirmProps {
  title: string
  message: string
  confirmLabel: string
  /** Resolves to an error sentence to show, or nothing when the dialog may close. */
  onConfirm(): Promise<string | undefined>
  onClose(): void
  danger?: boolean
}

export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onClose, danger }: ConfirmProps) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const confirm = async () => {
    setBusy(true)
    setError(null)
    const problem = await onConfirm()
    setBusy(false)
    if (problem) setError(problem)
    else onClose()
  }
  return (
    <Dialog
      title={title}
      description={message}
      onClose={onClose}
      busy={busy}
      onSubmit={() => void confirm()}
      actions={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy} autoFocus>
            Cancel
          </button>
          <button type="submit" className={danger ? 'button danger' : 'button primary'} disabled={busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </>
      }
    >
      {error && <p role="alert" className="error-text">{error}</p>}
    </Dialog>
  )
}
