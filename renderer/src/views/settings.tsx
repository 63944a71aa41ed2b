// Settings: the token (replace, remove), defaults for new deployments, image, SSH keys and gateway
// host. A value the environment sets wins; it is shown disabled, naming the variable.
import { useEffect, useId, useMemo, useState } from 'react'
import type { Settings, SettingsView as SettingsData, SshKeyOption, UserError, Result } from '../../../preload/contract'
import { ConfirmDialog } from '../components/dialog'
import { ErrorNote } from '../components/notes'
import { RegionSizeFields } from '../components/region-size-fields'
import { TokenForm } from '../components/token-form'
import { sizesIn } from './deploy-dialog'
import { DesktopSettings } from './settings-desktop'
import { ImagesPanel } from './images-panel'
import { guarded, loadCatalog, loadSettings, useAppStore } from '../store'

type ImageChoice = 'default' | 'latest' | 'slug'

export function SettingsView() {
  const view = useAppStore((s) => s.settings)
  useEffect(() => {
    void loadSettings()
  }, [])
  return (
    <section aria-labelledby="settings-title" className="settings">
      <h1 id="settings-title">Settings</h1>
      <AccountSettings />
      {view ? <DeploymentSettings view={view} /> : <p className="muted">Loading…</p>}
      {view && <DesktopSettings view={view} />}
      <ImagesPanel />
    </section>
  )
}

function AccountSettings() {
  const auth = useAppStore((s) => s.auth)
  const set = useAppStore((s) => s.set)
  const [replacing, setReplacing] = useState(false)
  const [removing, setRemoving] = useState(false)
  if (!auth) return null
  return (
    <div className="panel" role="group" aria-labelledby="account-title">
      <h2 id="account-title">DigitalOcean account</h2>
      <p data-testid="token-source">
        {auth.source === 'env' && (
          <>
            Token: <strong>from environment</strong> (DIGITALOCEAN_API_TOKEN). It is never stored; unset the variable to use the keychain.
          </>
        )}
        {auth.source === 'keychain' && (
          <>
            Token: <strong>stored in your system keychain</strong>.
          </>
        )}
        {auth.source === 'none' && <>No token yet.</>}
      </p>
      {auth.account && (
        <p className="muted">
          Signed in as {auth.account.email} · droplet limit {auth.account.dropletLimit} · account {auth.account.status}
        </p>
      )}
      {auth.problem && <ErrorNote error={auth.problem} />}
      {!auth.keychain.available && (
        <p className="note warn" role="status">
          {auth.keychain.message ?? 'The system keychain is not available.'}
        </p>
      )}
      {auth.source !== 'env' && (
        <>
          {replacing ? (
            <TokenForm submitLabel="Save token" onSaved={() => setReplacing(false)} onCancel={() => setReplacing(false)} />
          ) : (
            <div className="row">
              <button type="button" className="button" onClick={() => setReplacing(true)}>
                {auth.source === 'keychain' ? 'Replace token' : 'Add token'}
              </button>
              {auth.source === 'keychain' && (
                <button type="button" className="button quiet danger-text" onClick={() => setRemoving(true)}>
                  Remove token
                </button>
              )}
            </div>
          )}
        </>
      )}
      {removing && (
        <ConfirmDialog
          title="Remove the token?"
          message="Dictumal forgets the token and can no longer create or watch desktops until you add one. Running droplets keep running."
          confirmLabel="Remove token"
          danger
          onClose={() => setRemoving(false)}
          onConfirm={async () => {
            const result = await guarded(() => window.dictumal.auth.removeToken())
            if (!result) return undefined
            if (!result.ok) return result.error.message
            set({ auth: result.value })
            return undefined
          }}
        />
      )}
    </div>
  )
}

function Overridden({ variable }: { variable: string }) {
  return <span className="override">Set by {variable}</span>
}

