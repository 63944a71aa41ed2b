// Decisions the Electron shell makes about the desktop it runs on, kept out of Electron so they are
// tested here: the Windows app identity, the key that leaves the remote desktop, whether a tray is
// visible (and so whether closing the window may leave Dictumal running), and how long quitting may take.
import { execFile } from 'node:child_process'
import { isAbsolute } from 'node:path'

/** electron-builder's appId; Windows needs it as the AppUserModelID for toasts and taskbar grouping. */
export const APP_USER_MODEL_ID = 'com.dictumal.desktop'

/** The keyboard input Electron hands to `before-input-event` (the fields this module reads). */
export interface KeyInput {
  type: string
  key: string
  control: boolean
  shift: boolean
  alt: boolean
  meta: boolean
}

/** Said in the README and the toolbar's tooltip. */
export const LEAVE_DESKTOP_SHORTCUT = 'Ctrl+Shift+F12'

/**
 * Every other key goes to the remote desktop (menu shortcuts are ignored there). This one
 * combination stays with Dictumal: it moves the keyboard to the app's toolbar. F12 with Ctrl and
 * Shift is not a shortcut in XFCE, Guacamole or common desktop apps.
 */
export function isLeaveDesktopShortcut(input: KeyInput): boolean {
  return input.type === 'keyDown' && input.key === 'F12' && input.control && input.shift && !input.alt && !input.meta
}

export type LastWindowClosed = 'keep-running' | 'quit'

/**
 * What closing the last window does. Dictumal stays running only where the user can see a way
 * back: the Dock on macOS, the notification area on Windows, a tray host on Linux. GNOME shows no
 * tray without an extension; there closing the window quits instead of leaving an invisible process.
 */
export function lastWindowClosedAction(platform: NodeJS.Platform, trayVisible: boolean): LastWindowClosed {
  if (platform === 'darwin' || platform === 'win32') return 'keep-running'
  return trayVisible ? 'keep-running' : 'quit'
}

/** Linux tray icons are StatusNotifierItems: someone must own this name on the session bus to show them. */
export const STATUS_NOTIFIER_WATCHER = 'org.kde.StatusNotifierWatcher'

/** Reads `dbus-send --print-reply … NameHasOwner` output: "   boolean true". */
export function parseNameHasOwnerReply(output: string): boolean {
  return /\bboolean\s+true\b/.test(output)
}

/**
 * Asks the session bus whether a tray host (StatusNotifierWatcher) is running. False when there is
 * no bus, no dbus-send, or no answer within the timeout: then no tray can be assumed visible.
 */
export function hasStatusNotifierWatcher(env: NodeJS.ProcessEnv = process.env, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'dbus-send',
      ['--session', '--dest=org.freedesktop.DBus', '--type=method_call', '--print-reply', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${STATUS_NOTIFIER_WATCHER}`],
      { env, timeout: timeoutMs },
      (error, stdout) => resolve(!error && parseNameHasOwnerReply(String(stdout))),
    )
  })
}

export type BeforeQuit =
  /** Already cleaning up: let this quit through. */
  | 'proceed'
  /** The system is shutting down or logging out: clean up without waiting, never preventDefault. */
  | 'quit-now'
  /** A user's quit: preventDefault, close the engine and store (bounded by a deadline), then quit. */
  | 'clean-up-first'

/**
 * What `before-quit` does. On macOS a preventDefault during logout or shutdown reads as "this app
 * refuses to quit" and halts the logout, so a system shutdown (powerMonitor 'shutdown') quits at once.
 */
export function beforeQuitAction(state: { quitting: boolean; systemShuttingDown: boolean }): BeforeQuit {
  if (state.quitting) return 'proceed'
  return state.systemShuttingDown ? 'quit-now' : 'clean-up-first'
}

/** Settles with the task, or after `ms` with 'timeout': quitting must never wait on a hung cleanup. */
export async function withDeadline(task: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  try {
    return await Promise.race([task.then(() => 'done' as const, () => 'done' as const), deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * DICTUMAL_USER_DATA_DIR moves Electron's userData (and with it the single-instance lock), so a
 * test run or a second copy never collides with an installed Dictumal. Absolute paths only.
 */
export function userDataOverride(env: NodeJS.ProcessEnv): string | null {
  const dir = env.DICTUMAL_USER_DATA_DIR?.trim()
  return dir && isAbsolute(dir) ? dir : null
}

/** DICTUMAL_KEYCHAIN_SERVICE names the keychain entries (tests use their own); default "Dictumal". */
export function keychainServiceOverride(env: NodeJS.ProcessEnv): string | null {
  const service = env.DICTUMAL_KEYCHAIN_SERVICE?.trim()
  return service && /^[A-Za-z0-9 ._-]{1,64}$/.test(service) ? service : null
}
