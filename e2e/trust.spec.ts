// Issue 13 in real Chromium against the real core: what the desktops cost (summary line, rate on each
// card, a red count for failed ones), DigitalOcean's hints reaching the deploy dialog, and the droplet
// limit ("You use 2 of 2 droplets") keeping Deploy off with a way forward.
import { expect, test } from '@playwright/test'
import { artifactPath } from './artifacts'
import { addConstitution, startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined
test.afterEach(async () => {
  await app?.close()
  app = undefined
})

const constitution = (a: UiApp, name: string): Promise<void> => addConstitution(a.page, name)

test('cost at a glance, hints shown, and the droplet limit explained before Deploy', async () => {
  test.setTimeout(120_000)
  let created = 0
  // The first droplet comes up; the second fails its setup (and is still billed).
  app = await startUiApp({
    droplet: () =>
      ++created === 1 ? { timeline: { stepMs: 60 } } : { timeline: { stepMs: 60 }, faults: { failStep: { step: 'start-guacamole', exitCode: 125 } } },
  })
  const { page, cloud } = app
  await constitution(app, 'Ledger desk')
  const deploy = async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Constitutions' }).click()
    await page.getByRole('button', { name: 'Deploy Ledger desk' }).click()
    return page.getByRole('dialog', { name: 'Deploy “Ledger desk”' })
  }

  let dialog = await deploy()
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const cards = page.locator('[data-deployment-id]')
  await expect(cards.first()).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  await expect(page.getByTestId('monthly-total')).toHaveText('Costs now: 1 running · $0.036/h · ≈ $24.00 per month')
  await expect(cards.first().getByTestId('hourly-rate')).toContainText('at $0.036/h')

  dialog = await deploy()
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  await expect(page.locator('[data-status="ERROR"]')).toHaveCount(1, { timeout: 60_000 })
  // The failed droplet bills too: it is in the count, the rate and the month, and the sidebar shows it in red.
  await expect(page.getByTestId('monthly-total')).toHaveText('Costs now: 2 running (1 failed, still billed) · $0.071/h · ≈ $48.00 per month')
  await expect(page.getByTestId('nav-failed')).toHaveText('1')
  await expect(page.getByTestId('nav-failed')).toHaveAttribute('aria-label', '1 failed')
  await page.screenshot({ path: artifactPath('trust-cost-summary.png') })

  // A refusal from DigitalOcean arrives with what to do about it (errors.ts's hint).
  cloud.digitalOcean.inject({ kind: 'status', status: 403, body: { id: 'forbidden', message: 'You do not have access for the attempted action.' }, method: 'POST', path: '/v2/droplets' })
  dialog = await deploy()
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  const refusal = dialog.getByRole('alert')
  await expect(refusal).toContainText('The DigitalOcean token is not allowed to do this')
  await expect(refusal).toContainText('Give the token read and write access to droplets')
  await page.screenshot({ path: artifactPath('trust-hint-forbidden.png') })
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // At the limit: said in numbers before anything is sent, Deploy off, and a way forward.
  cloud.digitalOcean.setDropletLimit(2)
  dialog = await deploy()
  const limit = dialog.getByTestId('droplet-limit')
  await expect(limit).toContainText('You use 2 of 2 droplets')
  await expect(dialog.getByRole('button', { name: 'Deploy', exact: true })).toBeDisabled()
  await expect(limit.getByRole('link', { name: 'ask DigitalOcean for a higher droplet limit' })).toHaveAttribute(
    'href',
    'https://cloud.digitalocean.com/account/team/droplet_limit_increase',
  )
  await page.screenshot({ path: artifactPath('trust-droplet-limit.png') })
  await limit.getByRole('button', { name: 'Show deployments to destroy one' }).click()
  await expect(dialog).toBeHidden()
  await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
  expect(cloud.digitalOcean.droplets.size).toBe(2)
  expect(app.host.errors).toEqual([])
})

