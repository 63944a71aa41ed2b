// The keyboard: the app menu's commands (main/core/app-menu.ts holds the same keys; test/shortcuts.test.ts
// keeps them equal) plus the page's own keys. On Linux and Windows the menu only shows these keys and
// this handler runs them, so nothing is taken from a remote desktop that has the keyboard.
import type { NavigateRequest } from '../../preload/contract'

export type Command = NavigateRequest['view']

export interface Shortcut {
  /** `Mod` is Cmd on macOS and Ctrl elsewhere. */
  keys: string
  label: string
  command?: Command
}

export const COMMAND_SHORTCUTS: readonly (Shortcut & { command: Command })[] = [
  { keys: 'Mod+N', label: 'New deployment', command: 'new-deployment' },
  { keys: 'Mod+Shift+N', label: 'New constitution', command: 'new-constitution' },
  { keys: 'Mod+O', label: 'Open the selected desktop (the card last clicked or focused)', command: 'open-selected' },
  { keys: 'Mod+1', label: 'Deployments', command: 'deployments' },
  { keys: 'Mod+2', label: 'Constitutions', command: 'constitutions' },
  { keys: 'Mod+3', label: 'Settings', command: 'settings' },
  { keys: 'F1', label: 'Keyboard shortcuts (this sheet; ? works too)', command: 'shortcuts' },
]

/** Keys the page handles where they apply, listed in the help sheet. */
export const OTHER_SHORTCUTS: readonly Shortcut[] = [
  { keys: 'Mod+S', label: 'Save the constitution being edited' },
  { keys: 'Escape', label: 'Close a dialog' },
  // main/core/shell-policy.ts: the one combination a remote desktop never gets.
  { keys: 'Ctrl+Shift+F12', label: 'Leave the embedded desktop: the keyboard comes back to Dictumal (every other key goes to the remote desktop)' },
]

/** How a key combination reads on this platform: ⌘⇧N on macOS, Ctrl+Shift+N elsewhere. */
export function keyLabel(keys: string, mac: boolean): string {
  if (!mac) return keys.replace('Mod', 'Ctrl')
  const symbols: Record<string, string> = { Mod: '⌘', Ctrl: '⌃', Shift: '⇧', Alt: '⌥' }
  return keys
    .split('+')
    .map((part) => symbols[part] ?? part)
    .join('')
}

interface KeyLike {
  key: string
  ctrlKey: boolean
  metaKey: boolean
  shiftKey: boolean
  altKey: boolean
}

/** Whether a key event is exactly `keys` (no extra modifiers). */
export function matches(event: KeyLike, keys: string, mac: boolean): boolean {
  const parts = keys.split('+')
  const key = parts.pop() ?? ''
  const want = { mod: parts.includes('Mod'), ctrl: parts.includes('Ctrl'), shift: parts.includes('Shift'), alt: parts.includes('Alt') }
  const ctrl = want.ctrl || (want.mod && !mac)
  const meta = want.mod && mac
  return event.key.toLowerCase() === key.toLowerCase() && event.ctrlKey === ctrl && event.metaKey === meta && event.shiftKey === want.shift && event.altKey === want.alt
}

/** The command a key event asks for, if any. `?` opens the sheet unless the user is typing. */
export function commandFor(event: KeyLike & { target: EventTarget | null }, mac: boolean): Command | null {
  const found = COMMAND_SHORTCUTS.find((s) => matches(event, s.keys, mac))
  if (found) return found.command
  if (event.key === '?' && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(event.target)) return 'shortcuts'
  return null
}

function isTyping(target: EventTarget | null): boolean {
  // Read by shape, not instanceof, so this module also loads in plain Node (test/shortcuts.test.ts).
  const element = target as { tagName?: unknown; isContentEditable?: unknown } | null
  if (!element) return false
  return element.isContentEditable === true || ['INPUT', 'TEXTAREA', 'SELECT'].includes(String(element.tagName))
}
