// The deploy dialog: region and size from the live catalog (with prices), the image that will be
// used and why, then deployments.create. Expected refusals (sold out, droplet limit) show as sentences.
import { useEffect, useId, useMemo, useState } from 'react'
import type { Catalog, SizeOption, UserError } from '../../../preload/contract'
import { DeployPath } from '../components/deploy-path'
import { DropletLimitNote, useDropletUsage } from '../components/droplet-limit'
import { CreateTroubleNote } from '../components/live-notes'
import { Dialog } from '../components/dialog'
import { ErrorNote } from '../components/notes'
import { RegionSizeFields } from '../components/region-size-fields'
import { SshKeyChoice, useSshKeyChoice } from '../components/ssh-key-choice'
import { runCommand } from '../commands'
import { useRegionLatency } from '../components/use-region-latency'
import { assertNever, memory, money } from '../format'
import { guarded, loadCatalog, useAppStore } from '../store'

export function imageSourceLabel(source: Catalog['image']['source']): string {
  switch (source) {
    case 'env':
      return 'set by DIGITALOCEAN_IMAGE_SLUG'
    case 'setting':
      return 'from your settings'
    case 'latest-ubuntu':
      return 'newest Ubuntu DigitalOcean offers'
    case 'default':
      return 'default'
    default:
      return assertNever(source)
  }
}

export function sizeLabel(size: SizeOption): string {
  return `${size.vcpus} vCPU · ${memory(size.memoryMb)} RAM · ${size.diskGb} GB disk — ${money(size.priceHourly)}/h (${money(size.priceMonthly)}/mo)`
}

export function sizesIn(catalog: Catalog, regionSlug: string): SizeOption[] {
  const region = catalog.regions.find((r) => r.slug === regionSlug)
  if (!region) return []
  return catalog.sizes.filter((s) => s.available && s.regions.includes(regionSlug) && region.sizes.includes(s.slug))
}