function DeploymentSettings({ view }: { view: SettingsData }) {
  const catalog = useAppStore((s) => s.catalog)
  const set = useAppStore((s) => s.set)
  const ids = { slug: useId(), gateway: useId(), image: useId(), idle: useId() }
  const { settings, overrides } = view
  const [draft, setDraft] = useState<Settings>(settings)
  const [idleOn, setIdleOn] = useState(settings.idleHibernateMinutes !== null)
  const [idleMinutes, setIdleMinutes] = useState(String(settings.idleHibernateMinutes ?? 60))
  const [image, setImage] = useState<ImageChoice>(settings.imageSlug ? 'slug' : settings.useLatestUbuntu ? 'latest' : 'default')
  const [keys, setKeys] = useState<Result<SshKeyOption[]> | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<UserError | null>(null)
  const [saved, setSaved] = useState(false)

  useEffect(() => {
    if (catalog === null) void loadCatalog()
  }, [catalog])
  useEffect(() => {
    void guarded(() => window.dictumal.catalog.sshKeys()).then((r) => r && setKeys(r))
  }, [])

  const value = catalog?.ok ? catalog.value : null
  const regions = value?.regions.filter((r) => r.available) ?? []
  const sizes = useMemo(() => (value ? sizesIn(value, draft.defaultRegion) : []), [value, draft.defaultRegion])
  const imageLocked = overrides.imageSlug !== undefined || overrides.useLatestUbuntu !== undefined

  const save = async () => {
    setBusy(true)
    setError(null)
    setSaved(false)
    const patch: Partial<Settings> = {
      defaultRegion: draft.defaultRegion,
      defaultSize: draft.defaultSize,
      gatewayHost: draft.gatewayHost.trim(),
      sshKeys: draft.sshKeys,
    }
    const minutes = Number(idleMinutes)
    // Anything that is not a number is sent as -1, so main answers with its one sentence.
    patch.idleHibernateMinutes = idleOn ? (Number.isFinite(minutes) && idleMinutes.trim() !== '' ? minutes : -1) : null
    if (!imageLocked) {
      patch.imageSlug = image === 'slug' ? draft.imageSlug?.trim() || null : null
      patch.useLatestUbuntu = image === 'latest'
    }
    const result = await guarded(() => window.dictumal.settings.update(patch))
    setBusy(false)
    if (!result) return
    if (!result.ok) {
      setError(result.error)
      return
    }
    setSaved(true)
    set({ settings: result.value })
    // The image and defaults feed the deploy dialog.
    void loadCatalog()
  }

  const toggleKey = (fingerprint: string, on: boolean) =>
    setDraft((d) => ({ ...d, sshKeys: on ? [...d.sshKeys, fingerprint] : d.sshKeys.filter((k) => k !== fingerprint) }))

  return (
    <form
      className="panel"
      aria-labelledby="defaults-title"
      onSubmit={(event) => {
        event.preventDefault()
        void save()
      }}
    >
      <h2 id="defaults-title">New deployments</h2>
      <RegionSizeFields
        labels={{ region: 'Default region', size: 'Default size' }}
        regions={regions}
        sizes={sizes}
        region={draft.defaultRegion}
        size={draft.defaultSize}
        onRegion={(slug) => setDraft({ ...draft, defaultRegion: slug })}
        onSize={(slug) => setDraft({ ...draft, defaultSize: slug })}
        keepUnknown
      />

      <fieldset className="field" disabled={imageLocked}>
        <legend>Image</legend>
        {overrides.imageSlug !== undefined && (
          <p className="muted small">
            <Overridden variable="DIGITALOCEAN_IMAGE_SLUG" />: <code>{overrides.imageSlug}</code>
          </p>
        )}
        {overrides.useLatestUbuntu !== undefined && overrides.imageSlug === undefined && (
          <p className="muted small">
            <Overridden variable="DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE" />
          </p>
        )}
        <label className="choice">
          <input type="radio" name={ids.image} checked={image === 'default'} onChange={() => setImage('default')} />
          <span>
            Ubuntu 24.04 LTS (<code>ubuntu-24-04-x64</code>, recommended)
          </span>
        </label>
        <label className="choice">
          <input type="radio" name={ids.image} checked={image === 'latest'} onChange={() => setImage('latest')} />
          The newest Ubuntu DigitalOcean offers
        </label>
        <label className="choice">
          <input type="radio" name={ids.image} checked={image === 'slug'} onChange={() => setImage('slug')} />
          A specific image
        </label>
        <label htmlFor={ids.slug} className="visually-hidden">
          Image slug
        </label>
        <input
          id={ids.slug}
          className="indent"
          placeholder="ubuntu-24-04-x64"
          value={overrides.imageSlug ?? draft.imageSlug ?? ''}
          disabled={image !== 'slug' || imageLocked}
          onChange={(e) => setDraft({ ...draft, imageSlug: e.target.value })}
        />
      </fieldset>

      <fieldset className="field" disabled={overrides.sshKeys !== undefined}>
        <legend>SSH keys added to new droplets</legend>
        {overrides.sshKeys !== undefined ? (
          <p className="muted small">
            <Overridden variable="DIGITALOCEAN_SSH_KEYS" />: <code>{overrides.sshKeys.join(', ')}</code>
          </p>
        ) : keys === null ? (
          <p className="muted small">Loading your SSH keys…</p>
        ) : !keys.ok ? (
          <ErrorNote error={keys.error} />
        ) : keys.value.length === 0 ? (
          <p className="muted small">Your DigitalOcean account has no SSH keys. Add one there to log in to your droplets with ssh.</p>
        ) : (
          keys.value.map((k) => (
            <label key={k.id} className="choice">
              <input
                type="checkbox"
                checked={draft.sshKeys.includes(k.fingerprint) || draft.sshKeys.includes(String(k.id))}
                onChange={(e) => toggleKey(k.fingerprint, e.target.checked)}
              />
              <span>
                {k.name} <span className="muted small num">{k.fingerprint}</span>
              </span>
            </label>
          ))
        )}
      </fieldset>

      <fieldset className="field">
        <legend>Idle desktops</legend>
        <label className="choice">
          <input type="checkbox" checked={idleOn} onChange={(e) => setIdleOn(e.target.checked)} />
          <span>Hibernate desktops nobody has open for</span>
        </label>
        <div className="idle-minutes">
          <input
            id={ids.idle}
            type="number"
            inputMode="numeric"
            value={idleMinutes}
            disabled={!idleOn}
            onChange={(e) => setIdleMinutes(e.target.value)}
            aria-label="Minutes idle before hibernating"
            aria-describedby={`${ids.idle}-hint`}
          />
          <span>minutes</span>
        </div>
        <p id={`${ids.idle}-hint`} className="muted small">
          Off by default. A notification comes a few minutes before, with Keep running. Hibernating keeps every file; only the snapshot is billed.
        </p>
      </fieldset>

      <div className="field">
        <label htmlFor={ids.gateway}>Gateway host</label>
        <input
          id={ids.gateway}
          placeholder="Blank: connect to the droplet’s IP"
          value={overrides.gatewayHost ?? draft.gatewayHost}
          disabled={overrides.gatewayHost !== undefined}
          onChange={(e) => setDraft({ ...draft, gatewayHost: e.target.value })}
          aria-describedby={`${ids.gateway}-hint`}
        />
        <p id={`${ids.gateway}-hint`} className="muted small">
          {overrides.gatewayHost !== undefined ? <Overridden variable="DICTUMAL_STREAM_GATEWAY_HOST" /> : 'A host name that fronts your desktops, if you run one.'}
        </p>
      </div>

      {error && <ErrorNote error={error} />}
      <div className="row">
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
        <span role="status" className="muted">
          {saved ? 'Saved.' : ''}
        </span>
      </div>
    </form>
  )
}
