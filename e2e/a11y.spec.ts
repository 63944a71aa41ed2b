// axe-core in the real page, on every main screen, in light and dark: no serious or critical findings.
import { expect, test } from '@playwright/test'
import { artifactPath } from './artifacts'
import { seriousAxeFindings } from './axe-check'
import { startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined
test.afterEach(async () => {
  await app?.close()
  app = undefined
})

for (const colorScheme of ['light', 'dark'] as const) {
  test(`every main screen passes axe (${colorScheme})`, async () => {
    const screens: Record<string, string[]> = {}
    const check = async (name: string) => {
      await app!.page.screenshot({ path: artifactPath(`a11y-${colorScheme}-${name}.png`) })
      screens[name] = await seriousAxeFindings(app!.page)
    }

    // First run.
    app = await startUiApp({ token: 'none', colorScheme })
    await expect(app.page.getByRole('heading', { name: 'Welcome to Dictumal' })).toBeVisible()
    await app.page.getByLabel('DigitalOcean personal access token').fill('bad')
    await app.page.getByRole('button', { name: 'Connect' }).click()
    await expect(app.page.getByRole('alert')).toBeVisible()
    await check('welcome')
    await app.close()

    // Signed in; a droplet that stays mid-boot so its progress card stays on screen.
    app = await startUiApp({ colorScheme, droplet: () => ({ timeline: { stepMs: 200, neverFinish: true } }) })
    const { page } = app
    await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
    await check('deployments-empty')

    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('button', { name: 'Constitutions' }).click()
    await expect(page.getByText('No constitutions yet')).toBeVisible()
    await check('constitutions-empty')
    await page.getByRole('button', { name: 'Write your first constitution' }).click()
    await page.getByLabel('Name').fill('Studio')
    await check('editor')
    await page.getByRole('tab', { name: 'Preview' }).click()
    await check('editor-preview')
    await page.getByRole('button', { name: 'Save' }).click()
    await check('constitutions')
    await page.getByRole('button', { name: 'Deploy Studio' }).click()
    await expect(page.getByRole('dialog').getByTestId('deploy-price')).toContainText('per hour')
    await check('deploy-dialog')
    await page.getByRole('dialog').getByRole('button', { name: 'Deploy' }).click()
    const card = page.locator('[data-deployment-id]')
    await expect(card).toHaveAttribute('data-status', 'CONFIGURING', { timeout: 20_000 })
    await check('deployments-progress')
    await card.getByRole('button', { name: 'More actions for Studio' }).click()
    await card.getByRole('button', { name: 'Destroy Studio' }).click()
    await check('destroy-confirm')
    await page.keyboard.press('Escape')
    await nav.getByRole('button', { name: 'Settings' }).click()
    await expect(page.getByText('alice laptop')).toBeVisible()
    await check('settings')

    expect(screens).toEqual(Object.fromEntries(Object.keys(screens).map((k) => [k, []])))
    expect(app.host.errors).toEqual([])

    // The control: an unlabelled button is a critical finding, so the check above can fail.
    await page.evaluate(() => document.querySelector('main')?.append(document.createElement('button')))
    expect((await seriousAxeFindings(page)).join('\n')).toContain('button-name')
  })
}
