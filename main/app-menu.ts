// The application menu: the app's commands with their key combinations (main/core/app-menu.ts),
// "Install Command-Line Tool…", and Electron's standard Edit/Window items. Nothing else: no Reload,
// and DevTools only in unpackaged builds.
import { app, dialog, Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron'
import { homedir } from 'node:os'
import { INSTALL_CLI_LABEL, MENU_SHORTCUTS, type MenuCommand } from './core/app-menu'
import { installLauncher } from './core/cli-launcher'
import { log } from './core/log'
import { toUserError } from './core/user-error'

export interface AppMenuOptions {
  /** Shows the main window and hands the command to its page (queued until the page listens). */
  run(command: MenuCommand): void
  window(): BrowserWindow | null
}

async function installCommandLineTool(win: BrowserWindow | null): Promise<void> {
  const show = (options: Electron.MessageBoxOptions) => (win ? dialog.showMessageBox(win, options) : dialog.showMessageBox(options))
  try {
    const result = await installLauncher(
      { platform: process.platform, execPath: process.execPath, env: process.env, isPackaged: app.isPackaged, appPath: app.getAppPath() },
      { platform: process.platform, env: process.env, homedir: homedir() },
    )
    log.info('app', `command-line tool installed at ${result.file}`)
    await show({ type: 'info', message: 'Command-line tool installed', detail: result.message, buttons: ['OK'] })
  } catch (error) {
    await show({ type: 'error', message: 'The command-line tool was not installed', detail: toUserError(error).message, buttons: ['OK'] })
  }
}

export function setupAppMenu(options: AppMenuOptions): void {
  const items = (menu: 'file' | 'view' | 'help'): MenuItemConstructorOptions[] =>
    MENU_SHORTCUTS.filter((s) => s.menu === menu).map((s) => ({
      label: s.label,
      accelerator: s.accelerator,
      // Linux and Windows: shown in the menu but left to the page's own key handler, so the keys
      // reach a focused remote desktop untouched (macOS always routes them through the menu).
      registerAccelerator: false,
      click: () => options.run(s.command),
    }))
  const mac = process.platform === 'darwin'
  const install: MenuItemConstructorOptions = { label: INSTALL_CLI_LABEL, click: () => void installCommandLineTool(options.window()) }
  const template: MenuItemConstructorOptions[] = [
    ...(mac
      ? [{ label: app.name, submenu: [{ role: 'about' as const }, { type: 'separator' as const }, install, { type: 'separator' as const }, { role: 'hide' as const }, { role: 'hideOthers' as const }, { role: 'unhide' as const }, { type: 'separator' as const }, { role: 'quit' as const }] }]
      : []),
    {
      label: 'File',
      submenu: [...items('file'), { type: 'separator' }, ...(mac ? [] : [install, { type: 'separator' as const }]), mac ? { role: 'close' } : { role: 'quit' }],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [...items('view'), { type: 'separator' }, { role: 'togglefullscreen' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }])],
    },
    { role: 'windowMenu' },
    { role: 'help', submenu: items('help') },
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}
