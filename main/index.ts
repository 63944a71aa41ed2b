// Electron main entry: single instance, secure defaults, then the services wired once, in order,
// before the window loads: logging, store + keychain + DigitalOcean + engine, IPC, tray,
// notifications. Closing the window keeps Dictumal in the tray where a tray is visible (otherwise it
// quits); Quit stops everything cleanly, and a system shutdown or logout is never held up.
import { appendFileSync, mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { app, BrowserWindow, dialog, powerMonitor } from 'electron'
import { setupAppMenu } from './app-menu'
import { runCliMode } from './cli-mode'
import { askBeforeDiscarding } from './unload-guard'
import { createHandlers, priceList, subscribeEvents } from './core/api'
import { summarizeCost, type PriceList } from './core/cost'
import { displayNameOf } from './core/display-name'
import { createAppServices, type AppServices } from './core/app-services'
import { cliModeArgs } from './core/cli-launcher'
import { resolveDataDir } from './core/data-dir'
import { devRendererOrigin } from './core/dev-server'
import { log, setLogSink } from './core/log'
import { KeytarSecrets } from './core/secrets'
import {
  APP_USER_MODEL_ID,
  beforeQuitAction,
  hasStatusNotifierWatcher,
  keychainServiceOverride,
  lastWindowClosedAction,
  userDataOverride,
  withDeadline,
} from './core/shell-policy'
import { toUserError } from './core/user-error'
import { createDesktopShell, type DesktopShell } from './desktop-shell'
import { registerHandlers, send } from './ipc'
import { notifyFailure, notifyIdle, setupNotifications } from './notifications'
import { createTray } from './tray'
import { createMainWindow, denyAllPermissions, registerAppScheme, rendererDirectory, serveRenderer } from './window'

let mainWindow: BrowserWindow | null = null
let ready: Promise<void> = new Promise(() => {})
let services: AppServices | null = null
let shell: DesktopShell | null = null
let quitting = false
let systemShuttingDown = false
/** Whether the user can see the tray; where they cannot, closing the last window quits. */
let trayVisible = true
const cleanups: Array<() => void> = []
/** The dev server's origin under `npm run dev` (unpackaged builds only), else null. */
const devOrigin = devRendererOrigin(process.env, app.isPackaged)
/** A quit waits at most this long for the engine and store to close. */
const QUIT_DEADLINE_MS = 5000

// Windows shows toasts and groups the taskbar by this id; it must be set before any window exists.
if (process.platform === 'win32') app.setAppUserModelId(APP_USER_MODEL_ID)
// Tests and second copies move userData (and with it the single-instance lock) before the lock.
const userData = userDataOverride(process.env)
if (userData) app.setPath('userData', userData)

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
    shell?.pageReloading()
    mainWindow = createMainWindow(join(import.meta.dirname, '../preload/index.cjs'), devOrigin)
    askBeforeDiscarding(mainWindow, () => systemShuttingDown)
    // A reload loses the page's subscriptions: navigation waits until it mounts again.
    mainWindow.webContents.on('did-start-loading', () => shell?.pageReloading())
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

/** The app's own menu (main/app-menu.ts) instead of Electron's default (Reload, DevTools in release builds). */
function setupMenu(): void {
  setupAppMenu({
    run: (command) => {
      showMainWindow()
      shell?.navigate({ view: command })
    },
    window: () => mainWindow,
  })
}

async function onReady(): Promise<void> {
  setupMenu()
  const dataDir = resolveDataDir({ env: process.env, platform: process.platform, homedir: homedir(), appDataDir: app.getPath('appData') })
  setupLogging(dataDir)
  denyAllPermissions()
  serveRenderer(rendererDirectory(app.getAppPath()))

  const desktopShell = createDesktopShell({
    mainWindow: () => mainWindow,
    onStateChange: (state) => send(mainWindow?.webContents, 'desktop:changed', state),
    sendNavigation: (request) => send(mainWindow?.webContents, 'navigate', request),
    permissions: () => ({ clipboardRead: services?.settings().desktopClipboardRead ?? true }),
  })
  shell = desktopShell
  cleanups.push(() => desktopShell.closeAll())
  const keychainService = keychainServiceOverride(process.env)
  services = await createAppServices({
    dataDir,
    env: process.env,
    info: { name: 'Dictumal', version: app.getVersion(), platform: process.platform, dataDir },
    secrets: new KeytarSecrets(keychainService ? { service: keychainService } : {}),
    shell: desktopShell,
  })
  const s = services
  cleanups.push(registerHandlers(createHandlers(s), devOrigin))
  cleanups.push(subscribeEvents(s, (channel, payload) => send(mainWindow?.webContents, channel, payload)))

  const openDeployment = (id: string): void => {
    showMainWindow()
    const deployment = s.engine.list().find((d) => d.id === id)
    if (!deployment) return
    void desktopShell.openDesktop(deployment, 'embedded', () => s.engine.launchUrl(id, { target: 'ip' })).catch((e: unknown) => {
      log.warn('tray', 'open failed', e)
      // The window may still be loading: say why in a notification, as the page would.
      notifyFailure(`Could not open “${displayNameOf(deployment)}”`, toUserError(e).message)
    })
  }
  const onStoreChange = (listener: () => void): (() => void) => s.store.onChange(() => listener())
  // The tray's cost line needs DigitalOcean's prices: asked now and every few minutes (the catalog is cached).
  let prices: PriceList | null = null
  const priceListeners = new Set<() => void>()
  const refreshPrices = (): void => {
    void priceList(s).then((list) => {
      if (list === null) return
      prices = list
      for (const listener of priceListeners) listener()
    })
  }
  refreshPrices()
  const priceTimer = setInterval(refreshPrices, 10 * 60_000)
  cleanups.push(() => clearInterval(priceTimer))
  const tray = createTray({
    getDeployments: () => s.engine.list(),
    getCost: () => (prices === null ? null : summarizeCost(s.engine.list(), prices)),
    onChange: (listener) => {
      priceListeners.add(listener)
      const off = onStoreChange(listener)
      return () => {
        priceListeners.delete(listener)
        off()
      }
    },
    actions: {
      open: openDeployment,
      resume: (id) => {
        void s.hibernation
          .resume(id)
          .then(() => s.engine.start())
          .catch((e: unknown) => notifyFailure('Could not resume the desktop', toUserError(e).message))
      },
      newDeployment: () => {
        showMainWindow()
        // A window just created has not loaded its page yet: the request waits until it mounts.
        desktopShell.navigate({ view: 'new-deployment' })
      },
      showWindow: () => void showMainWindow(),
      quit: () => app.quit(),
    },
  })
  cleanups.push(() => tray.destroy())
  // Linux shows tray icons only where a StatusNotifierItem host runs (GNOME has none by default).
  // Asked in the background; until the bus answers, closing the window quits (never an invisible process).
  if (process.platform === 'linux') {
    trayVisible = false
    void hasStatusNotifierWatcher().then((visible) => {
      trayVisible = visible
      if (!visible) log.info('app', 'no tray host on this desktop: closing the window quits Dictumal')
    })
  }
  // Shutdown or logout: quit at once, without holding the system up for a clean close.
  powerMonitor.on('shutdown', () => {
    systemShuttingDown = true
    app.quit()
  })
  cleanups.push(setupNotifications({ getDeployments: () => s.engine.list(), onChange: onStoreChange, onClick: openDeployment }))
  // Idle auto-hibernate (off unless set in Settings): a warning first, with Keep running.
  cleanups.push(
    s.idle.onWarning((d, at) => notifyIdle(displayNameOf(d), Math.max(1, Math.round((at - Date.now()) / 60_000)), () => s.idle.keepRunning(d.id))),
    s.idle.start(),
  )

  showMainWindow()
  s.engine.start()
  s.engine.reconcile().catch((e: unknown) => log.warn('engine', 'reconcile at start failed', e))
  // Image builds a crash interrupted are finished, or their builder and snapshot deleted (SPEC §10).
  s.images.reconcile().catch((e: unknown) => log.warn('images', 'image reconcile at start failed', e))
  // …and later ones a CLI leaves (image build without --wait) are driven by the app from then on.
  cleanups.push(s.images.start())
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

// `dictumal` launchers (Install Command-Line Tool) start the app with --dictumal-cli: run the CLI only.
const cliArgs = cliModeArgs(process.argv)
if (cliArgs) {
  void runCliMode(cliArgs)
} else if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  registerAppScheme()
  // The window waits for the services, so its first requests always find their handlers.
  app.on('second-instance', () => void ready.then(showMainWindow))
  app.on('activate', () => void ready.then(showMainWindow))
  // The tray keeps Dictumal alive with no window (Quit in the tray ends it); with no visible tray,
  // closing the last window quits rather than leave an invisible process.
  app.on('window-all-closed', () => {
    if (lastWindowClosedAction(process.platform, trayVisible) === 'quit') app.quit()
  })
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault())
  })
  app.on('before-quit', (event) => {
    const action = beforeQuitAction({ quitting, systemShuttingDown })
    if (action === 'proceed') return
    quitting = true
    if (action === 'quit-now') {
      // Never preventDefault here: macOS would read it as refusing to log out or shut down.
      void shutdown()
      return
    }
    event.preventDefault()
    void withDeadline(shutdown(), QUIT_DEADLINE_MS).then((outcome) => {
      if (outcome === 'timeout') log.warn('app', 'quit did not finish cleaning up in time; quitting anyway')
      app.quit()
    })
  })
  ready = app.whenReady().then(onReady)
  ready.catch((error: unknown) => {
    log.error('app', 'failed to start', error)
    dialog.showErrorBox('Dictumal could not start', toUserError(error).message)
    app.exit(1)
  })
}
