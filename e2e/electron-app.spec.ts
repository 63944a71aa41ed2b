// The real Electron app, driven by Playwright's _electron. These need the Electron binary, which
// our build machines do not have (ELECTRON_SKIP_BINARY_DOWNLOAD=1): there they skip, saying so.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { _electron as electron, expect, test } from '@playwright/test'
import { startFakeCloud } from '../test/fakes/droplet-farm'

const repoRoot = resolve(import.meta.dirname, '..')

function electronBinary(): string | null {
  const pathFile = join(repoRoot, 'node_modules/electron/path.txt')
  if (!existsSync(pathFile)) return null
  const binary = join(repoRoot, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? binary : null
}

const binary = electronBinary()
const reason = 'Electron binary not installed here (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1); the real-app smoke test runs on machines that have it.'

if (binary === null) console.warn(`[e2e] skipping the real Electron tests: ${reason}`)

test.describe('real Electron app', () => {
  test.skip(binary === null, reason)

  test('opens one secure window whose contract answers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-electron-'))
    const app = await electron.launch({
      executablePath: binary ?? undefined,
      args: [repoRoot],
      env: { ...process.env, DICTUMAL_DATA_DIR: dataDir },
    })
    try {
      const window = await app.firstWindow()
      await expect(window.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
      const info = await window.evaluate(() => (window as unknown as { dictumal: { app: { info(): Promise<{ name: string; dataDir: string }> } } }).dictumal.app.info())
      expect(info.name).toBe('Dictumal')
      expect(info.dataDir).toBe(dataDir)
      expect(await window.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined')
      expect(await window.evaluate(() => typeof (window as unknown as { process?: unknown }).process)).toBe('undefined')
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1)
      expect(window.url()).toBe('app://dictumal/index.html')
    } finally {
      await app.close()
    }
  })

  test('keeps running in the tray when the window closes, and reopens it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-electron-'))
    const app = await electron.launch({ executablePath: binary ?? undefined, args: [repoRoot], env: { ...process.env, DICTUMAL_DATA_DIR: dataDir } })
    try {
      const window = await app.firstWindow()
      await window.close()
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(0)
      expect(await app.evaluate(({ app: a }) => a.isReady())).toBe(true)
      await app.evaluate(({ app: a }) => a.emit('activate'))
      await expect.poll(() => app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1)
    } finally {
      await app.close()
    }
  })

  test('deploys against the fakes and opens the desktop embedded on the pinned origin', async () => {
    const cloud = await startFakeCloud({ digitalOcean: { activeAfterMs: 100, ipAfterMs: 200 }, farm: { dropletOptions: () => ({ timeline: { stepMs: 50 } }) } })
    const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-electron-'))
    const app = await electron.launch({
      executablePath: binary ?? undefined,
      args: [repoRoot],
      env: { ...process.env, DICTUMAL_DATA_DIR: dataDir, DIGITALOCEAN_API_URL: cloud.digitalOcean.url, DIGITALOCEAN_API_TOKEN: cloud.digitalOcean.token },
    })
    try {
      const window = await app.firstWindow()
      type Api = { dictumal: { constitutions: { save(i: unknown): Promise<{ ok: boolean; value: { id: string } }> }; deployments: { create(i: unknown): Promise<{ ok: boolean; value: { id: string } }>; list(): Promise<Array<{ id: string; status: string; ip: string | null }>>; open(i: unknown): Promise<{ ok: boolean }> } } }
      const id = await window.evaluate(async () => {
        const api = (window as unknown as Api).dictumal
        const c = await api.constitutions.save({ name: 'Electron e2e', body: '' })
        const d = await api.deployments.create({ constitutionId: c.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })
        return d.value.id
      })
      await expect
        .poll(() => window.evaluate(async (deploymentId) => (await (window as unknown as Api).dictumal.deployments.list()).find((d) => d.id === deploymentId)?.status, id), { timeout: 30_000 })
        .toBe('ACTIVE')
      const opened = await window.evaluate((deploymentId) => (window as unknown as Api).dictumal.deployments.open({ id: deploymentId, mode: 'embedded' }), id)
      expect(opened.ok).toBe(true)
      const urls = await app.evaluate(({ webContents }) => webContents.getAllWebContents().map((w) => w.getURL()))
      expect(urls.some((u) => /^https:\/\/127\.[0-9.]+\/guacamole\//.test(u))).toBe(true)
    } finally {
      await app.close()
      await cloud.close()
    }
  })
})

