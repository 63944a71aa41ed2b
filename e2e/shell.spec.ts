// The app shell in real Chromium, wired to the real core (app services over a fake DigitalOcean).
import { expect, test } from '@playwright/test'
import { artifactPath } from './artifacts'
import { startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined

test.afterEach(async () => {
  await app?.close()
  app = undefined
})

for (const colorScheme of ['light', 'dark'] as const) {
  test(`the shell opens with navigation and an empty state (${colorScheme})`, async () => {
    app = await startUiApp({ colorScheme })
    const { page } = app
    await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
    await expect(page.getByText('No deployments yet')).toBeVisible()
    // The version comes from main through window.dictumal, not from the page itself.
    await expect(page.getByText('v0.1.0')).toBeVisible()
    const nav = page.getByRole('navigation', { name: 'Main' })
    for (const label of ['Deployments', 'Constitutions', 'Settings']) {
      await expect(nav.getByRole('button', { name: label })).toBeVisible()
    }
    await nav.getByRole('button', { name: 'Constitutions' }).click()
    await expect(page.getByRole('heading', { name: 'Constitutions', level: 1 })).toBeVisible()
    await expect(nav.getByRole('button', { name: 'Constitutions' })).toHaveAttribute('aria-current', 'page')
    await nav.getByRole('button', { name: 'Deployments' }).click()
    await page.screenshot({ path: artifactPath(`shell-${colorScheme}.png`) })
    expect(app.host.errors).toEqual([])
  })
}

test('the page has window.dictumal but no Node or Electron', async () => {
  app = await startUiApp()
  const exposed = await app.page.evaluate(() => ({
    api: typeof (window as unknown as { dictumal?: unknown }).dictumal,
    require: typeof (window as unknown as { require?: unknown }).require,
    process: typeof (window as unknown as { process?: unknown }).process,
    ipc: typeof (window as unknown as { ipcRenderer?: unknown }).ipcRenderer,
  }))
  expect(exposed).toEqual({ api: 'object', require: 'undefined', process: 'undefined', ipc: 'undefined' })
})
