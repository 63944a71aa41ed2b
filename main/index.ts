// Electron main entry: single instance, secure defaults, then the services wired once, in order,
// before the window loads: logging, store + keychain + DigitalOcean + engine, IPC, tray,
// notifications. Closing the window keeps Dictumal in the tray; Quit stops everything cleanly.
import { appendFileSync, mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { app, BrowserWindow, dialog, Menu } from 'electron'
import { createHandlers, subscribeEvents } from './core/api'
import { createAppServices, type AppServices } from './core/app-services'
import { resolveDataDir } from './core/data-dir'
import { log, setLogSink } from './core/log'
import { toUserError } from './core/user-error'
import { createDesktopShell } from './desktop-shell'
import { registerHandlers, send } from './ipc'
import { setupNotifications } from './notifications'
import { createTray } from './tray'
import { createMainWindow, denyAllPermissions, registerAppScheme, rendererDirectory, serveRenderer } from './window'

let mainWindow: BrowserWindow | null = null
let ready: Promise<void> = new Promise(() => {})
let services: AppServices | null = null
let quitting = false
const cleanups: Array<() => void> = []

function setupLogging(dataDir: string): void {
  const logDir = join(dataDir, 'logs')
  mkdirSync(logDir, { recursive: true, mode: 0o700 })
  const file = join(logDir, 'main.log')
  setLogSink((line) => {
    process.stderr.write(`${line}\n`)
    try {
      appendFileSync(file, `${line}\n`, { mode: 0o600 })
    } catch {
      // A full disk must not take the app down with it.
    }
  })
}

function showMainWindow(): BrowserWindow {
  if (!mainWindow || mainWindow.isDestroyed()) {
    mainWindow = createMainWindow(join(import.meta.dirname, '../preload/index.cjs'))
    mainWindow.on('closed', () => {
      mainWindow = null
    })
    return mainWindow
  }
  if (mainWindow.isMinimized()) mainWindow.restore()
  mainWindow.show()
  mainWindow.focus()
  return mainWindow
}

/** A small menu instead of Electron's default (which offers Reload and DevTools in release builds). */
function setupMenu(): void {
  const template: Electron.MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { label: 'View', submenu: [{ role: 'togglefullscreen' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }])] },
    { role: 'windowMenu' },
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}

async function onReady(): Promise<void> {
  setupMenu()
  const dataDir = resolveDataDir({ env: process.env, platform: process.platform, homedir: homedir(), appDataDir: app.getPath('appData') })
  setupLogging(dataDir)
  denyAllPermissions()
  serveRenderer(rendererDirectory(app.getAppPath()))

  const shell = createDesktopShell({
    mainWindow: () => mainWindow,
    onStateChange: (state) => send(mainWindow?.webContents, 'desktop:changed', state),
  })
  cleanups.push(() => shell.closeAll())
  services = await createAppServices({
    dataDir,
    env: process.env,
    info: { name: 'Dictumal', version: app.getVersion(), platform: process.platform, dataDir },
    shell,
  })
  const s = services
  cleanups.push(registerHandlers(createHandlers(s)))
  cleanups.push(subscribeEvents(s, (channel, payload) => send(mainWindow?.webContents, channel, payload)))

  const openDeployment = (id: string): void => {
    showMainWindow()
    const deployment = s.engine.list().find((d) => d.id === id)
    if (!deployment) return
    void shell.openDesktop(deployment, 'embedded', () => s.engine.launchUrl(id, { target: 'ip' })).catch((e: unknown) => log.warn('tray', 'open failed', e))
  }
  const onStoreChange = (listener: () => void): (() => void) => s.store.onChange(() => listener())
  const tray = createTray({
    getDeployments: () => s.engine.list(),
    onChange: onStoreChange,
    actions: {
      open: openDeployment,
      newDeployment: () => {
        const win = showMainWindow()
        send(win.webContents, 'navigate', { view: 'new-deployment' })
      },
      showWindow: () => void showMainWindow(),
      quit: () => app.quit(),
    },
  })
  cleanups.push(() => tray.destroy())
  cleanups.push(setupNotifications({ getDeployments: () => s.engine.list(), onChange: onStoreChange, onClick: openDeployment }))

  showMainWindow()
  s.engine.start()
  s.engine.reconcile().catch((e: unknown) => log.warn('engine', 'reconcile at start failed', e))
  log.info('app', `ready (data in ${dataDir})`)
}

async function shutdown(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup()
    } catch (error) {
      log.warn('app', 'cleanup failed', error)
    }
  }
  await services?.close()
  services = null
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  registerAppScheme()
  // The window waits for the services, so its first requests always find their handlers.
  app.on('second-instance', () => void ready.then(showMainWindow))
  app.on('activate', () => void ready.then(showMainWindow))
  // The tray keeps Dictumal alive with no window; Quit in the tray ends it.
  app.on('window-all-closed', () => {})
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault())
  })
  app.on('before-quit', (event) => {
    if (quitting) return
    quitting = true
    event.preventDefault()
    void shutdown().finally(() => app.quit())
  })
  ready = app.whenReady().then(onReady)
  ready.catch((error: unknown) => {
    log.error('app', 'failed to start', error)
    dialog.showErrorBox('Dictumal could not start', toUserError(error).message)
    app.exit(1)
  })
}
