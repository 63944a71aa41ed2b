// The shell's decisions outside Electron: app identity, the leave-desktop key, tray visibility and
// quitting, pending navigation, the dev server's trust, and the environment overrides tests use.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { APP_ENTRY_URL, CONTENT_SECURITY_POLICY } from './app-protocol'
import { devContentSecurityPolicy, devRendererOrigin, isTrustedRendererUrl, rendererEntryUrl } from './dev-server'
import { createNavigationMailbox } from './navigation-mailbox'
import {
  APP_USER_MODEL_ID,
  beforeQuitAction,
  hasStatusNotifierWatcher,
  isLeaveDesktopShortcut,
  keychainServiceOverride,
  lastWindowClosedAction,
  LEAVE_DESKTOP_SHORTCUT,
  parseNameHasOwnerReply,
  userDataOverride,
  withDeadline,
  type KeyInput,
} from './shell-policy'

const root = resolve(import.meta.dirname, '../..')

describe('app identity', () => {
  it('the Windows AppUserModelID is electron-builder’s appId', () => {
    const config = parse(readFileSync(resolve(root, 'electron-builder.yml'), 'utf8')) as { appId: string }
    expect(APP_USER_MODEL_ID).toBe(config.appId)
  })
})

describe('isLeaveDesktopShortcut', () => {
  const key = (over: Partial<KeyInput>): KeyInput => ({ type: 'keyDown', key: 'F12', control: true, shift: true, alt: false, meta: false, ...over })
  it('is the combination the README and the toolbar name', () => {
    expect(LEAVE_DESKTOP_SHORTCUT).toBe('Ctrl+Shift+F12')
    expect(readFileSync(resolve(root, 'README.md'), 'utf8')).toContain(LEAVE_DESKTOP_SHORTCUT)
    expect(readFileSync(resolve(root, 'renderer/src/views/desktop.tsx'), 'utf8')).toContain(LEAVE_DESKTOP_SHORTCUT)
  })

  it('matches Ctrl+Shift+F12 on key down only', () => {
    expect(isLeaveDesktopShortcut(key({}))).toBe(true)
    expect(isLeaveDesktopShortcut(key({ type: 'keyUp' }))).toBe(false)
    expect(isLeaveDesktopShortcut(key({ shift: false }))).toBe(false)
    expect(isLeaveDesktopShortcut(key({ control: false }))).toBe(false)
    expect(isLeaveDesktopShortcut(key({ alt: true }))).toBe(false)
    expect(isLeaveDesktopShortcut(key({ meta: true }))).toBe(false)
    expect(isLeaveDesktopShortcut(key({ key: 'F11' }))).toBe(false)
  })
})

