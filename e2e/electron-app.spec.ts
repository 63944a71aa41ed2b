// The real Electron app, driven by Playwright's _electron. These need the Electron binary, which
// our build machines do not have (ELECTRON_SKIP_BINARY_DOWNLOAD=1): there they skip, saying so.
// On a machine that has it: `npm run test:electron` (builds, then runs this file under Xvfb and a
// private keyring on Linux). Every launch gets its own userData (so an installed Dictumal's
// single-instance lock is never hit), data folder and keychain service name.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { _electron as electron, expect, test, type ElectronApplication } from '@playwright/test'
import { startFakeCloud } from '../test/fakes/droplet-farm'

const repoRoot = resolve(import.meta.dirname, '..')

function electronBinary(): string | null {
  const pathFile = join(repoRoot, 'node_modules/electron/path.txt')
  if (!existsSync(pathFile)) return null
  const binary = join(repoRoot, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? binary : null
}

const binary = electronBinary()
const reason = 'Electron binary not installed here (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1); run `npm run test:electron` on a machine that has it.'
const needsDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY
const displayReason = 'No display: run these through `npm run test:electron`, which starts Xvfb.'

if (binary === null) console.warn(`[e2e] skipping the real Electron tests: ${reason}`)

/** A test keychain service: never the real "Dictumal" entries. */
const keychainService = process.env.DICTUMAL_KEYCHAIN_SERVICE ?? `Dictumal e2e ${process.pid}`

async function launch(env: Record<string, string> = {}): Promise<{ app: ElectronApplication; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-electron-'))
  const userData = mkdtempSync(join(tmpdir(), 'dictumal-electron-userdata-'))
  const app = await electron.launch({
    executablePath: binary ?? undefined,
    args: [repoRoot],
    env: {
      ...(process.env as Record<string, string>),
      DICTUMAL_DATA_DIR: dataDir,
      DICTUMAL_USER_DATA_DIR: userData,
      DICTUMAL_KEYCHAIN_SERVICE: keychainService,
      // The dev server is never trusted in these runs: they test what users get.
      ELECTRON_RENDERER_URL: '',
      ...env,
    },
  })
  return { app, dataDir }
}

const windowCount = (app: ElectronApplication): Promise<number> => app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)

type Api = {
  dictumal: {
    constitutions: { save(i: unknown): Promise<{ ok: boolean; value: { id: string } }> }
    deployments: {
      create(i: unknown): Promise<{ ok: boolean; value: { id: string } }>
      list(): Promise<Array<{ id: string; status: string; ip: string | null; dropletId: number | null }>>
      open(i: unknown): Promise<{ ok: boolean; error?: { message: string } }>
    }
    desktop: { action(a: string): Promise<{ ok: boolean }>; state(): Promise<{ deploymentId: string | null }> }
    settings: { update(p: unknown): Promise<{ ok: boolean }> }
  }
}

