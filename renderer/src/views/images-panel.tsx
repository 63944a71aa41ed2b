// Settings › Images: desktop images (SPEC §10) with live build progress, build, delete and copy to
// another region. An image is a snapshot of a droplet with the desktop already installed, so a deploy
// from it only personalises: about a minute instead of several.
import { useEffect, useId, useState } from 'react'
import type { DesktopImage, UserError } from '../../../preload/contract'
import { ConfirmDialog } from '../components/dialog'
import { ErrorNote } from '../components/notes'
import { followImages, imageStageLabel, snapshotMonthlyCost, useImages } from '../images-store'
import { guarded, loadCatalog, useAppStore } from '../store'

export function ImagesPanel() {
  const images = useImages((s) => s.images)
  const catalog = useAppStore((s) => s.catalog)
  const settings = useAppStore((s) => s.settings)
  const ids = { region: useId() }
  const [region, setRegion] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<UserError | null>(null)
  const [deleting, setDeleting] = useState<DesktopImage | null>(null)

  useEffect(() => followImages(), [])
  useEffect(() => {
    if (!catalog) void loadCatalog()
  }, [catalog])
  const regions = catalog?.ok ? catalog.value.regions.filter((r) => r.available) : []
  const chosen = region || settings?.settings.defaultRegion || regions[0]?.slug || ''

  const run = async (task: () => Promise<{ ok: true } | { ok: false; error: UserError } | undefined>) => {
    setBusy(true)
    setError(null)
    const result = await guarded(task)
    setBusy(false)
    if (result && !result.ok) setError(result.error)
  }

  return (
    <div className="panel images-panel" role="group" aria-labelledby="images-title">
      <h2 id="images-title">Desktop images</h2>
      <p className="muted">
        A desktop image is a snapshot of a droplet with the desktop already installed. Deploys in its region start from it and only
        personalise (user, passwords, certificate, constitution). Storage costs $0.06 per GiB a month while you keep it.
      </p>
      <div className="row">
        <label htmlFor={ids.region}>Build in region</label>
        <select id={ids.region} value={chosen} onChange={(e) => setRegion(e.target.value)} disabled={busy || regions.length === 0}>
          {regions.map((r) => (
            <option key={r.slug} value={r.slug}>
              {r.name} ({r.slug})
            </option>
          ))}
        </select>
        <button type="button" className="button primary" disabled={busy || !chosen} onClick={() => void run(() => window.dictumal.images.build({ region: chosen }))}>
          Build image
        </button>
      </div>
      {error && <ErrorNote error={error} />}
      {images === null ? (
        <p className="muted">Loading…</p>
      ) : images.length === 0 ? (
        <p className="muted" data-testid="no-images">
          No images yet. Building one takes a builder droplet about as long as a fresh deploy; it is deleted afterwards.
        </p>
      ) : (
        <ul className="image-list" aria-label="Desktop images">
          {images.map((image) => (
            <ImageRow
              key={image.id}
              image={image}
              regions={regions.map((r) => r.slug)}
              busy={busy}
              onCopy={(target) => void run(() => window.dictumal.images.copy({ id: image.id, region: target }))}
              onDelete={() => setDeleting(image)}
            />
          ))}
        </ul>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete image ${deleting.name}?`}
          message={
            deleting.status === 'BUILDING'
              ? 'The build stops; its builder droplet and any partial snapshot are deleted.'
              : 'Its snapshot is deleted at DigitalOcean. New deploys then install from scratch until you build another.'
          }
          confirmLabel="Delete image"
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            const result = await guarded(() => window.dictumal.images.remove(deleting.id))
            return result && !result.ok ? result.error.message : undefined
          }}
        />
      )}
    </div>
  )
}

function ImageRow({
  image,
  regions,
  busy,
  onCopy,
  onDelete,
}: {
  image: DesktopImage
  regions: string[]
  busy: boolean
  onCopy: (region: string) => void
  onDelete: () => void
}) {
  const ids = { copy: useId() }
  const targets = regions.filter((r) => !image.regions.includes(r) && !image.transfers.some((t) => t.region === r))
  const [target, setTarget] = useState('')
  const percent = Math.round(image.percent)
  return (
    <li className="image-row" data-testid="image-row" aria-label={image.name}>
      <div className="progress-line">
        <span>
          <code>{image.name}</code> <span className={`badge image-${image.status.toLowerCase()}`}>{image.status === 'READY' ? 'Ready' : image.status === 'BUILDING' ? 'Building' : 'Error'}</span>
        </span>
        <span className="num muted">
          {image.regions.length > 0 ? image.regions.join(', ') : image.region} · {image.sizeGigabytes === null ? 'size not known yet' : `${image.sizeGigabytes.toFixed(1)} GiB · ${snapshotMonthlyCost(image.sizeGigabytes)}`}
        </span>
      </div>
      {image.status === 'BUILDING' && (
        <>
          <div className="bar" role="progressbar" aria-label={`Build of ${image.name}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={`${percent} %, ${imageStageLabel(image.stage)}`}>
            <div className="bar-fill" style={{ width: `${percent}%` }} />
          </div>
          <p className="muted">
            {imageStageLabel(image.stage)} · {percent} %
          </p>
        </>
      )}
      {image.transfers.length > 0 && <p className="muted">Copying to {image.transfers.map((t) => t.region).join(', ')}…</p>}
      {image.error && <p className="note error">{image.error}</p>}
      <div className="row">
        {image.status === 'READY' && targets.length > 0 && (
          <>
            <label htmlFor={ids.copy} className="muted">
              Copy to
            </label>
            <select id={ids.copy} value={target || targets[0]} onChange={(e) => setTarget(e.target.value)} disabled={busy}>
              {targets.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <button type="button" className="button" disabled={busy} onClick={() => onCopy(target || targets[0] || '')}>
              Copy
            </button>
          </>
        )}
        <button type="button" className="button quiet" disabled={busy} onClick={onDelete}>
          Delete
        </button>
      </div>
    </li>
  )
}
