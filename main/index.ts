// Electron main entry: single instance, secure defaults, then the services wired once, in order,
// before the window loads.
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { app, BrowserWindow } from 'electron'
import { createHandlers, subscribeEvents } from './core/api'
import { log, setLogSink } from './core/log'
import { registerHandlers, send } from './ipc'
import { createMainWindow, denyAllPermissions, registerAppScheme, rendererDirectory, serveRenderer } from './window'

let mainWindow: BrowserWindow | null = null

function dataDirectory(): string {
  return process.env.DICTUMAL_DATA_DIR ?? app.getPath('userData')
}

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

function showMainWindow(): void {
  if (!mainWindow || mainWindow.isDestroyed()) {
    mainWindow = createMainWindow(join(import.meta.dirname, '../preload/index.cjs'))
    mainWindow.on('closed', () => {
      mainWindow = null
    })
    return
  }
  if (mainWindow.isMinimized()) mainWindow.restore()
  mainWindow.show()
  mainWindow.focus()
}

async function onReady(): Promise<void> {
  const dataDir = dataDirectory()
  setupLogging(dataDir)
  denyAllPermissions()
  serveRenderer(rendererDirectory(app.getAppPath()))

  const services = {
    info: { name: 'Dictumal', version: app.getVersion(), platform: process.platform, dataDir },
  }
  registerHandlers(createHandlers(services))
  subscribeEvents(services, (channel, payload) => send(mainWindow?.webContents, channel, payload))

  showMainWindow()
  log.info('app', `ready (data in ${dataDir})`)
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  registerAppScheme()
  app.on('second-instance', () => showMainWindow())
  app.on('activate', () => showMainWindow())
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault())
  })
  app
    .whenReady()
    .then(onReady)
    .catch((error: unknown) => {
      log.error('app', 'failed to start', error)
      app.exit(1)
    })
}
