// The droplet limit before a deploy: asked when the deploy dialog opens; at the limit it says
// "You use 10 of 10 droplets", links to what to destroy and to DigitalOcean's limit-increase form,
// and the dialog keeps Deploy off with that reason.
import { useEffect, useState } from 'react'
import type { DropletUsage } from '../../../preload/contract'
import { guarded } from '../store'
import './trust.css'

export const LIMIT_INCREASE_URL = 'https://cloud.digitalocean.com/account/team/droplet_limit_increase'

/** The account's droplet usage, asked once per mount; null until known (or when it cannot be asked). */
export function useDropletUsage(): DropletUsage | null {
  const [usage, setUsage] = useState<DropletUsage | null>(null)
  useEffect(() => {
    let live = true
    void guarded(() => window.dictumal.catalog.dropletUsage()).then((result) => {
      if (live && result?.ok) setUsage(result.value)
    })
    return () => {
      live = false
    }
  }, [])
  return usage
}

export function DropletLimitNote({ usage, id, onShowDeployments }: { usage: DropletUsage; id: string; onShowDeployments(): void }) {
  if (!usage.atLimit) return null
  return (
    <div role="alert" className="note error" id={id} data-testid="droplet-limit">
      <p className="note-title">
        You use {usage.used} of {usage.limit} {usage.limit === 1 ? 'droplet' : 'droplets'}: DigitalOcean will not create another one, so Deploy is off.
      </p>
      <p>
        <button type="button" className="button link" onClick={onShowDeployments}>
          Show deployments to destroy one
        </button>{' '}
        or{' '}
        <a href={LIMIT_INCREASE_URL} target="_blank" rel="noreferrer">
          ask DigitalOcean for a higher droplet limit
        </a>
        .
      </p>
    </div>
  )
}
