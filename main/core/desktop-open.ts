// Which desktop the main window shows, decided without Electron: opening one (a view that is
// loading, then shown), cancelling it, replacing it, closing it, and where it sits. main/desktop-view.ts
// makes the actual views; main/desktop-shell.ts plugs them in here. Every callback a view calls
// refers to the attempt object made before the view exists, so a view that closes while it is still
// opening (a failed first load, a closed window) never reads a binding that is not set yet.
import type { Deployment, DesktopAction, DesktopLayout, DesktopMode, DesktopState } from '../../preload/contract'
import type { ShellPort } from './app-services'
import { boundsFromLayout, shouldShowView, type Rect } from './desktop-layout'
import { AppError } from './user-error'

/**
 * The renderer's desktop toolbar height (styles.css, .desktop-shell's first row), used only until the
 * renderer reports where its placeholder really is.
 */
export const DESKTOP_TOOLBAR_HEIGHT = 36

/** What main/desktop-view.ts gives back for an open view or window. */
export interface DesktopView {
  setBounds(rect: Rect): void
  setVisible(visible: boolean): void
  /** Mints a new launch URL and loads it; rejects with a sentence that holds no URL. */
  reconnect(): Promise<void>
  focus(): void
  close(): void
}

export interface OpenViewRequest {
  deployment: Deployment
  mode: DesktopMode
  launchUrl: () => Promise<string>
  /** Aborted when the user cancels while the desktop is still loading: the view closes. */
  signal: AbortSignal
  onProblem(message: string): void
  /** Called once when the view is gone, however that happened — also before openView settles. */
  onClosed(): void
}

export interface DesktopControllerPorts {
  /** Resolves once the first load succeeded; rejects (after closing the view) when it failed. */
  openView(request: OpenViewRequest): Promise<DesktopView>
  hasMainWindow(): boolean
  /** The main window's content size, for the bounds before the renderer reports its placeholder. */
  contentSize(): { width: number; height: number } | null
  onStateChange(state: DesktopState): void
  toggleFullScreen(): void
  copyText(text: string): void
  onProblem?(deployment: Deployment, message: string): void
}

interface Attempt {
  deployment: Deployment
  launchUrl: () => Promise<string>
  abort: AbortController
  view: DesktopView | null
  closed: boolean
}

export interface DesktopController extends Required<Pick<ShellPort, 'openDesktop' | 'desktopAction' | 'copyText' | 'currentDesktop' | 'setLayout'>> {
  /** Closes every desktop (quit, or the main window went away). */
  closeAll(): void
  /** The state the renderer should show now. */
  state(): DesktopState
}

