// The tray icon and its menu: rebuilt from core/tray-menu's plain template on every deployment
// change, because Linux only shows menu changes after setContextMenu is called again.
import { join } from 'node:path'
import { app, Menu, nativeImage, Tray } from 'electron'
import type { MenuItemConstructorOptions, NativeImage } from 'electron'
import type { CostSummary, Deployment } from '../preload/contract'
import { log } from './core/log'
import { buildTrayMenu } from './core/tray-menu'
import type { TrayAction, TrayMenuItem } from './core/tray-menu'

export interface TrayActions {
  open(deploymentId: string): void
  /** Resume a hibernated desktop (SPEC §10). */
  resume(deploymentId: string): void
  newDeployment(): void
  showWindow(): void
  quit(): void
}

export interface TrayOptions {
  getDeployments(): Deployment[]
  /** What the desktops cost now, for the menu's cost line (main/core/cost.ts). */
  getCost?(): CostSummary | null
  onChange(listener: () => void): () => void
  actions: TrayActions
  /** Folder holding the icons; defaults to `resources/` inside the app. */
  resourcesDir?: string
}

// Module-level: a Tray that is garbage-collected disappears from the menu bar.
let tray: Tray | null = null

/** macOS wants a black+alpha template image (its @2x is picked up by name); Windows an .ico. */
export function trayIconFile(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'trayTemplate.png'
  if (platform === 'win32') return 'icon.ico'
  return 'tray.png'
}

function loadIcon(resourcesDir: string): NativeImage {
  const image = nativeImage.createFromPath(join(resourcesDir, trayIconFile(process.platform)))
  if (process.platform === 'darwin') image.setTemplateImage(true)
  if (image.isEmpty()) log.warn('tray', 'tray icon not found; the tray entry may be blank')
  return image
}

function run(action: TrayAction, actions: TrayActions): void {
  try {
    switch (action.kind) {
      case 'open':
        actions.open(action.deploymentId)
        return
      case 'resume':
        actions.resume(action.deploymentId)
        return
      case 'new-deployment':
        actions.newDeployment()
        return
      case 'show-window':
        actions.showWindow()
        return
      case 'quit':
        actions.quit()
        return
      default: {
        const unexpected: never = action
        throw new Error(`unknown tray action ${JSON.stringify(unexpected)}`)
      }
    }
  } catch (error: unknown) {
    log.error('tray', `tray action ${action.kind} failed`, error)
  }
}

function toElectron(items: TrayMenuItem[], actions: TrayActions): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    if (item.type === 'separator') return { id: item.id, type: 'separator' }
    const { action } = item
    return {
      id: item.id,
      label: item.label,
      enabled: item.enabled,
      ...(action ? { click: () => run(action, actions) } : {}),
    }
  })
}

/** Call after `ready`. Returns a handle whose destroy() removes the icon and stops listening. */
export function createTray(options: TrayOptions): { destroy(): void } {
  tray?.destroy()
  const resourcesDir = options.resourcesDir ?? join(app.getAppPath(), 'resources')
  const current = new Tray(loadIcon(resourcesDir))
  tray = current
  current.setToolTip('Dictumal')

  let lastTemplate = ''
  const rebuild = (): void => {
    if (current.isDestroyed()) return
    const items = buildTrayMenu(options.getDeployments(), options.getCost?.() ?? null)
    // Progress ticks often change nothing the menu shows; skip those rebuilds.
    const template = JSON.stringify(items)
    if (template === lastTemplate) return
    lastTemplate = template
    current.setContextMenu(Menu.buildFromTemplate(toElectron(items, options.actions)))
  }
  rebuild()
  const unsubscribe = options.onChange(rebuild)

  // On Windows and Linux a left click on the icon is expected to bring the window up.
  if (process.platform !== 'darwin') current.on('click', () => run({ kind: 'show-window' }, options.actions))

  return {
    destroy() {
      unsubscribe()
      if (!current.isDestroyed()) current.destroy()
      if (tray === current) tray = null
    },
  }
}
