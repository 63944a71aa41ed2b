// The issue #6 flows in real Chromium against the real core: token → constitution → deploy → every
// stage to ACTIVE → open → destroy; a failing droplet; settings changing the image.
import { expect, test } from '@playwright/test'
import { DEPLOYMENT_STAGES } from '../preload/contract'
import { artifactPath } from './artifacts'
import { progressSeen, recordProgress, startUiApp, type UiApp } from './ui-harness'

const STAGE_ORDER: readonly string[] = DEPLOYMENT_STAGES

let app: UiApp | undefined

test.afterEach(async () => {
  await app?.close()
  app = undefined
})

async function writeConstitution(a: UiApp, name: string, body: string): Promise<void> {
  const { page } = a
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Constitutions' }).click()
  await page.getByRole('button', { name: /New constitution|Write your first constitution/ }).first().click()
  await page.getByLabel('Name').fill(name)
  await page.getByLabel('Body (markdown)').fill(body)
}

test('first run to a running desktop and back to nothing', async () => {
  app = await startUiApp({ token: 'none' })
  const { page, cloud } = app

  // 1. First run: a bad token gets a sentence, a good one gets in.
  await expect(page.getByRole('heading', { name: 'Welcome to Dictumal' })).toBeVisible()
  const tokenField = page.getByLabel('DigitalOcean personal access token')
  await expect(tokenField).toHaveAttribute('type', 'password')
  await expect(page.getByRole('link', { name: /API › Tokens/ })).toHaveAttribute('href', 'https://cloud.digitalocean.com/account/api/tokens')
  await tokenField.fill('dop_v1_not-a-real-token')
  await page.getByRole('button', { name: 'Connect' }).click()
  await expect(page.getByRole('alert')).toContainText('DigitalOcean rejected the API token: it is invalid, expired or revoked.')
  await page.screenshot({ path: artifactPath('ui-01-bad-token.png') })
  expect(await app.secrets.getToken()).toBeNull()

  await tokenField.fill(cloud.digitalOcean.token)
  await page.getByRole('button', { name: 'Connect' }).click()
  await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
  expect(await app.secrets.getToken()).toBe(cloud.digitalOcean.token)
  // The token never reaches the page once stored.
  expect(await page.content()).not.toContain(cloud.digitalOcean.token)

  // 2. A constitution, with a preview.
  await writeConstitution(app, 'Research desk', '# Purpose\n\nRead **papers** and take notes.\n\n- one\n- two\n')
  await page.getByRole('tab', { name: 'Preview' }).click()
  await expect(page.locator('.markdown strong')).toHaveText('papers')
  await page.screenshot({ path: artifactPath('ui-02-constitution-editor.png') })
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(page.getByRole('heading', { name: 'Research desk', level: 2 })).toBeVisible()
  await page.screenshot({ path: artifactPath('ui-03-constitutions.png') })

  // 3. Deploy with a picked region and size; prices and image come from the live catalog.
  await page.getByRole('button', { name: 'Deploy Research desk' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deploy “Research desk”' })
  await expect(dialog).toBeVisible()
  const region = dialog.getByLabel('Region')
  await expect(region.locator('option')).toHaveText(['New York 3 (nyc3)', 'Amsterdam 3 (ams3)', 'San Francisco 3 (sfo3)'])
  await expect(region).toHaveValue('nyc3')
  await region.selectOption('ams3')
  const size = dialog.getByRole('radiogroup', { name: 'Size' })
  // Amsterdam offers only two of the three sizes.
  await expect(size.getByRole('radio')).toHaveCount(2)
  await size.getByRole('radio', { name: /s-1vcpu-1gb/ }).check()
  await expect(dialog.getByTestId('deploy-price')).toHaveText('$0.009 per hour · $6.00 per month')
  await expect(dialog.getByTestId('deploy-image')).toContainText('ubuntu-24-04-x64')
  await expect(dialog.getByTestId('deploy-image')).toContainText('default')
  await page.screenshot({ path: artifactPath('ui-04-deploy-dialog.png') })
  await recordProgress(page)
  await dialog.getByRole('button', { name: 'Deploy' }).click()
  await expect(dialog).toBeHidden()

  // 4. Live progress to ACTIVE, pushed by the engine.
  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveCount(1)
  await expect(card.getByRole('progressbar')).toBeVisible()
  // The four port checks sit behind Details while it sets up.
  await card.getByText('Details', { exact: true }).click()
  await expect(card.getByRole('list', { name: 'Readiness checks' }).getByRole('listitem')).toHaveCount(4)
  await expect(card).toHaveAttribute('data-stage', 'installing-packages', { timeout: 20_000 })
  await expect(card.getByRole('list', { name: 'Hints' })).toContainText('/var/log/dictumal-init.log')
  await page.screenshot({ path: artifactPath('ui-05-progress.png') })
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 30_000 })
  await expect(card.getByText('Running', { exact: true })).toBeVisible()

  const seen = await progressSeen(page)
  const stages = seen.map((s) => s.stage).filter((s, i, all) => all[i - 1] !== s)
  // One probe round may legitimately pass two stages (the gateway answers and accepts the token at
  // once), so the page must show the stages in order, from the first to the last, never going back.
  const order = stages.map((s) => STAGE_ORDER.indexOf(s))
  expect(order.every((index, i) => index >= 0 && (i === 0 || index > order[i - 1]!))).toBe(true)
  expect(stages[0]).toBe('provisioning-droplet')
  expect(stages).toContain('installing-packages')
  expect(stages.length).toBeGreaterThanOrEqual(5)
  for (let i = 1; i < seen.length; i++) expect(seen[i]!.percent).toBeGreaterThanOrEqual(seen[i - 1]!.percent)
  expect(seen.at(-1)).toEqual({ status: 'ACTIVE', stage: 'active', percent: 100 })

  const deployment = app.services.engine.list()[0]!
  expect(deployment.region).toBe('ams3')
  expect(deployment.size).toBe('s-1vcpu-1gb')
  await expect(card.getByText(deployment.ip!, { exact: true })).toBeVisible()
  await expect(card.getByTestId('cost')).toHaveText(/^\$0\.0\d\d$/)
  await page.screenshot({ path: artifactPath('ui-06-active.png') })

  // Copy IP and Open go through main; the desktop toolbar replaces the app while a desktop shows.
  await card.getByRole('button', { name: /Copy IP/ }).click()
  await expect(card.getByRole('status')).toHaveText(`Copied ${deployment.ip}`)
  await card.getByRole('button', { name: 'Open', exact: true }).click()
  const toolbar = page.getByRole('navigation', { name: 'Desktop' })
  await expect(toolbar).toBeVisible()
  await page.screenshot({ path: artifactPath('ui-07-desktop-toolbar.png') })
  await toolbar.getByRole('button', { name: 'Reconnect' }).click()
  await toolbar.getByRole('button', { name: /Back/ }).click()
  await expect(toolbar).toBeHidden()
  expect(app.shellCalls.map((c) => c.kind === 'open' ? c.detail.split(' ')[0] : `${c.kind}:${c.detail}`)).toEqual([
    `copy:${deployment.ip}`,
    'embedded',
    'action:reconnect',
    'action:back',
  ])

  // 5. Destroy (in the card's menu, away from Copy IP) asks first; Escape cancels, the button confirms.
  await card.getByRole('button', { name: 'More actions for Research desk' }).click()
  await card.getByRole('button', { name: 'Destroy Research desk' }).click()
  const confirm = page.getByRole('dialog', { name: 'Destroy “Research desk”?' })
  await expect(confirm).toBeVisible()
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused()
  await page.keyboard.press('Escape')
  await expect(confirm).toBeHidden()
  expect(cloud.digitalOcean.droplets.size).toBe(1)
  await card.getByRole('button', { name: 'More actions for Research desk' }).click()
  await card.getByRole('button', { name: 'Destroy Research desk' }).click()
  await page.screenshot({ path: artifactPath('ui-08-destroy-confirm.png') })
  await confirm.getByRole('button', { name: 'Destroy' }).click()
  await expect(page.getByText('No deployments yet')).toBeVisible()
  expect(cloud.digitalOcean.droplets.size).toBe(0)
  await expect(page.getByText('Destroyed (1)')).toBeVisible()
  expect(app.host.errors).toEqual([])
})

