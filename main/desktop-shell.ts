// The ShellPort for Electron: the desktop controller (main/core/desktop-open.ts) decides which
// desktop shows where; this module gives it real views (main/desktop-view.ts), the main window, the
// clipboard, and the pending-navigation mailbox the tray uses.
import { clipboard, type BrowserWindow } from 'electron'
import type { DesktopState, NavigateRequest } from '../preload/contract'
import type { ShellPort } from './core/app-services'
import { createDesktopController } from './core/desktop-open'
import { displayNameOf } from './core/display-name'
import { log } from './core/log'
import { createNavigationMailbox } from './core/navigation-mailbox'
import type { DesktopPermissionSettings } from './core/pinning'
import { openDesktop } from './desktop-view'

export interface DesktopShellOptions {
  mainWindow: () => BrowserWindow | null
  onStateChange: (state: DesktopState) => void
  /** Sends a navigation to the page (only called while the page is listening). */
  sendNavigation: (request: NavigateRequest) => void
  /** The user's desktop permission settings, read at each permission request. */
  permissions: () => DesktopPermissionSettings
}

export interface DesktopShell extends Required<ShellPort> {
  closeAll(): void
  /** Shows a page now, or as soon as the window's page has mounted. */
  navigate(request: NavigateRequest): void
  /** The main window's page is (re)loading: navigation waits for it to mount again. */
  pageReloading(): void
}

export function createDesktopShell(options: DesktopShellOptions): DesktopShell {
  const liveWindow = (): BrowserWindow | null => {
    const win = options.mainWindow()
    return win && !win.isDestroyed() ? win : null
  }
  const mailbox = createNavigationMailbox()

  const controller = createDesktopController({
    openView: async (request) => {
      const ip = request.deployment.ip
      if (ip === null) throw new Error('openView: no IP')
      const view = await openDesktop({
        parent: request.mode === 'embedded' ? liveWindow() : null,
        mode: request.mode,
        deployment: { id: request.deployment.id, ip, port: 443, fingerprint: request.deployment.certFingerprint },
        launchUrl: request.launchUrl,
        title: `${displayNameOf(request.deployment)} — Dictumal`,
        signal: request.signal,
        permissions: options.permissions,
        onLeave: () => liveWindow()?.webContents.focus(),
        onProblem: request.onProblem,
        onClosed: request.onClosed,
      })
      return view
    },
    hasMainWindow: () => liveWindow() !== null,
    contentSize: () => {
      const win = liveWindow()
      if (!win) return null
      const [width = 0, height = 0] = win.getContentSize()
      return { width, height }
    },
    onStateChange: options.onStateChange,
    toggleFullScreen: () => {
      const win = liveWindow()
      if (win) win.setFullScreen(!win.isFullScreen())
    },
    copyText: (text) => clipboard.writeText(text),
    onProblem: (deployment, message) => log.warn('desktop', `${deployment.name}: ${message}`),
  })

  return {
    ...controller,
    desktopState: controller.state,
    takePendingNavigation: () => mailbox.take(),
    navigate: (request) => {
      mailbox.post(request, options.sendNavigation)
    },
    pageReloading: () => mailbox.reset(),
  }
}
