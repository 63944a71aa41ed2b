// Desktop images in real Chromium against the real core: the deploy dialog's first-time offer, a build
// followed live in Settings › Images, the deploy dialog's fast path, and a deploy that starts from the
// image (fastStart) to ACTIVE. Builder droplets answer their beacon on loopback (test/fakes/fake-builder).
import { expect, test } from '@playwright/test'
import { attachFakeBuilders, type FakeBuilders } from '../test/fakes/fake-builder'
import { artifactPath } from './artifacts'
import { addConstitution, startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined
let builders: FakeBuilders | undefined

test.afterEach(async () => {
  await builders?.close()
  await app?.close()
  app = undefined
  builders = undefined
})

test('first deploy offers an image; Settings › Images shows the build; the next deploy starts from it', async () => {
  app = await startUiApp({ env: { DICTUMAL_IMAGE_POLL_MS: '50' } })
  builders = attachFakeBuilders(app.cloud.digitalOcean, { stepMs: 250 })
  const { page, services } = app
  const nav = page.getByRole('navigation', { name: 'Main' })

  await addConstitution(page, 'Field notes', '# Notes\n')

  // 1. No image yet: the dialog says it will install fresh, how long that takes, and offers a build.
  await page.getByRole('button', { name: 'Deploy Field notes' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deploy “Field notes”' })
  const path = dialog.getByTestId('deploy-path')
  await expect(path).toHaveAttribute('data-path', 'fresh')
  await expect(path).toContainText('Fresh install')
  await expect(dialog.getByTestId('deploy-estimates')).toContainText('typical; not measured here yet')
  const offer = dialog.getByTestId('build-offer')
  await expect(offer).toContainText('No desktop image yet')
  await page.screenshot({ path: artifactPath('images-01-deploy-dialog-offer.png') })
  await offer.getByRole('button', { name: 'Build image' }).click()
  await expect(offer).toContainText('is being built')
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // 2. Settings › Images follows the build live to Ready.
  await nav.getByRole('button', { name: 'Settings' }).click()
  const panel = page.getByRole('group', { name: 'Desktop images' })
  const row = panel.getByTestId('image-row')
  await expect(row).toHaveCount(1)
  await expect(row.getByRole('progressbar')).toBeVisible()
  await page.screenshot({ path: artifactPath('images-02-building.png') })
  await expect(row.getByText('Ready', { exact: true })).toBeVisible({ timeout: 30_000 })
  await expect(row).toContainText('4.2 GiB · $0.252/mo')
  await expect(row).toContainText('nyc3')
  await panel.screenshot({ path: artifactPath('images-03-settings-images.png') })
  const [image] = services.images.list()
  expect(image).toMatchObject({ status: 'READY', regions: ['nyc3'] })
  expect([...app.cloud.digitalOcean.droplets.values()].filter((d) => d.tags.includes('dictumal-image'))).toHaveLength(0)

  // 3. The deploy dialog now takes the fast path; the measured build shows in its estimate.
  await nav.getByRole('button', { name: 'Constitutions' }).click()
  await page.getByRole('button', { name: 'Deploy Field notes' }).click()
  await expect(path).toHaveAttribute('data-path', 'image')
  await expect(path).toContainText(`Fast start from desktop image ${image!.name} (the base image with the desktop already installed)`)
  await expect(dialog.getByRole('checkbox', { name: 'Install from scratch instead' })).not.toBeChecked()
  await page.screenshot({ path: artifactPath('images-04-deploy-dialog-fast-path.png') })
  await dialog.getByRole('button', { name: 'Deploy' }).click()
  await expect(dialog).toBeHidden()
  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 30_000 })
  const [deployment] = services.engine.list()
  expect(deployment).toMatchObject({ fastStart: true, image: image!.snapshotId })

  // The deploy was measured: the dialog's fast-path time now comes from it, not from the default.
  await nav.getByRole('button', { name: 'Constitutions' }).click()
  await page.getByRole('button', { name: 'Deploy Field notes' }).click()
  await expect(path).toContainText('(measured, 1 deploy)')
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // 4. A copy to another region from the panel.
  await nav.getByRole('button', { name: 'Settings' }).click()
  await row.getByLabel('Copy to').selectOption('ams3')
  await row.getByRole('button', { name: 'Copy' }).click()
  await expect(row).toContainText('nyc3, ams3', { timeout: 15_000 })

  // 5. Delete removes the snapshot.
  await row.getByRole('button', { name: 'Delete' }).click()
  await page.getByRole('dialog', { name: /Delete image/ }).getByRole('button', { name: 'Delete image' }).click()
  await expect(panel.getByTestId('no-images')).toBeVisible()
  expect(app.cloud.digitalOcean.snapshots.size).toBe(0)
})
