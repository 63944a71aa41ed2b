// Which of the account's SSH keys go on this droplet (issue 13, item 5): Settings' keys are ticked to
// start with; none, one or several may be chosen. Ids and fingerprints only — the keys themselves stay
// at DigitalOcean, which puts them in root's authorized_keys.
import { useEffect, useState } from 'react'
import type { Result, SettingsView, SshKeyOption } from '../../../preload/contract'
import { guarded } from '../store'
import './setup-log.css'

export const SSH_KEYS_URL = 'https://cloud.digitalocean.com/account/security'

/** The keys Settings (or DIGITALOCEAN_SSH_KEYS) would give a new droplet, by id or fingerprint. */
function defaultsOf(view: SettingsView): string[] {
  return view.overrides.sshKeys ?? view.settings.sshKeys
}

function isDefault(key: SshKeyOption, defaults: readonly string[]): boolean {
  const wanted = new Set(defaults.map((k) => k.trim().toLowerCase()))
  return wanted.has(key.fingerprint.toLowerCase()) || wanted.has(String(key.id))
}

/**
 * The choice as fingerprints, or null while it is not known (keys or Settings still loading, or not
 * listed): then the deploy sends `fallback` — the earlier desktop's keys for a redeploy, else nothing,
 * and the engine uses Settings' keys. `earlier`: the keys of the desktop deployed again, ticked first.
 */
export function useSshKeyChoice(earlier?: readonly string[] | null): {
  keys: Result<SshKeyOption[]> | null
  chosen: string[] | null
  setChosen(next: string[]): void
  fallback: string[] | undefined
} {
  const [settings, setSettings] = useState<SettingsView | null>(null)
  const [keys, setKeys] = useState<Result<SshKeyOption[]> | null>(null)
  const [chosen, setChosen] = useState<string[] | null>(null)
  const [start] = useState(() => (earlier ? [...earlier] : null))
  useEffect(() => {
    // Both asked afresh each time the dialog opens: keys come and go at DigitalOcean, Settings may have changed.
    let live = true
    void guarded(() => window.dictumal.settings.get()).then((view) => {
      if (live && view) setSettings(view)
    })
    void guarded(() => window.dictumal.catalog.sshKeys()).then((result) => {
      if (live && result) setKeys(result)
    })
    return () => {
      live = false
    }
  }, [])
  useEffect(() => {
    if (chosen !== null || keys === null || !keys.ok) return
    const defaults = start ?? (settings === null ? null : defaultsOf(settings))
    if (defaults === null) return
    setChosen(keys.value.filter((k) => isDefault(k, defaults)).map((k) => k.fingerprint))
  }, [keys, settings, chosen, start])
  return { keys, chosen, setChosen, fallback: start ?? undefined }
}

export function SshKeyChoice({
  keys,
  chosen,
  onChange,
  disabled,
  earlier = false,
}: {
  keys: Result<SshKeyOption[]> | null
  chosen: string[] | null
  onChange(next: string[]): void
  disabled?: boolean
  /** Deploying a desktop again: until the choice is known, it gets the keys of the one before. */
  earlier?: boolean
}) {
  const unknown = earlier ? 'the keys of the desktop it replaces' : 'the keys chosen in Settings, if any'
  const note = (
    <p className="muted small" data-testid="ssh-log-note">
      With an SSH key you can also read the setup log over SSH: <code>ssh root@&lt;IP&gt; tail -f /var/log/dictumal-init.log</code>.
    </p>
  )
  return (
    <fieldset className="field ssh-keys" disabled={disabled} data-testid="ssh-key-choice">
      <legend>SSH keys for this droplet</legend>
      {keys === null ? (
        <p className="muted small" role="status">
          Listing your SSH keys…
        </p>
      ) : !keys.ok ? (
        <p className="note warn" role="status" data-testid="ssh-keys-problem">
          Your SSH keys could not be listed ({keys.error.message.replace(/\.$/, '')}); you can still deploy, and the droplet gets {unknown}.
        </p>
      ) : keys.value.length === 0 ? (
        <p className="muted small" data-testid="ssh-keys-none">
          Your DigitalOcean account has no SSH keys, so the droplet gets none. To add one, open{' '}
          <a href={SSH_KEYS_URL} target="_blank" rel="noreferrer">
            Settings → Security in DigitalOcean
          </a>{' '}
          and choose Add SSH Key; it shows up here the next time you deploy.
        </p>
      ) : (
        <>
          {keys.value.map((k) => (
            <label key={k.id}>
              <input
                type="checkbox"
                checked={chosen?.includes(k.fingerprint) ?? false}
                // Until Settings is known the boxes would lie about what the droplet gets: they wait.
                disabled={chosen === null}
                onChange={(e) => {
                  const rest = (chosen ?? []).filter((f) => f !== k.fingerprint)
                  onChange(e.target.checked ? [...rest, k.fingerprint] : rest)
                }}
              />
              <span>
                {k.name} <span className="fingerprint">{k.fingerprint}</span>
              </span>
            </label>
          ))}
          <p className="muted small" data-testid="ssh-keys-summary">
            {chosen === null
              ? earlier
                ? 'The keys of the desktop it replaces.'
                : 'The keys chosen in Settings, if any (the boxes can be changed once Dictumal has read its settings).'
              : chosen.length === 0
              ? 'None: nobody can log in over SSH; the setup log is still readable in Dictumal.'
              : `${chosen.length} ${chosen.length === 1 ? 'key' : 'keys'} chosen (Settings decides which are ticked first).`}
          </p>
        </>
      )}
      {note}
    </fieldset>
  )
}