describe('closing the last window', () => {
  it('keeps running only where a way back is visible', () => {
    expect(lastWindowClosedAction('darwin', false)).toBe('keep-running')
    expect(lastWindowClosedAction('win32', false)).toBe('keep-running')
    expect(lastWindowClosedAction('linux', true)).toBe('keep-running')
    expect(lastWindowClosedAction('linux', false)).toBe('quit')
  })

  it('reads dbus-send’s NameHasOwner reply', () => {
    expect(parseNameHasOwnerReply('method return time=1 sender=org.freedesktop.DBus\n   boolean true\n')).toBe(true)
    expect(parseNameHasOwnerReply('method return time=1\n   boolean false\n')).toBe(false)
    expect(parseNameHasOwnerReply('')).toBe(false)
  })

  it('finds no tray host without a session bus', async () => {
    expect(await hasStatusNotifierWatcher({ PATH: process.env.PATH ?? '', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' })).toBe(false)
  })

  const dbus = existsSync('/usr/bin/dbus-run-session') && existsSync('/usr/bin/dbus-send')
  it.skipIf(!dbus)('asks a real session bus, where nobody hosts a tray', () => {
    // A private bus with no tray host: dbus-send answers "boolean false".
    const out = execFileSync('dbus-run-session', ['--', 'dbus-send', '--session', '--dest=org.freedesktop.DBus', '--type=method_call', '--print-reply', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.kde.StatusNotifierWatcher'], { encoding: 'utf8' })
    expect(parseNameHasOwnerReply(out)).toBe(false)
    expect(out).toMatch(/boolean false/)
  })
})

describe('before-quit', () => {
  it('never holds up a system shutdown or logout, and cleans up first otherwise', () => {
    expect(beforeQuitAction({ quitting: false, systemShuttingDown: true })).toBe('quit-now')
    expect(beforeQuitAction({ quitting: false, systemShuttingDown: false })).toBe('clean-up-first')
    expect(beforeQuitAction({ quitting: true, systemShuttingDown: false })).toBe('proceed')
    expect(beforeQuitAction({ quitting: true, systemShuttingDown: true })).toBe('proceed')
  })
})

describe('withDeadline', () => {
  it('does not wait for a cleanup that hangs', async () => {
    const started = Date.now()
    expect(await withDeadline(new Promise(() => {}), 50)).toBe('timeout')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(await withDeadline(Promise.resolve(), 1000)).toBe('done')
    expect(await withDeadline(Promise.reject(new Error('x')), 1000)).toBe('done')
  })
})

describe('environment overrides', () => {
  it('moves userData only to an absolute path', () => {
    expect(userDataOverride({ DICTUMAL_USER_DATA_DIR: '/tmp/x' })).toBe('/tmp/x')
    expect(userDataOverride({ DICTUMAL_USER_DATA_DIR: 'relative' })).toBeNull()
    expect(userDataOverride({})).toBeNull()
  })
  it('accepts a plain keychain service name', () => {
    expect(keychainServiceOverride({ DICTUMAL_KEYCHAIN_SERVICE: 'Dictumal e2e 42' })).toBe('Dictumal e2e 42')
    expect(keychainServiceOverride({ DICTUMAL_KEYCHAIN_SERVICE: 'a\nb' })).toBeNull()
    expect(keychainServiceOverride({})).toBeNull()
  })
})

describe('navigation mailbox', () => {
  it('keeps a request until the page mounts, then sends straight to it until it reloads', () => {
    const mailbox = createNavigationMailbox()
    const sent: string[] = []
    const send = (r: { view: string }): void => {
      sent.push(r.view)
    }
    // Tray "New deployment…" with the window closed: the page is not listening yet.
    expect(mailbox.post({ view: 'deployments' }, send)).toBe('queued')
    expect(mailbox.post({ view: 'new-deployment' }, send)).toBe('queued')
    expect(sent).toEqual([])
    expect(mailbox.take()).toEqual({ view: 'new-deployment' })
    expect(mailbox.take()).toBeNull()
    expect(mailbox.post({ view: 'deployments' }, send)).toBe('sent')
    expect(sent).toEqual(['deployments'])
    mailbox.reset()
    expect(mailbox.post({ view: 'new-deployment' }, send)).toBe('queued')
    expect(mailbox.take()).toEqual({ view: 'new-deployment' })
  })
})

describe('dev server', () => {
  it('is trusted only unpackaged, only on loopback http', () => {
    expect(devRendererOrigin({ ELECTRON_RENDERER_URL: 'http://localhost:5173' }, false)).toBe('http://localhost:5173')
    expect(devRendererOrigin({ ELECTRON_RENDERER_URL: 'http://127.0.0.1:5173/' }, false)).toBe('http://127.0.0.1:5173')
    expect(devRendererOrigin({ ELECTRON_RENDERER_URL: 'http://localhost:5173' }, true)).toBeNull()
    expect(devRendererOrigin({ ELECTRON_RENDERER_URL: 'https://evil.example' }, false)).toBeNull()
    expect(devRendererOrigin({ ELECTRON_RENDERER_URL: 'http://192.168.1.5:5173' }, false)).toBeNull()
    expect(devRendererOrigin({ ELECTRON_RENDERER_URL: 'not a url' }, false)).toBeNull()
    expect(devRendererOrigin({}, false)).toBeNull()
  })

  it('loads and trusts the dev origin only when there is one', () => {
    expect(rendererEntryUrl(null, APP_ENTRY_URL)).toBe(APP_ENTRY_URL)
    expect(rendererEntryUrl('http://localhost:5173', APP_ENTRY_URL)).toBe('http://localhost:5173/')
    expect(isTrustedRendererUrl('app://dictumal/index.html', null)).toBe(true)
    expect(isTrustedRendererUrl('http://localhost:5173/', null)).toBe(false)
    expect(isTrustedRendererUrl('http://localhost:5173/src/main.tsx', 'http://localhost:5173')).toBe(true)
    expect(isTrustedRendererUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false)
    expect(isTrustedRendererUrl(undefined, 'http://localhost:5173')).toBe(false)
  })

  it('relaxes the CSP for Vite’s inline client and HMR socket, and nothing else', () => {
    const dev = devContentSecurityPolicy(CONTENT_SECURITY_POLICY)
    expect(dev).toMatch(/script-src 'self' 'unsafe-inline'/)
    expect(dev).toMatch(/style-src 'self' 'unsafe-inline'/)
    expect(dev).toMatch(/connect-src [^;]*ws:\/\/localhost:\*/)
    expect(dev).toMatch(/object-src 'none'/)
    expect(dev).not.toMatch(/unsafe-eval/)
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline/)
  })
})
