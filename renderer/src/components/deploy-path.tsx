// The deploy dialog's word on how the desktop will be made: from a desktop image (fast start) or a
// fresh install, how long each takes as measured on this machine, and the offer to build or copy an
// image when there is none in the region yet.
import { useEffect, useId, useState } from 'react'
import type { DeployPlanView, UserError } from '../../../preload/contract'
import { estimateLabel, followImages, useImages } from '../images-store'
import { guarded } from '../store'
import { ErrorNote } from './notes'

export function DeployPath({ region, fresh, onFresh, disabled }: { region: string; fresh: boolean; onFresh: (fresh: boolean) => void; disabled: boolean }) {
  const images = useImages((s) => s.images)
  const [plan, setPlan] = useState<DeployPlanView | null>(null)
  const [error, setError] = useState<UserError | null>(null)
  const [working, setWorking] = useState(false)
  const ids = { fresh: useId() }

  useEffect(() => followImages(), [])
  useEffect(() => {
    if (!region) return
    let live = true
    // Asked again whenever an image changes: a build finishing here turns the fast path on.
    void guarded(() => window.dictumal.images.plan({ region, fresh })).then((p) => live && p && setPlan(p))
    return () => {
      live = false
    }
  }, [region, fresh, images])

  if (!plan) return null
  const act = async (task: () => Promise<{ ok: true } | { ok: false; error: UserError }>) => {
    setWorking(true)
    setError(null)
    const result = await guarded(task)
    setWorking(false)
    if (result && !result.ok) setError(result.error)
  }
  const building = images?.some((i) => i.status === 'BUILDING' && i.region === region) ?? false

  return (
    <div className="deploy-path" data-testid="deploy-path" data-path={plan.path}>
      <p>
        {plan.path === 'image' && plan.image ? (
          <>
            <strong>Fast start</strong> from desktop image <code>{plan.image.name}</code> (the base image with the desktop already installed): {estimateLabel(plan.estimates.image, 'deploy')} to a usable desktop.
          </>
        ) : (
          <>
            <strong>Fresh install</strong>
            {plan.reason === 'explicit-image' ? ' (an image is set in Settings or DIGITALOCEAN_IMAGE_SLUG)' : ''}: {estimateLabel(plan.estimates.fresh, 'deploy')} to a usable
            desktop.
          </>
        )}
      </p>
      <p className="muted" data-testid="deploy-estimates">
        {plan.path === 'image' ? `A fresh install takes ${estimateLabel(plan.estimates.fresh, 'deploy')}.` : `From a desktop image: ${estimateLabel(plan.estimates.image, 'deploy')}.`}
      </p>
      {(plan.path === 'image' || plan.reason === 'fresh-requested') && (
        <label className="row" htmlFor={ids.fresh}>
          <input id={ids.fresh} type="checkbox" checked={fresh} disabled={disabled} onChange={(e) => onFresh(e.target.checked)} /> Install from scratch instead
        </label>
      )}
      {plan.reason === 'no-ready-image' && plan.elsewhere && (
        <p className="row">
          <span className="muted">
            Image <code>{plan.elsewhere.name}</code> is in {plan.elsewhere.regions.join(', ')}.
          </span>
          <button type="button" className="button" disabled={working || disabled} onClick={() => void act(() => window.dictumal.images.copy({ id: plan.elsewhere!.id, region }))}>
            Copy it to {region}
          </button>
        </p>
      )}
      {plan.reason === 'no-ready-image' && !plan.elsewhere && (
        <p className="row" data-testid="build-offer">
          {building ? (
            <span className="muted">An image for {region} is being built; deploys here start from it once it is ready.</span>
          ) : (
            <>
              <span className="muted">
                {plan.anyImage ? 'No ready image here.' : 'No desktop image yet.'} Build one for {region} ({estimateLabel(plan.estimates.build, 'build')}, about $0.06 per GiB a month to keep) so later deploys here start from it.
              </span>
              <button type="button" className="button" disabled={working || disabled} onClick={() => void act(() => window.dictumal.images.build({ region }))}>
                Build image
              </button>
            </>
          )}
        </p>
      )}
      {error && <ErrorNote error={error} />}
    </div>
  )
}