test.describe('real Electron app', () => {
  test.skip(binary === null, reason)
  test.skip(needsDisplay, displayReason)

  test('opens one secure window whose contract answers', async () => {
    const { app, dataDir } = await launch()
    try {
      const window = await app.firstWindow()
      await expect(window.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
      const info = await window.evaluate(() => (window as unknown as { dictumal: { app: { info(): Promise<{ name: string; dataDir: string }> } } }).dictumal.app.info())
      expect(info.name).toBe('Dictumal')
      expect(info.dataDir).toBe(dataDir)
      expect(await window.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined')
      expect(await window.evaluate(() => typeof (window as unknown as { process?: unknown }).process)).toBe('undefined')
      expect(await windowCount(app)).toBe(1)
      expect(window.url()).toBe('app://dictumal/index.html')
    } finally {
      await app.close()
    }
  })

  test('closing the window keeps Dictumal in a visible tray, or quits where there is none', async () => {
    const { app } = await launch()
    try {
      const window = await app.firstWindow()
      await expect(window.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
      await window.close()
      // 'closed' reaches main a moment after close() returns; then Dictumal either stays (a tray is
      // visible) or quits (Linux without a tray host, e.g. GNOME without its extension).
      const outcome = async (): Promise<string> => {
        if (app.process().exitCode !== null) return 'quit'
        const count = await windowCount(app).catch(() => -1)
        return count === 0 ? 'window-gone' : count === -1 ? 'quit' : 'open'
      }
      await expect.poll(outcome).not.toBe('open')
      await new Promise((ok) => setTimeout(ok, 500))
      if ((await outcome()) === 'quit') return
      expect(await app.evaluate(({ app: a }) => a.isReady())).toBe(true)
      await app.evaluate(({ app: a }) => a.emit('activate'))
      await expect.poll(() => windowCount(app)).toBe(1)
    } finally {
      await app.close().catch(() => undefined)
    }
  })

  test('deploys against the fakes, opens the desktop on the pinned origin, and ends its session on Back', async () => {
    const cloud = await startFakeCloud({ digitalOcean: { activeAfterMs: 100, ipAfterMs: 200 }, farm: { dropletOptions: () => ({ timeline: { stepMs: 50 } }) } })
    const { app } = await launch({ DIGITALOCEAN_API_URL: cloud.digitalOcean.url, DIGITALOCEAN_API_TOKEN: cloud.digitalOcean.token })
    try {
      const window = await app.firstWindow()
      const id = await window.evaluate(async () => {
        const api = (window as unknown as Api).dictumal
        const c = await api.constitutions.save({ name: 'Electron e2e', body: '' })
        const d = await api.deployments.create({ constitutionId: c.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })
        return d.value.id
      })
      const record = async () => (await window.evaluate(async () => (window as unknown as Api).dictumal.deployments.list())).find((d) => d.id === id)
      await expect.poll(async () => (await record())?.status, { timeout: 30_000 }).toBe('ACTIVE')
      const opened = await window.evaluate((deploymentId) => (window as unknown as Api).dictumal.deployments.open({ id: deploymentId, mode: 'embedded' }), id)
      expect(opened.ok).toBe(true)
      const urls = await app.evaluate(({ webContents }) => webContents.getAllWebContents().map((w) => w.getURL()))
      expect(urls.some((u) => /^https:\/\/127\.[0-9.]+\/guacamole\//.test(u))).toBe(true)
      await expect(window.getByRole('navigation', { name: 'Desktop' })).toBeVisible()

      // The view sits over the page's placeholder, and hides while the page says something covers it.
      const view = () =>
        app.evaluate(({ BrowserWindow }) => {
          const win = BrowserWindow.getAllWindows().find((w) => w.webContents.getURL().startsWith('app://'))
          // The embedded desktop is the window's one child view with its own webContents.
          const child = win?.contentView.children.find((c) => 'webContents' in c)
          return child ? { visible: child.getVisible(), bounds: child.getBounds() } : null
        })
      const placeholder = await window.getByTestId('desktop-placeholder').boundingBox()
      await expect.poll(view).toMatchObject({ visible: true, bounds: { x: 0, y: Math.round(placeholder?.y ?? -1) } })
      const report = (covered: boolean) =>
        window.evaluate(
          ([r, c]) => (window as unknown as { dictumal: { desktop: { layout(l: unknown): Promise<unknown> } } }).dictumal.desktop.layout({ ...r, covered: c }),
          [{ x: placeholder?.x ?? 0, y: placeholder?.y ?? 0, width: placeholder?.width ?? 0, height: placeholder?.height ?? 0 }, covered] as const,
        )
      await report(true)
      await expect.poll(async () => (await view())?.visible).toBe(false)
      await report(false)
      await expect.poll(async () => (await view())?.visible).toBe(true)

      // The remote page may read the clipboard while the setting is on, and not once it is off.
      const clipboardState = () =>
        app.evaluate(({ webContents }) => {
          const remote = webContents.getAllWebContents().find((w) => w.getURL().includes('/guacamole/'))
          return remote?.executeJavaScript("navigator.permissions.query({ name: 'clipboard-read' }).then((s) => s.state)")
        })
      await expect.poll(clipboardState).toBe('granted')
      await window.evaluate(() => (window as unknown as Api).dictumal.settings.update({ desktopClipboardRead: false }))
      await expect.poll(clipboardState).toBe('denied')

      // Back closes the view and ends the Guacamole session it opened (DELETE /api/session).
      const dropletId = (await record())?.dropletId ?? -1
      const droplet = cloud.farm.droplets.get(dropletId)
      expect(droplet).toBeDefined()
      expect(droplet?.record.sessionsCreated.length).toBeGreaterThan(0)
      await window.evaluate(() => (window as unknown as Api).dictumal.desktop.action('back'))
      await expect.poll(() => droplet?.record.sessionsDeleted.length ?? 0).toBeGreaterThan(0)
      await expect(window.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()

      // A gateway that is down: the open fails with the load-failure sentence, and the app stays usable.
      await droplet?.close()
      const failed = await window.evaluate((deploymentId) => (window as unknown as Api).dictumal.deployments.open({ id: deploymentId, mode: 'embedded' }), id)
      expect(failed.ok).toBe(false)
      expect(failed.error?.message).toMatch(/^The desktop /)
      expect(failed.error?.message).not.toMatch(/before initialization|ReferenceError|https?:\/\//)
      expect(await window.evaluate(() => (window as unknown as Api).dictumal.desktop.state())).toEqual({ deploymentId: null })
    } finally {
      await app.close()
      await cloud.close()
    }
  })
})
