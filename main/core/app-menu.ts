// The app menu's commands and their key combinations, in one list (plain data, no Electron): the
// Electron menu (main/app-menu.ts) shows them, the page's keyboard handler (renderer/src/shortcuts.ts)
// runs them, and test/shortcuts.test.ts holds the two to the same keys.
import type { NavigateRequest } from '../../preload/contract'

export type MenuCommand = NavigateRequest['view']

export interface MenuShortcut {
  command: MenuCommand
  label: string
  /** Electron accelerator syntax. */
  accelerator: string
  menu: 'file' | 'view' | 'help'
}

export const MENU_SHORTCUTS: readonly MenuShortcut[] = [
  { command: 'new-deployment', label: 'New Deployment…', accelerator: 'CmdOrCtrl+N', menu: 'file' },
  { command: 'new-constitution', label: 'New Constitution', accelerator: 'CmdOrCtrl+Shift+N', menu: 'file' },
  { command: 'open-selected', label: 'Open Selected Desktop', accelerator: 'CmdOrCtrl+O', menu: 'file' },
  { command: 'deployments', label: 'Deployments', accelerator: 'CmdOrCtrl+1', menu: 'view' },
  { command: 'constitutions', label: 'Constitutions', accelerator: 'CmdOrCtrl+2', menu: 'view' },
  { command: 'settings', label: 'Settings', accelerator: 'CmdOrCtrl+3', menu: 'view' },
  { command: 'shortcuts', label: 'Keyboard Shortcuts', accelerator: 'F1', menu: 'help' },
]

/** The menu item that installs the `dictumal` launcher (main/core/cli-launcher.ts). */
export const INSTALL_CLI_LABEL = 'Install Command-Line Tool…'
