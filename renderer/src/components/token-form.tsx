// Paste a DigitalOcean token: masked, validated by main against the API, then kept in the keychain.
import { useId, useState } from 'react'
import type { UserError } from '../../../preload/contract'
import { guarded, useAppStore } from '../store'
import { ErrorNote } from './notes'

export const TOKENS_URL = 'https://cloud.digitalocean.com/account/api/tokens'

/** `onCancel`: shown as a Cancel button (Settings' Replace token); the first-run screen has none. */
export function TokenForm({ submitLabel, onSaved, onCancel }: { submitLabel: string; onSaved?(): void; onCancel?(): void }) {
  const id = useId()
  const [token, setToken] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<UserError | null>(null)
  const set = useAppStore((s) => s.set)

  const save = async () => {
    const value = token.trim()
    if (!value) {
      setError({ code: 'empty', message: 'Paste a token first.' })
      return
    }
    setBusy(true)
    setError(null)
    const result = await guarded(() => window.dictumal.auth.setToken(value))
    setBusy(false)
    if (!result) return
    if (result.ok) {
      setToken('')
      set({ auth: result.value })
      onSaved?.()
    } else {
      setError(result.error)
    }
  }

  return (
    <form
      className="token-form"
      onSubmit={(event) => {
        event.preventDefault()
        void save()
      }}
    >
      <label htmlFor={id}>DigitalOcean personal access token</label>
      <div className="row">
        <input
          id={id}
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="dop_v1_…"
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby={`${id}-hint`}
          disabled={busy}
        />
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Checking…' : submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        )}
      </div>
      <p id={`${id}-hint`} className="muted small">
        Create one with read and write scope at{' '}
        <a href={TOKENS_URL} target="_blank" rel="noreferrer">
          cloud.digitalocean.com › API › Tokens
        </a>
        . Dictumal checks it with DigitalOcean, then keeps it in your system keychain — never in a file.
      </p>
      {error && <ErrorNote error={error} />}
    </form>
  )
}
