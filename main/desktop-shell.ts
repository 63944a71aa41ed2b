// The ShellPort for Electron: shows a deployment's desktop embedded under the renderer's thin
// toolbar or in its own window, runs the toolbar's actions, and owns the clipboard.
import { clipboard, type BrowserWindow } from 'electron'
import type { Deployment, DesktopAction, DesktopMode, DesktopState } from '../preload/contract'
import type { ShellPort } from './core/app-services'
import { AppError } from './core/user-error'
import { log } from './core/log'
import { openDesktop, type DesktopHandle } from './desktop-view'

/** The renderer draws its desktop toolbar in this many pixels at the top of the window. */
export const DESKTOP_TOOLBAR_HEIGHT = 44

export interface DesktopShellOptions {
  mainWindow: () => BrowserWindow | null
  onStateChange: (state: DesktopState) => void
}

export function createDesktopShell(options: DesktopShellOptions): ShellPort & { closeAll(): void } {
  let embedded: { handle: DesktopHandle; deployment: Deployment; launchUrl: () => Promise<string> } | null = null
  const windows = new Set<DesktopHandle>()
  // Opens run one at a time, so a double click (or tray + window) cannot leave a view behind.
  let queue: Promise<unknown> = Promise.resolve()
  let resizeHooked: BrowserWindow | null = null

  const layout = (): void => {
    const win = options.mainWindow()
    if (!embedded || !win || win.isDestroyed()) return
    const [width = 0, height = 0] = win.getContentSize()
    embedded.handle.setBounds({ x: 0, y: DESKTOP_TOOLBAR_HEIGHT, width, height: Math.max(0, height - DESKTOP_TOOLBAR_HEIGHT) })
  }

  const closeEmbedded = (): void => {
    const current = embedded
    embedded = null
    current?.handle.close()
    options.onStateChange({ deploymentId: null })
  }

  const open = (deployment: Deployment, mode: DesktopMode, launchUrl: () => Promise<string>): Promise<void> => {
    const next = queue.then(() => openNow(deployment, mode, launchUrl))
    queue = next.catch(() => {})
    return next
  }

  const openNow = async (deployment: Deployment, mode: DesktopMode, launchUrl: () => Promise<string>): Promise<void> => {
    if (deployment.ip === null) throw new AppError('no-ip', `"${deployment.name}" has no IP address yet.`)
    const win = options.mainWindow()
    const target = { id: deployment.id, ip: deployment.ip, port: 443 as const, fingerprint: deployment.certFingerprint }
    const problem = (message: string): void => log.warn('desktop', `${deployment.name}: ${message}`)
    if (mode === 'window') {
      const handle = await openDesktop({ parent: null, mode, deployment: target, launchUrl, title: `${deployment.name} — Dictumal`, onProblem: problem, onClosed: () => windows.delete(handle) })
      windows.add(handle)
      return
    }
    if (!win || win.isDestroyed()) throw new AppError('no-window', 'The Dictumal window is closed; open it from the tray first.')
    const previous = embedded
    const handle = await openDesktop({
      parent: win,
      mode,
      deployment: target,
      launchUrl,
      toolbarHeight: DESKTOP_TOOLBAR_HEIGHT,
      onProblem: problem,
      onClosed: () => {
        if (embedded?.handle === handle) {
          embedded = null
          options.onStateChange({ deploymentId: null })
        }
      },
    })
    // The old desktop goes only once the new one has loaded.
    if (previous) {
      embedded = null
      previous.handle.close()
    }
    embedded = { handle, deployment, launchUrl }
    if (resizeHooked !== win) {
      win.on('resize', layout)
      resizeHooked = win
    }
    layout()
    options.onStateChange({ deploymentId: deployment.id })
  }

  return {
    openDesktop: open,
    desktopAction: async (action: DesktopAction) => {
      const current = embedded
      if (!current) throw new AppError('no-desktop', 'No desktop is open.')
      switch (action) {
        case 'back':
          closeEmbedded()
          return
        case 'reconnect':
          await current.handle.reconnect()
          return
        case 'fullscreen': {
          const win = options.mainWindow()
          if (win) win.setFullScreen(!win.isFullScreen())
          return
        }
        case 'open-separately':
          closeEmbedded()
          await open(current.deployment, 'window', current.launchUrl)
          return
      }
    },
    copyText: (text: string) => clipboard.writeText(text),
    currentDesktop: () => embedded?.deployment.id ?? null,
    closeAll: () => {
      if (embedded) closeEmbedded()
      for (const handle of windows) handle.close()
      windows.clear()
    },
  }
}
