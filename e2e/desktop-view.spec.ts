// The renderer's side of the embedded desktop, in real Chromium over the real core: it reports its
// placeholder to main (and whether a message covers it), offers Cancel while connecting, takes a
// navigation that waited for it, and Settings switches the remote page's clipboard reading.
import { expect, test } from '@playwright/test'
import type { DesktopLayout, NavigateRequest } from '../preload/contract'
import { AppError } from '../main/core/user-error'
import { artifactPath } from './artifacts'
import { startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined

test.afterEach(async () => {
  await app?.close()
  app = undefined
})

const DESKTOP_ID = '0b6e4c5a-0000-4000-8000-000000000001'

test('a navigation asked for before the page loaded is taken on mount', async () => {
  let pending: NavigateRequest | null = { view: 'new-deployment' }
  let asked = 0
  app = await startUiApp({
    shell: {
      takePendingNavigation: () => {
        asked += 1
        const request = pending
        pending = null
        return request
      },
    },
  })
  const { page } = app
  await expect(page.getByRole('heading', { name: 'Constitutions', level: 1 })).toBeVisible()
  await expect(page.getByRole('dialog', { name: 'New deployment' })).toBeVisible()
  expect(asked).toBe(1)
  expect(app.host.errors).toEqual([])
})

test('the placeholder is reported to main, follows the window, and is covered by a message', async () => {
  const layouts: DesktopLayout[] = []
  app = await startUiApp({
    viewport: { width: 1180, height: 780 },
    shell: {
      setLayout: (layout) => {
        layouts.push(layout)
      },
      desktopAction: async (action) => {
        if (action === 'reconnect') throw new AppError('desktop-load-failed', 'The desktop did not answer in time. Check that the droplet is running, then reconnect.')
      },
    },
  })
  const { page, host } = app
  await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
  await host.emit('desktop:changed', { deploymentId: DESKTOP_ID })
  await expect(page.getByRole('navigation', { name: 'Desktop' })).toBeVisible()

  // Below the toolbar, the whole width and the rest of the height.
  await expect.poll(() => layouts.at(-1)).toMatchObject({ x: 0, width: 1180, covered: false })
  const first = layouts.at(-1)
  expect(first?.y).toBeGreaterThan(20)
  expect((first?.y ?? 0) + (first?.height ?? 0)).toBeCloseTo(780, 0)

  // Maximize or full screen on Linux sends no resize to main: the page's report is what moves the view.
  await page.setViewportSize({ width: 1400, height: 900 })
  await expect.poll(() => layouts.at(-1)).toMatchObject({ width: 1400, covered: false })
  expect((layouts.at(-1)?.y ?? 0) + (layouts.at(-1)?.height ?? 0)).toBeCloseTo(900, 0)

  // A failure message must not sit under the native view: the page says it is covered.
  await page.getByRole('button', { name: 'Reconnect' }).click()
  await expect(page.getByRole('alert')).toContainText('did not answer in time')
  await expect.poll(() => layouts.at(-1)?.covered).toBe(true)
  await page.getByRole('button', { name: 'Dismiss' }).click()
  await expect.poll(() => layouts.at(-1)?.covered).toBe(false)
  expect(host.errors).toEqual([])
})

test('while a desktop connects the toolbar offers only Cancel, which leaves it', async () => {
  app = await startUiApp()
  const { page, host, shellCalls } = app
  await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
  await host.emit('desktop:changed', { deploymentId: DESKTOP_ID, connecting: true })
  const toolbar = page.getByRole('navigation', { name: 'Desktop' })
  await expect(toolbar.getByRole('button')).toHaveText(['Cancel'])
  await expect(page.getByRole('status')).toContainText('Connecting to')
  await page.screenshot({ path: artifactPath('desktop-connecting.png') })
  await toolbar.getByRole('button', { name: 'Cancel' }).click()
  expect(shellCalls).toContainEqual({ kind: 'action', detail: 'back' })
  await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()

  // Once loaded, the full toolbar is back.
  await host.emit('desktop:changed', { deploymentId: DESKTOP_ID })
  await expect(toolbar.getByRole('button')).toHaveText(['← Back to Dictumal', 'Reconnect', 'Full screen', 'Open in separate window'])
  expect(host.errors).toEqual([])
})

test('Settings: the remote page may read the clipboard until the user switches it off', async () => {
  app = await startUiApp()
  const { page, services } = app
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Settings' }).click()
  const panel = page.getByRole('group', { name: 'Remote desktop' })
  const toggle = panel.getByRole('checkbox', { name: 'Let remote desktops read my clipboard' })
  await expect(toggle).toBeChecked()
  await expect(panel).toContainText('a droplet that was taken over could read what you copied')
  expect(services.settings().desktopClipboardRead).toBe(true)

  await toggle.uncheck()
  await expect(panel.getByRole('status')).toHaveText('Saved.')
  expect(services.settings().desktopClipboardRead).toBe(false)
  await panel.scrollIntoViewIfNeeded()
  await page.screenshot({ path: artifactPath('settings-clipboard.png'), fullPage: true })

  // It stays off after a reload: it is a saved setting.
  await page.reload()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Settings' }).click()
  await expect(page.getByRole('group', { name: 'Remote desktop' }).getByRole('checkbox')).not.toBeChecked()
  expect(app.host.errors).toEqual([])
})