test('DigitalOcean trouble during a deploy shows on the card, and goes when it answers again', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({ droplet: () => ({ timeline: { stepMs: 60 } }) })
  const { page, cloud } = app
  await constitution(app, 'Patient desk')
  // Every look at the droplet fails for a while (the watch loop asks about every 100–300 ms here).
  cloud.digitalOcean.inject({ kind: 'server-error', status: 503, method: 'GET', path: /^\/v2\/droplets\/\d+$/, times: 40 })
  await page.getByRole('button', { name: 'Deploy Patient desk' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deploy “Patient desk”' })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const card = page.locator('[data-deployment-id]')
  const trouble = card.getByTestId('cloud-trouble')
  await expect(trouble).toContainText("DigitalOcean isn't answering (HTTP 503); retrying — the droplet exists and is billed; Dictumal keeps checking on it.", {
    timeout: 20_000,
  })
  await expect(card).toHaveAttribute('data-status', 'PROVISIONING')
  await card.screenshot({ path: artifactPath('trust-cloud-trouble.png') })
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  await expect(trouble).toHaveCount(0)
  expect(app.host.errors).toEqual([])
})

test('one name everywhere: two desktops of one constitution are told apart, and a rename reaches the toolbar', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({ droplet: () => ({ timeline: { stepMs: 60 } }) })
  const { page } = app
  await constitution(app, 'Twin desk')
  for (let i = 0; i < 2; i++) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Constitutions' }).click()
    await page.getByRole('button', { name: 'Deploy Twin desk' }).click()
    const dialog = page.getByRole('dialog', { name: 'Deploy “Twin desk”' })
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
    await expect(dialog).toBeHidden()
  }
  const cards = page.locator('[data-deployment-id]')
  await expect(cards).toHaveCount(2)
  await expect(page.getByRole('heading', { name: 'Twin desk', exact: true, level: 2 })).toBeVisible()
  const second = cards.filter({ has: page.getByRole('heading', { name: 'Twin desk 2', exact: true }) })
  await expect(second).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })

  await second.getByRole('button', { name: 'More actions for Twin desk 2' }).click()
  await second.getByRole('button', { name: 'Rename Twin desk 2' }).click()
  const rename = page.getByRole('dialog', { name: 'Rename “Twin desk 2”' })
  await expect(rename).toContainText('The droplet stays dictumal-twin-desk-')
  await rename.getByLabel('Name').fill('   ')
  await rename.getByRole('button', { name: 'Rename' }).click()
  await expect(rename.getByRole('alert')).toHaveText('Type a name for the desktop.')
  await rename.getByLabel('Name').fill('Night shift')
  await page.screenshot({ path: artifactPath('trust-rename.png') })
  await rename.getByRole('button', { name: 'Rename' }).click()
  await expect(rename).toBeHidden()
  const renamed = cards.filter({ has: page.getByRole('heading', { name: 'Night shift', exact: true }) })
  await expect(renamed).toHaveCount(1)
  // The droplet's own name stays, secondary.
  await expect(renamed).toContainText('dictumal-twin-desk-')
  expect(app.services.engine.list().map((d) => d.displayName).sort()).toEqual(['Night shift', 'Twin desk'])

  await renamed.getByRole('button', { name: 'Open', exact: true }).click()
  await expect(page.getByRole('navigation', { name: 'Desktop' })).toContainText('Night shift · 127.')
  await page.screenshot({ path: artifactPath('trust-toolbar-name.png') })
  expect(app.host.errors).toEqual([])
})

test('destroy guards: Destroy sits in a menu, an older desktop needs "files are lost" checked, a toast says billing stopped, and Deploy again', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({ droplet: () => ({ timeline: { stepMs: 60 } }) })
  const { page, cloud } = app
  await constitution(app, 'Keeper desk')
  await page.getByRole('button', { name: 'Deploy Keeper desk' }).click()
  let dialog = page.getByRole('dialog', { name: 'Deploy “Keeper desk”' })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  // Copy IP is in the row; Destroy is not, until the menu at the far end is opened.
  await expect(card.getByRole('button', { name: 'Copy IP address of Keeper desk' })).toBeVisible()
  await expect(card.getByRole('button', { name: 'Destroy Keeper desk' })).toHaveCount(0)

  // Twenty minutes later (the page's clock), the desktop may hold work.
  await page.clock.setFixedTime(Date.now() + 20 * 60_000)
  await card.getByRole('button', { name: 'More actions for Keeper desk' }).click()
  await card.getByRole('button', { name: 'Destroy Keeper desk' }).click()
  const confirm = page.getByRole('dialog', { name: 'Destroy “Keeper desk”?' })
  const guard = confirm.getByTestId('destroy-guard')
  await expect(guard).toContainText('Files on this desktop are lost')
  await expect(guard).toContainText(/It has cost \$0\.01\d so far, at \$0\.036 per hour\./)
  const go = confirm.getByRole('button', { name: 'Destroy', exact: true })
  await expect(go).toBeDisabled()
  await confirm.getByLabel('I understand that the files on “Keeper desk” are lost for good').check()
  await expect(go).toBeEnabled()
  await page.screenshot({ path: artifactPath('trust-destroy-guard.png') })
  await go.click()
  await expect(page.getByTestId('toast')).toHaveText(/^Destroyed “Keeper desk” — billing stopped — total \$0\.0\d\d$/)
  expect(cloud.digitalOcean.droplets.size).toBe(0)
  await page.screenshot({ path: artifactPath('trust-destroyed-toast.png') })

  await page.getByText('Destroyed (1)').click()
  await page.getByRole('button', { name: 'Deploy Keeper desk again' }).click()
  dialog = page.getByRole('dialog', { name: 'Deploy “Keeper desk”' })
  await expect(dialog).toBeVisible()
  await dialog.getByRole('button', { name: 'Cancel' }).click()
  expect(app.host.errors).toEqual([])
})