export function createDesktopController(ports: DesktopControllerPorts): DesktopController {
  let shown: Attempt | null = null
  let connecting: Attempt | null = null
  const windows = new Set<Attempt>()
  let layout: DesktopLayout | null = null
  // Opens run one at a time, so a double click (or tray + window) cannot leave a view behind.
  let queue: Promise<unknown> = Promise.resolve()

  const state = (): DesktopState => {
    if (connecting) return { deploymentId: connecting.deployment.id, connecting: true }
    return { deploymentId: shown?.deployment.id ?? null }
  }
  const announce = (): void => ports.onStateChange(state())

  const bounds = (): Rect | null => {
    const content = ports.contentSize()
    if (!content) return null
    if (layout) return boundsFromLayout(layout, content)
    return { x: 0, y: DESKTOP_TOOLBAR_HEIGHT, width: Math.max(0, content.width), height: Math.max(0, content.height - DESKTOP_TOOLBAR_HEIGHT) }
  }

  /** Places the shown view, and shows it only when it has room and nothing covers it. */
  const place = (): void => {
    const view = shown?.view
    if (!view || connecting) return
    const rect = bounds()
    if (rect) view.setBounds(rect)
    view.setVisible(shouldShowView(rect, layout?.covered ?? false))
  }

  const closeAttempt = (attempt: Attempt): void => {
    attempt.closed = true
    attempt.view?.close()
  }

  const onViewClosed = (attempt: Attempt): void => {
    attempt.closed = true
    windows.delete(attempt)
    if (shown === attempt) {
      shown = null
      if (!connecting) announce()
    }
  }

  const openEmbedded = async (deployment: Deployment, launchUrl: () => Promise<string>): Promise<void> => {
    if (!ports.hasMainWindow()) throw new AppError('no-window', 'The Dictumal window is closed; open it from the tray first.')
    const attempt: Attempt = { deployment, launchUrl, abort: new AbortController(), view: null, closed: false }
    connecting = attempt
    // The desktop already showing stays open but hidden, so the toolbar and its Cancel are visible.
    shown?.view?.setVisible(false)
    announce()
    let view: DesktopView
    try {
      view = await ports.openView({
        deployment,
        mode: 'embedded',
        launchUrl,
        signal: attempt.abort.signal,
        onProblem: (message) => ports.onProblem?.(deployment, message),
        onClosed: () => onViewClosed(attempt),
      })
    } catch (error: unknown) {
      if (connecting === attempt) connecting = null
      place()
      announce()
      if (attempt.abort.signal.aborted) return // Cancel is not a failure.
      throw error
    }
    attempt.view = view
    if (attempt.abort.signal.aborted || attempt.closed) {
      closeAttempt(attempt)
      if (connecting === attempt) connecting = null
      place()
      announce()
      return
    }
    connecting = null
    // The old desktop goes only once the new one has loaded.
    const previous = shown
    shown = attempt
    if (previous) closeAttempt(previous)
    place()
    view.focus()
    announce()
  }

  const openWindow = async (deployment: Deployment, launchUrl: () => Promise<string>): Promise<void> => {
    const attempt: Attempt = { deployment, launchUrl, abort: new AbortController(), view: null, closed: false }
    windows.add(attempt)
    try {
      attempt.view = await ports.openView({
        deployment,
        mode: 'window',
        launchUrl,
        signal: attempt.abort.signal,
        onProblem: (message) => ports.onProblem?.(deployment, message),
        onClosed: () => onViewClosed(attempt),
      })
    } catch (error: unknown) {
      windows.delete(attempt)
      throw error
    }
    if (attempt.closed) windows.delete(attempt)
    // The window was created hidden, so nothing half-loaded shows; now it may.
    else attempt.view.focus()
  }

  const openNow = async (deployment: Deployment, mode: DesktopMode, launchUrl: () => Promise<string>): Promise<void> => {
    if (deployment.ip === null) throw new AppError('no-ip', `"${deployment.name}" has no IP address yet.`)
    if (mode === 'window') return openWindow(deployment, launchUrl)
    return openEmbedded(deployment, launchUrl)
  }

  const leave = (): void => {
    if (connecting) {
      // Cancel: the loading view closes, its open settles quietly, the previous desktop comes back.
      connecting.abort.abort()
      return
    }
    const current = shown
    shown = null
    if (current) closeAttempt(current)
    announce()
  }

  const openDesktop = (deployment: Deployment, mode: DesktopMode, launchUrl: () => Promise<string>): Promise<void> => {
    const next = queue.then(() => openNow(deployment, mode, launchUrl))
    queue = next.catch(() => {})
    return next
  }

  return {
    openDesktop,
    async desktopAction(action: DesktopAction) {
      if (action === 'back') {
        if (!connecting && !shown) throw new AppError('no-desktop', 'No desktop is open.')
        leave()
        return
      }
      const current = shown
      if (!current?.view || connecting) throw new AppError('no-desktop', connecting ? 'The desktop is still connecting.' : 'No desktop is open.')
      switch (action) {
        case 'reconnect':
          await current.view.reconnect()
          return
        case 'fullscreen':
          ports.toggleFullScreen()
          return
        case 'open-separately':
          leave()
          await openDesktop(current.deployment, 'window', current.launchUrl)
          return
        default: {
          const unexpected: never = action
          throw new Error(`unknown desktop action ${String(unexpected)}`)
        }
      }
    },
    copyText: (text) => ports.copyText(text),
    currentDesktop: () => shown?.deployment.id ?? null,
    setLayout(next: DesktopLayout) {
      layout = next
      place()
    },
    state,
    closeAll() {
      connecting?.abort.abort()
      connecting = null
      const current = shown
      shown = null
      if (current) closeAttempt(current)
      for (const attempt of [...windows]) closeAttempt(attempt)
      windows.clear()
    },
  }
}