export function DeployDialog({ target }: { target: string }) {
  const set = useAppStore((s) => s.set)
  const setView = useAppStore((s) => s.setView)
  const catalog = useAppStore((s) => s.catalog)
  const constitutions = useAppStore((s) => s.constitutions)
  const close = () => set({ deployTarget: null })
  const ids = { constitution: useId(), limit: useId(), name: useId() }
  const usage = useDropletUsage()

  const [constitutionId, setConstitutionId] = useState(target || constitutions?.[0]?.id || '')
  const [region, setRegion] = useState('')
  const [size, setSize] = useState('')
  const [fresh, setFresh] = useState(false)
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<UserError | null>(null)
  // "Deploy again" hands over the earlier desktop's keys; taken once, so the next dialog starts from Settings.
  const [earlier] = useState(() => useAppStore.getState().deploySshKeys)
  useEffect(() => {
    if (useAppStore.getState().deploySshKeys !== null) set({ deploySshKeys: null })
  }, [set])
  const ssh = useSshKeyChoice(earlier)

  useEffect(() => {
    // Prices and availability change: ask DigitalOcean afresh each time the dialog opens.
    void loadCatalog()
  }, [])

  const value = catalog?.ok ? catalog.value : null
  const regions = useMemo(() => value?.regions.filter((r) => r.available) ?? [], [value])
  const sizes = useMemo(() => (value && region ? sizesIn(value, region) : []), [value, region])
  const latency = useRegionLatency(useMemo(() => regions.map((r) => r.slug), [regions]))

  // Start from the defaults once the catalog arrives; keep a size only if the region offers it.
  useEffect(() => {
    if (!value) return
    setRegion((current) => {
      if (current && regions.some((r) => r.slug === current)) return current
      return regions.some((r) => r.slug === value.defaults.region) ? value.defaults.region : (regions[0]?.slug ?? '')
    })
  }, [value, regions])
  useEffect(() => {
    if (!value) return
    setSize((current) => {
      if (current && sizes.some((s) => s.slug === current)) return current
      return sizes.some((s) => s.slug === value.defaults.size) ? value.defaults.size : (sizes[0]?.slug ?? '')
    })
  }, [value, sizes])

  const chosen = sizes.find((s) => s.slug === size)
  const constitution = constitutions?.find((c) => c.id === constitutionId)

  const deploy = async () => {
    if (!constitutionId || !region || !size) return
    setBusy(true)
    setError(null)
    // Choice not known (keys or Settings still loading, or DigitalOcean refused): the earlier desktop's
    // keys for a redeploy, else none are sent and Settings' keys apply.
    const sshKeys = ssh.chosen ?? ssh.fallback
    const result = await guarded(() => window.dictumal.deployments.create({ constitutionId, region, size, fresh, ...(sshKeys ? { sshKeys } : {}) }))
    setBusy(false)
    if (!result) return
    if (!result.ok) {
      setError(result.error)
      return
    }
    // A name of the user's own replaces the one given from the constitution (deployments:rename).
    const wanted = name.trim()
    if (wanted && wanted !== result.value.displayName) {
      const renamed = await guarded(() => window.dictumal.deployments.rename({ id: result.value.id, name: wanted }))
      if (renamed && !renamed.ok) set({ fault: renamed.error.message })
    }
    close()
    setView('deployments')
  }

  const ready = Boolean(value && constitutionId && region && size)
  return (
    <Dialog
      title={target && constitution ? `Deploy “${constitution.name}”` : 'New deployment'}
      description="Creates a droplet on your DigitalOcean account. It is billed by the hour until you destroy it."
      onClose={close}
      busy={busy}
      wide
      onSubmit={() => void deploy()}
      actions={
        <>
          <button type="button" className="button" onClick={close} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={!ready || busy || usage?.atLimit === true} aria-describedby={usage?.atLimit ? ids.limit : undefined}>
            {busy ? 'Creating…' : 'Deploy'}
          </button>
        </>
      }
    >
      {!target && (
        <div className="field">
          <label htmlFor={ids.constitution}>Constitution</label>
          {constitutions && constitutions.length > 0 ? (
            <select id={ids.constitution} value={constitutionId} onChange={(e) => setConstitutionId(e.target.value)}>
              {constitutions.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          ) : (
            <div className="row">
              <p className="muted">Write a constitution first: the desktop is built around it.</p>
              <button
                type="button"
                className="button primary"
                onClick={() => {
                  close()
                  runCommand('new-constitution')
                }}
              >
                Write a constitution
              </button>
            </div>
          )}
        </div>
      )}
      <div className="field">
        <label htmlFor={ids.name}>Name (optional)</label>
        <input id={ids.name} value={name} onChange={(e) => setName(e.target.value)} maxLength={60} placeholder={constitution?.name ?? 'Research desk'} disabled={busy} />
      </div>
      {catalog === null ? (
        <p className="muted" role="status">
          Asking DigitalOcean for regions and prices…
        </p>
      ) : !catalog.ok ? (
        <ErrorNote error={catalog.error} />
      ) : (
        <>
          <RegionSizeFields
            labels={{ region: 'Region', size: 'Size' }}
            regions={regions}
            sizes={sizes}
            region={region}
            size={size}
            onRegion={setRegion}
            onSize={setSize}
            disabled={busy}
            withPrices
            sizeCards={{ recommended: catalog.value.defaults.size }}
            latency={latency}
          />
          <dl className="facts" aria-label="Deployment summary">
            <div>
              <dt>Price</dt>
              <dd className="num" data-testid="deploy-price">
                {chosen ? `${money(chosen.priceHourly)} per hour · ${money(chosen.priceMonthly)} per month` : sizes.length === 0 ? 'No size is offered in this region' : '—'}
              </dd>
            </div>
            <div>
              <dt>Machine</dt>
              <dd>{chosen ? sizeLabel(chosen).split(' — ')[0] : '—'}</dd>
            </div>
            <div>
              <dt>Base image</dt>
              <dd data-testid="deploy-image">
                <code>{catalog.value.image.slug}</code> <span className="muted">({imageSourceLabel(catalog.value.image.source)})</span>
              </dd>
            </div>
          </dl>
          <DeployPath region={region} fresh={fresh} onFresh={setFresh} disabled={busy} />
          <SshKeyChoice keys={ssh.keys} chosen={ssh.chosen} onChange={ssh.setChosen} disabled={busy} earlier={earlier !== null} />
        </>
      )}
      {usage && (
        <DropletLimitNote
          usage={usage}
          id={ids.limit}
          onShowDeployments={() => {
            close()
            setView('deployments')
          }}
        />
      )}
      {busy && <CreateTroubleNote constitutionId={constitutionId} />}
      {error && <ErrorNote error={error} />}
    </Dialog>
  )
}