test('running desktops are re-checked: round trip on the card and toolbar, Not answering with Reconnect, deleted outside Dictumal', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({ env: { DICTUMAL_HEALTH_PROBE_MS: '300', DICTUMAL_HEALTH_CLOUD_MS: '1500' }, droplet: () => ({ timeline: { stepMs: 60 } }) })
  const { page, cloud } = app
  await constitution(app, 'Watched desk')
  await page.getByRole('button', { name: 'Deploy Watched desk' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deploy “Watched desk”' })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  await expect(card.getByTestId('health')).toHaveText(/^Answering · \d+ ms$/, { timeout: 20_000 })
  await card.screenshot({ path: artifactPath('trust-health-ok.png') })

  await card.getByRole('button', { name: 'Open', exact: true }).click()
  await expect(page.getByRole('navigation', { name: 'Desktop' }).getByTestId('health')).toHaveText(/^Answering · \d+ ms$/)
  await page.getByRole('navigation', { name: 'Desktop' }).getByRole('button', { name: /Back/ }).click()

  // The droplet stops answering: after two missed re-checks the card says since when, and offers Reconnect.
  const id = [...cloud.digitalOcean.droplets.keys()][0] ?? 0
  await cloud.farm.droplets.get(id)?.close()
  await expect(card.getByTestId('health')).toContainText(/Not answering since \d\d:\d\d/, { timeout: 20_000 })
  await expect(card.getByRole('button', { name: 'Reconnect to Watched desk' })).toBeVisible()
  await card.screenshot({ path: artifactPath('trust-health-down.png') })
  await card.getByRole('button', { name: 'Reconnect to Watched desk' }).click()
  await expect(card.getByTestId('health')).toContainText('Not answering since')

  // Deleted in DigitalOcean's control panel: the tagged listing misses it, its id answers 404, the card is history.
  cloud.digitalOcean.deleteBehindBack(id)
  await expect(page.getByText('No deployments yet')).toBeVisible({ timeout: 20_000 })
  await page.getByText('Destroyed (1)').click()
  await expect(page.locator('[data-status="DESTROYED"]')).toContainText('Deleted outside Dictumal')
  await page.screenshot({ path: artifactPath('trust-deleted-outside.png') })
  expect(app.host.errors).toEqual([])
})

test('progress in the droplet\'s own steps, a failure in words, and Destroy and retry', async () => {
  test.setTimeout(120_000)
  let created = 0
  app = await startUiApp({
    droplet: () =>
      ++created === 1
        ? { timeline: { stepMs: 400 }, faults: { failStep: { step: 'start-guacamole', exitCode: 125 } } }
        : { timeline: { stepMs: 60 } },
  })
  const { page, cloud } = app
  await constitution(app, 'Second try')
  await page.getByRole('button', { name: 'Deploy Second try' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deploy “Second try”' })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const card = page.locator('[data-deployment-id]').first()
  await expect(card.getByTestId('setup-step')).toHaveText(/^Step [1-8] of 9 · .+ · (about \d+ min left|less than a minute left) \(a first estimate\)$/, {
    timeout: 30_000,
  })
  await card.screenshot({ path: artifactPath('trust-setup-step.png') })

  await expect(card).toHaveAttribute('data-status', 'ERROR', { timeout: 30_000 })
  await expect(card.getByRole('alert').first()).toContainText('Starting Guacamole failed on the droplet (exit code 125).')
  await expect(card.getByTestId('setup-step')).toHaveCount(0)
  await page.screenshot({ path: artifactPath('trust-failed-in-words.png') })
  const failedId = await card.getAttribute('data-deployment-id')
  await card.getByRole('button', { name: 'Destroy and retry Second try' }).click()
  const retried = page.locator('[data-deployment-id]:not([data-status="DESTROYED"])').first()
  await expect(retried).not.toHaveAttribute('data-deployment-id', failedId ?? '')
  await expect(retried).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  expect(cloud.digitalOcean.droplets.size).toBe(1)
  expect(app.services.engine.list().find((d) => d.id === failedId)?.status).toBe('DESTROYED')
  expect(app.host.errors).toEqual([])
})

test('DigitalOcean rate-limiting the create shows in the deploy dialog while it waits', async () => {
  test.setTimeout(60_000)
  app = await startUiApp({ droplet: () => ({ timeline: { stepMs: 60 } }) })
  const { page, cloud } = app
  await constitution(app, 'Queued desk')
  cloud.digitalOcean.inject({ kind: 'rate-limit', retryAfterS: 3, method: 'POST', path: '/v2/droplets' })
  await page.getByRole('button', { name: 'Deploy Queued desk' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deploy “Queued desk”' })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog.getByTestId('create-trouble')).toHaveText('DigitalOcean is rate limiting this token (HTTP 429); retrying — nothing has been created yet.')
  await page.screenshot({ path: artifactPath('trust-create-trouble.png') })
  await expect(dialog).toBeHidden({ timeout: 20_000 })
  await expect(page.locator('[data-deployment-id]')).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  expect(cloud.digitalOcean.droplets.size).toBe(1)
  expect(app.host.errors).toEqual([])
})
