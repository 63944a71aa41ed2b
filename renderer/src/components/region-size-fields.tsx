// The region and size pickers, shared by the deploy dialog and the Settings defaults.
import { useId } from 'react'
import type { RegionOption, SizeOption } from '../../../preload/contract'
import { money } from '../format'
import { SizeCards } from './size-cards'

export interface RegionSizeFieldsProps {
  labels: { region: string; size: string }
  regions: readonly RegionOption[]
  sizes: readonly SizeOption[]
  region: string
  size: string
  onRegion(slug: string): void
  onSize(slug: string): void
  disabled?: boolean
  /** Show the monthly price beside each size. */
  withPrices?: boolean
  /** Keep a saved value DigitalOcean no longer lists visible rather than silently changing it. */
  keepUnknown?: boolean
  /** The deploy dialog: sizes as cards (components/size-cards.tsx) with this one marked Recommended. */
  sizeCards?: { recommended: string }
  /** Round trip to each region in ms (deploy dialog), shown beside its name where measured. */
  latency?: Record<string, number | null>
}

export function RegionSizeFields(props: RegionSizeFieldsProps) {
  const ids = { region: useId(), size: useId() }
  const unknownRegion = props.keepUnknown === true && props.region !== '' && !props.regions.some((r) => r.slug === props.region)
  const unknownSize = props.keepUnknown === true && props.size !== '' && !props.sizes.some((s) => s.slug === props.size)
  const regionField = (
    <div className="field">
      <label htmlFor={ids.region}>{props.labels.region}</label>
      <select id={ids.region} value={props.region} onChange={(e) => props.onRegion(e.target.value)} disabled={props.disabled}>
        {unknownRegion && <option value={props.region}>{props.region}</option>}
        {props.regions.map((r) => (
          <option key={r.slug} value={r.slug}>
            {r.name} ({r.slug}){typeof props.latency?.[r.slug] === 'number' ? ` · ${props.latency[r.slug]} ms` : ''}
          </option>
        ))}
      </select>
    </div>
  )
  if (props.sizeCards) {
    return (
      <>
        {regionField}
        <SizeCards label={props.labels.size} sizes={props.sizes} size={props.size} onSize={props.onSize} recommended={props.sizeCards.recommended} disabled={props.disabled} />
      </>
    )
  }
  return (
    <div className="grid-2">
      {regionField}
      <div className="field">
        <label htmlFor={ids.size}>{props.labels.size}</label>
        <select id={ids.size} value={props.size} onChange={(e) => props.onSize(e.target.value)} disabled={props.disabled || props.sizes.length === 0}>
          {unknownSize && <option value={props.size}>{props.size}</option>}
          {props.sizes.map((s) => (
            <option key={s.slug} value={s.slug}>
              {props.withPrices ? `${s.slug} · ${money(s.priceMonthly)}/mo` : s.slug}
            </option>
          ))}
        </select>
      </div>
    </div>
  )
}
