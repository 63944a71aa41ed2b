// One name for a desktop everywhere (cards, tray, notifications, the desktop toolbar): the name the
// user gave it, else its constitution's name at deploy time, numbered when that constitution already
// has a desktop ("Research desk 2"). The droplet slug stays secondary.
import type { Deployment } from '../../preload/contract'
import { AppError } from './user-error'

export const DISPLAY_NAME_MAX = 60

/** What every surface shows for a desktop (records from before display names show the droplet's name). */
export function displayNameOf(d: Pick<Deployment, 'name'> & { displayName?: string | null }): string {
  const own = d.displayName?.trim()
  return own ? own : d.name
}

/** A name not used by any desktop that is not destroyed: the base, else "base 2", "base 3"… */
export function nextDisplayName(base: string, existing: readonly Deployment[]): string {
  const clean = base.replace(/\s+/g, ' ').trim().slice(0, DISPLAY_NAME_MAX - 4) || 'Desktop'
  const taken = new Set(existing.filter((d) => d.status !== 'DESTROYED').map((d) => displayNameOf(d).toLowerCase()))
  if (!taken.has(clean.toLowerCase())) return clean
  for (let n = 2; ; n++) {
    const candidate = `${clean} ${n}`
    if (!taken.has(candidate.toLowerCase())) return candidate
  }
}

/** A name typed by the user: one line, no control characters, not empty, not too long. */
export function checkDisplayName(input: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = input.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim()
  if (clean === '') throw new AppError('name-empty', 'Type a name for the desktop.')
  if (clean.length > DISPLAY_NAME_MAX) throw new AppError('name-too-long', `A desktop name can be at most ${DISPLAY_NAME_MAX} characters.`)
  return clean
}
