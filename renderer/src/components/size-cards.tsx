// Sizes as cards, the way cloud consoles show them: CPUs, memory and disk, the monthly price up front
// (hourly beneath), "Recommended" on the default, and a warning under 2 GB of memory, where XFCE,
// Docker and Guacamole together do not fit. Native radio inputs: arrow keys move the choice.
import { useId } from 'react'
import type { SizeOption } from '../../../preload/contract'
import { memory, money } from '../format'

/** Below this the desktop runs out of memory (SPEC: XFCE + Docker + Guacamole). */
export const MIN_DESKTOP_MEMORY_MB = 2048

export interface SizeCardsProps {
  label: string
  sizes: readonly SizeOption[]
  size: string
  onSize(slug: string): void
  recommended?: string
  disabled?: boolean
}

export function SizeCards({ label, sizes, size, onSize, recommended, disabled }: SizeCardsProps) {
  const ids = { label: useId(), name: useId(), warning: useId() }
  const chosen = sizes.find((s) => s.slug === size)
  const small = chosen !== undefined && chosen.memoryMb < MIN_DESKTOP_MEMORY_MB
  return (
    <div className="field">
      <span id={ids.label} className="field-label">
        {label}
      </span>
      {sizes.length === 0 ? (
        <p className="muted">No size is offered in this region.</p>
      ) : (
        <div className="size-cards" role="radiogroup" aria-labelledby={ids.label} aria-describedby={small ? ids.warning : undefined}>
          {sizes.map((s) => (
            <label key={s.slug} className="size-card" data-checked={s.slug === size ? 'true' : undefined}>
              <input type="radio" name={ids.name} value={s.slug} checked={s.slug === size} onChange={() => onSize(s.slug)} disabled={disabled} />
              <span className="size-card-top">
                <span className="size-price num">
                  {money(s.priceMonthly)}
                  <span className="muted small">/mo</span>
                </span>
                {s.slug === recommended && <span className="badge recommended">Recommended</span>}
              </span>
              <span className="size-spec">
                {s.vcpus} vCPU · {memory(s.memoryMb)} RAM · {s.diskGb} GB disk
              </span>
              <span className="muted small">
                <span className="slug">{s.slug}</span> · <span className="num">{money(s.priceHourly)}/h</span>
              </span>
            </label>
          ))}
        </div>
      )}
      {small && (
        <p id={ids.warning} className="note warn" role="status">
          {memory(chosen.memoryMb)} of memory is too little for this desktop: XFCE, Docker and Guacamole need {memory(MIN_DESKTOP_MEMORY_MB)} or more, or setup may fail.
        </p>
      )}
    </div>
  )
}
