// Settings → Remote desktop: whether the desktop page may read the local clipboard. Saved as soon as
// it is switched; main reads it at every permission request, so it applies to open desktops too.
import { useId, useState } from 'react'
import type { SettingsView as SettingsData, UserError } from '../../../preload/contract'
import { ErrorNote } from '../components/notes'
import { guarded, useAppStore } from '../store'

export function DesktopSettings({ view }: { view: SettingsData }) {
  const set = useAppStore((s) => s.set)
  const id = useId()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<UserError | null>(null)
  const [saved, setSaved] = useState(false)
  // Shown switched at once; put back if saving fails.
  const [on, setOn] = useState(view.settings.desktopClipboardRead)

  const toggle = async (next: boolean) => {
    setOn(next)
    setBusy(true)
    setError(null)
    setSaved(false)
    const result = await guarded(() => window.dictumal.settings.update({ desktopClipboardRead: next }))
    setBusy(false)
    if (!result?.ok) {
      setOn(!next)
      if (result) setError(result.error)
      return
    }
    set({ settings: result.value })
    setSaved(true)
  }

  return (
    <div className="panel" role="group" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Remote desktop</h2>
      <label className="choice">
        <input type="checkbox" checked={on} disabled={busy} onChange={(e) => void toggle(e.target.checked)} aria-describedby={`${id}-hint`} />
        <span>Let remote desktops read my clipboard</span>
      </label>
      <p id={`${id}-hint`} className="muted small">
        On: text you copy on this computer can be pasted inside the remote desktop. The desktop page can then read your clipboard
        while it has focus, so a droplet that was taken over could read what you copied. Off: pasting into the remote desktop
        from this computer stops working; copying out of it still works.
      </p>
      {error && <ErrorNote error={error} />}
      <span role="status" className="muted">
        {saved ? 'Saved.' : ''}
      </span>
    </div>
  )
}
