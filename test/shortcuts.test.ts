// The app menu (main/core/app-menu.ts) and the page's key handler (renderer/src/shortcuts.ts) name the
// same keys for the same commands, and the handler reads key events the way the menu shows them.
import { describe, expect, it } from 'vitest'
import { MENU_SHORTCUTS } from '../main/core/app-menu'
import { LEAVE_DESKTOP_SHORTCUT } from '../main/core/shell-policy'
import { COMMAND_SHORTCUTS, OTHER_SHORTCUTS, commandFor, keyLabel } from '../renderer/src/shortcuts'

const key = (k: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey', boolean>> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  target: null,
  ...mods,
})

describe('shortcuts', () => {
  it('the menu and the page agree on every command and key', () => {
    const menu = MENU_SHORTCUTS.map((s) => [s.command, s.accelerator.replace('CmdOrCtrl', 'Mod')])
    const page = COMMAND_SHORTCUTS.map((s) => [s.command, s.keys])
    expect(page).toEqual(menu)
    expect(new Set(page.map(([, keys]) => keys)).size).toBe(page.length)
  })

  it('reads Ctrl on Linux and Windows and Cmd on macOS, with no extra modifiers', () => {
    expect(commandFor(key('n', { ctrlKey: true }), false)).toBe('new-deployment')
    expect(commandFor(key('N', { ctrlKey: true, shiftKey: true }), false)).toBe('new-constitution')
    expect(commandFor(key('n', { metaKey: true }), true)).toBe('new-deployment')
    expect(commandFor(key('n', { ctrlKey: true }), true)).toBeNull()
    expect(commandFor(key('n', { ctrlKey: true, altKey: true }), false)).toBeNull()
    expect(commandFor(key('2', { ctrlKey: true }), false)).toBe('constitutions')
    expect(commandFor(key('F1'), false)).toBe('shortcuts')
    expect(commandFor(key('?', { shiftKey: true }), false)).toBe('shortcuts')
    expect(commandFor(key('n'), false)).toBeNull()
    expect(commandFor({ ...key('?', { shiftKey: true }), target: { tagName: 'TEXTAREA' } as unknown as EventTarget }, false)).toBeNull()
  })

  it('labels keys per platform, and the sheet names the key that leaves the embedded desktop', () => {
    expect(keyLabel('Mod+Shift+N', false)).toBe('Ctrl+Shift+N')
    expect(keyLabel('Mod+Shift+N', true)).toBe('⌘⇧N')
    expect(OTHER_SHORTCUTS.find((s) => s.label.startsWith('Leave the embedded desktop'))?.keys).toBe(LEAVE_DESKTOP_SHORTCUT)
  })
})
