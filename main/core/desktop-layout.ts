// Where the embedded desktop goes: the renderer measures its placeholder (ResizeObserver) and main
// places the native view there. Anything the page sends is checked here before it reaches Electron.
import type { DesktopLayout } from '../../preload/contract'

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** Sizes no window reaches; a larger number is a bug or a hostile page, not a layout. */
const MAX_EXTENT = 32_768

/**
 * Turns a reported placeholder rectangle into view bounds inside the window's content area:
 * whole pixels, clipped to the window, never negative. Null when the report is not a rectangle.
 */
export function boundsFromLayout(layout: Pick<DesktopLayout, 'x' | 'y' | 'width' | 'height'>, content: { width: number; height: number }): Rect | null {
  const values = [layout.x, layout.y, layout.width, layout.height]
  if (!values.every((v) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= MAX_EXTENT)) return null
  if (layout.width < 0 || layout.height < 0) return null
  const maxWidth = Math.max(0, Math.floor(content.width))
  const maxHeight = Math.max(0, Math.floor(content.height))
  const x = Math.min(Math.max(0, Math.round(layout.x)), maxWidth)
  const y = Math.min(Math.max(0, Math.round(layout.y)), maxHeight)
  const right = Math.min(Math.max(x, Math.round(layout.x + layout.width)), maxWidth)
  const bottom = Math.min(Math.max(y, Math.round(layout.y + layout.height)), maxHeight)
  return { x, y, width: right - x, height: bottom - y }
}

/** The view shows only when it has room and nothing of the app's own must show over it. */
export function shouldShowView(bounds: Rect | null, covered: boolean): boolean {
  return bounds !== null && !covered && bounds.width > 0 && bounds.height > 0
}
