// The main window and the app:// protocol that serves the renderer, with Electron's security
// checklist applied: sandbox, isolation, CSP, locked navigation, no new windows, no permissions.
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { BrowserWindow, protocol, session, shell } from 'electron'
import {
  APP_ENTRY_URL,
  APP_SCHEME,
  CONTENT_SECURITY_POLICY,
  isAllowedExternalUrl,
  mimeTypeFor,
  resolveAppAsset,
} from './core/app-protocol'
import { isTrustedRendererUrl, rendererEntryUrl } from './core/dev-server'
import { log } from './core/log'

/** Must run before `ready`: app:// behaves like a secure, standard origin. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ])
}

export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppAsset(rendererDir, request.url)
    if (!file) return new Response('Not found', { status: 404 })
    try {
      const body = await readFile(file)
      return new Response(body, {
        headers: { 'content-type': mimeTypeFor(file), 'content-security-policy': CONTENT_SECURITY_POLICY },
      })
    } catch {
      return new Response('Not found', { status: 404 })
    }
  })
}

/** The app never asks for camera, location, notifications-by-web-API and so on. */
export function denyAllPermissions(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.defaultSession.setPermissionCheckHandler(() => false)
}

/** `devOrigin`: the electron-vite dev server under `npm run dev` (unpackaged only), else null. */
export function createMainWindow(preloadPath: string, devOrigin: string | null = null): BrowserWindow {
  const win = new BrowserWindow({
    width: 1180,
    height: 780,
    minWidth: 860,
    minHeight: 560,
    show: false,
    title: 'Dictumal',
    backgroundColor: '#111318',
    webPreferences: {
      preload: preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      // Middle-click would otherwise open links in new windows, bypassing setWindowOpenHandler.
      disableBlinkFeatures: 'Auxclick',
    },
  })
  win.once('ready-to-show', () => win.show())

  const contents = win.webContents
  contents.setWindowOpenHandler(({ url }) => {
    // A few known help pages open in the user's browser; nothing opens inside the app.
    if (isAllowedExternalUrl(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  const blockForeign = (event: { preventDefault(): void }, url: string): void => {
    if (!isTrustedRendererUrl(url, devOrigin)) {
      event.preventDefault()
      log.warn('window', 'blocked a navigation away from the app')
    }
  }
  contents.on('will-navigate', blockForeign)
  contents.on('will-redirect', blockForeign)
  contents.on('will-attach-webview', (event) => event.preventDefault())

  void win.loadURL(rendererEntryUrl(devOrigin, APP_ENTRY_URL))
  return win
}

export function rendererDirectory(appPath: string): string {
  return join(appPath, 'out', 'renderer')
}