test('a droplet whose setup fails shows ERROR, its hint and Destroy', async () => {
  app = await startUiApp({
    droplet: () => ({ timeline: { stepMs: 150 }, faults: { failStep: { step: 'start-guacamole', exitCode: 125 } } }),
  })
  const { page } = app
  await writeConstitution(app, 'Doomed', 'x')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('button', { name: 'Deploy Doomed' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Deploy' }).click()
  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveAttribute('data-status', 'ERROR', { timeout: 30_000 })
  await expect(card.getByRole('alert')).toContainText('Starting Guacamole failed on the droplet (exit code 125).')
  // Whoever says it (the engine's sentence or the playbook hint), the user learns it still costs money.
  await expect(card).toContainText(/costs money|bills it by the hour/)
  await expect(card.getByRole('list', { name: 'Hints' })).toContainText('/var/log/dictumal-init.log')
  await expect(card.locator('.stage.failed')).toHaveCount(1)
  await page.screenshot({ path: artifactPath('ui-09-error.png') })
  await card.getByRole('button', { name: 'Destroy Doomed' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Destroy' }).click()
  await expect(page.getByText('No deployments yet')).toBeVisible()
  expect(app.cloud.digitalOcean.droplets.size).toBe(0)
  expect(app.host.errors).toEqual([])
})

test('settings change the image the deploy dialog and the droplet use', async () => {
  app = await startUiApp()
  const { page } = app
  await writeConstitution(app, 'Imaged', 'y')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Settings' }).click()
  await expect(page.getByTestId('token-source')).toContainText('stored in your system keychain')
  await page.getByRole('radio', { name: 'A specific image' }).check()
  await page.getByLabel('Image slug').fill('ubuntu-22-04-x64')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await expect(page.getByText('Saved.')).toBeVisible()
  await page.screenshot({ path: artifactPath('ui-10-settings.png'), fullPage: true })
  expect(app.services.settings().imageSlug).toBe('ubuntu-22-04-x64')

  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Constitutions' }).click()
  await page.getByRole('button', { name: 'Deploy Imaged' }).click()
  const dialog = page.getByRole('dialog')
  await expect(dialog.getByTestId('deploy-image')).toContainText('ubuntu-22-04-x64')
  await expect(dialog.getByTestId('deploy-image')).toContainText('from your settings')
  await dialog.getByRole('button', { name: 'Deploy' }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(() => [...app!.cloud.digitalOcean.droplets.values()].map((d) => d.image)).toEqual(['ubuntu-22-04-x64'])
  expect(app.host.errors).toEqual([])
})
