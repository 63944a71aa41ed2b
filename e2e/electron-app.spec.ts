// The real Electron app, driven by Playwright's _electron. These need the Electron binary, which
// our build machines do not have (ELECTRON_SKIP_BINARY_DOWNLOAD=1): there they skip, saying so.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { _electron as electron, expect, test } from '@playwright/test'

const repoRoot = resolve(import.meta.dirname, '..')

function electronBinary(): string | null {
  const pathFile = join(repoRoot, 'node_modules/electron/path.txt')
  if (!existsSync(pathFile)) return null
  const binary = join(repoRoot, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? binary : null
}

const binary = electronBinary()
const reason = 'Electron binary not installed here (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1); the real-app smoke test runs on machines that have it.'

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
})
