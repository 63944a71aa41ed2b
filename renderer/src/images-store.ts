// Desktop images in the renderer: the list main pushes (images:changed) and the estimate helpers the
// Images panel and the deploy dialog share. Kept apart from store.ts so images stay one concern.
import { create } from 'zustand'
import type { DeployPlanView, DesktopImage, ImageStage } from '../../preload/contract'
import { assertNever, duration, money } from './format'
import { guarded } from './store'

/** DigitalOcean's price for snapshot storage, per GiB and month. */
export const SNAPSHOT_PRICE_PER_GIB_MONTH = 0.06

interface ImagesState {
  images: DesktopImage[] | null
}

export const useImages = create<ImagesState>(() => ({ images: null }))

let subscribers = 0
let off: (() => void) | null = null

/** Loads the list and follows pushes while at least one view needs it; returns the unsubscribe. */
export function followImages(): () => void {
  subscribers += 1
  if (subscribers === 1) {
    let pushed = false
    off = window.dictumal.images.onChanged((images) => {
      pushed = true
      useImages.setState({ images })
    })
    void guarded(() => window.dictumal.images.list()).then((images) => {
      if (images && !pushed) useImages.setState({ images })
    })
  }
  return () => {
    subscribers -= 1
    if (subscribers === 0) {
      off?.()
      off = null
    }
  }
}

export function imageStageLabel(stage: ImageStage): string {
  switch (stage) {
    case 'creating-builder':
      return 'Creating the builder droplet'
    case 'waiting-for-ip':
      return 'Waiting for the builder'
    case 'installing':
      return 'Installing the desktop'
    case 'stopping':
      return 'Shutting the builder down'
    case 'snapshotting':
      return 'Taking the snapshot'
    case 'deleting-builder':
      return 'Deleting the builder'
    case 'ready':
      return 'Ready'
    default:
      return assertNever(stage)
  }
}

export function snapshotMonthlyCost(sizeGigabytes: number | null): string {
  return sizeGigabytes === null ? '—' : `${money(sizeGigabytes * SNAPSHOT_PRICE_PER_GIB_MONTH)}/mo`
}

/** "≈ 8 min 00 s (measured, 3 deploys)" or "≈ 8 min 00 s (typical; not measured here yet)". */
export function estimateLabel(estimate: DeployPlanView['estimates']['fresh'], noun: string): string {
  const about = `≈ ${duration(estimate.ms)}`
  return estimate.measured === 0 ? `${about} (typical; not measured here yet)` : `${about} (measured, ${estimate.measured} ${noun}${estimate.measured === 1 ? '' : 's'})`
}
