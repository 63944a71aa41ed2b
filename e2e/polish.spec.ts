// Issue 14 item 5 in real Chromium: one control height, slugs that never break inside, one vocabulary
// for the status badge and the stage, and Settings' Replace token with Cancel.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { expect, test } from '@playwright/test'
import { createConstitution } from '../main/core/store'
import { artifactPath } from './artifacts'
import { startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined

test.afterEach(async () => {
  await app?.close()
  app = undefined
})

test('Replace token has Cancel; its field and buttons share one height', async () => {
  app = await startUiApp()
  const { page } = app
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Settings' }).click()
  await page.getByRole('button', { name: 'Replace token' }).click()
  const field = page.getByLabel('DigitalOcean personal access token')
  const save = page.getByRole('button', { name: 'Save token' })
  const cancel = page.getByRole('button', { name: 'Cancel' })
  await expect(cancel).toBeVisible()
  const heights = await Promise.all([field, save, cancel].map(async (l) => (await l.boundingBox())?.height))
  expect(new Set(heights).size).toBe(1)
  // Every input, select and button on the page has that height (textareas aside).
  const all = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.content input:not([type=checkbox]):not([type=radio]), .content select, .content .button')]
      .filter((el) => el.offsetParent !== null)
      .map((el) => Math.round(el.getBoundingClientRect().height)),
  )
  expect(new Set(all)).toEqual(new Set([heights[0]]))
  await page.screenshot({ path: artifactPath('polish-01-replace-token.png') })
  await cancel.click()
  await expect(field).toBeHidden()
  await expect(page.getByRole('button', { name: 'Replace token' })).toBeVisible()
  expect(await app.secrets.getToken()).toBe(app.cloud.digitalOcean.token)
})

test('a narrow card keeps the size slug whole, and badge and stage speak one vocabulary', async () => {
  app = await startUiApp({ viewport: { width: 900, height: 600 } })
  const { page, services } = app
  const created = await createConstitution(services.store, { name: 'Narrow', body: '# N\n' })
  if (!created.ok) throw new Error(created.error.message)
  await services.engine.create({ constitutionId: created.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })
  const card = page.locator('[data-deployment-id]')
  await expect(card.locator('.badge')).toHaveText('Setting up')
  const size = card.locator('dd.slug').filter({ hasText: 's-2vcpu-4gb' })
  await expect(size).toHaveCSS('white-space', 'nowrap')
  const lineHeight = await size.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight))
  expect((await size.boundingBox())?.height).toBeLessThanOrEqual(lineHeight + 1)
  await page.screenshot({ path: artifactPath('polish-02-setting-up-900.png') })
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  await expect(card.locator('.badge')).toHaveText('Running')
})

test('the app and tray icons, drawn from resources/*.svg (screenshot of the rasterised files)', async () => {
  app = await startUiApp()
  const { page } = app
  await expect(page.locator('.titlebar svg.brand-mark')).toBeVisible()
  const image = (file: string, size: number) =>
    `<figure><img alt="${file}" width="${size}" height="${size}" style="image-rendering: pixelated" src="data:image/png;base64,${readFileSync(resolve(import.meta.dirname, '../resources', file)).toString('base64')}"><figcaption>${file}</figcaption></figure>`
  await page.goto('about:blank')
  await page.setContent(
    `<body style="display:flex;gap:24px;align-items:end;font:12px sans-serif;background:#eef0f4">${image('icon.png', 256)}${image('tray.png', 64)}${image('trayTemplate@2x.png', 64)}${image('trayTemplate.png', 32)}</body>`,
  )
  for (const img of await page.locator('img').all()) expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
  await page.screenshot({ path: artifactPath('polish-03-icons.png') })
})
