// Hibernation in real Chromium against the real core (SPEC §10): Hibernate from the card with a confirm
// that explains the cost, the hibernated card with the snapshot's monthly cost next to the droplet's,
// the list's total per month, and Resume back to a running desktop.
import { expect, test } from '@playwright/test'
import { artifactPath } from './artifacts'
import { addConstitution, startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined
test.afterEach(async () => {
  await app?.close()
  app = undefined
})

test('hibernate a running desktop, see what it costs while asleep, and resume it', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({ env: { DICTUMAL_HIBERNATE_POLL_MS: '50' }, droplet: () => ({ timeline: { stepMs: 60 } }) })
  const { page, cloud } = app
  await addConstitution(page, 'Night desk')
  await page.getByRole('button', { name: 'Deploy Night desk' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deploy “Night desk”' })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()

  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  // Running: the droplet's $24.00 a month (s-2vcpu-4gb).
  await expect(page.getByTestId('monthly-total')).toContainText('$24.00 per month')

  await card.getByRole('button', { name: 'Hibernate Night desk' }).click()
  const confirm = page.getByRole('dialog', { name: 'Hibernate “Night desk”?' })
  await expect(confirm).toContainText('$0.06 per GB a month')
  await expect(confirm).toContainText('instead of $24.00 a month for the droplet')
  await expect(confirm).toContainText('deletes the droplet only once the snapshot is safe')
  await page.screenshot({ path: artifactPath('hibernate-confirm.png') })
  await confirm.getByRole('button', { name: 'Hibernate' }).click()

  await expect(card).toHaveAttribute('data-status', 'HIBERNATED', { timeout: 30_000 })
  await expect(card.getByTestId('snapshot-cost')).toHaveText('$0.252/month (4.2 GiB)')
  await expect(card.getByTestId('droplet-cost')).toHaveText('$24.00/month')
  await expect(card.getByTestId('hibernated-note')).toContainText('Resume brings every file back')
  await expect(page.getByTestId('monthly-total')).toContainText('$0.252 per month')
  expect(cloud.digitalOcean.droplets.size).toBe(0)
  expect(cloud.digitalOcean.snapshots.size).toBe(1)
  await card.screenshot({ path: artifactPath('hibernated-card.png') })
  await page.screenshot({ path: artifactPath('hibernated-deployments.png') })

  await card.getByRole('button', { name: 'Resume Night desk' }).click()
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  await expect.poll(() => cloud.digitalOcean.snapshots.size, { timeout: 20_000 }).toBe(0)
  await expect(page.getByTestId('monthly-total')).toContainText('$24.00 per month')
  expect(app.host.errors).toEqual([])
})

test('what a deployment costs per month now: droplet while billed, snapshot while kept', async () => {
  const { monthlyNow, snapshotMonthly } = await import('../renderer/src/format')
  const snap = { snapshotId: '190000001', snapshotSizeGigabytes: 10 }
  const none = { snapshotId: null, snapshotSizeGigabytes: null }
  expect(snapshotMonthly(snap)).toBeCloseTo(0.6, 6)
  expect(snapshotMonthly(none)).toBeNull()
  expect(monthlyNow({ status: 'HIBERNATED', ...snap }, 24)).toBeCloseTo(0.6, 6)
  expect(monthlyNow({ status: 'ACTIVE', ...none }, 24)).toBe(24)
  // Mid-hibernation and mid-resume both exist for a moment: both are billed.
  expect(monthlyNow({ status: 'HIBERNATING', ...snap }, 24)).toBeCloseTo(24.6, 6)
  expect(monthlyNow({ status: 'PROVISIONING', ...snap }, null)).toBeNull()
  expect(monthlyNow({ status: 'DESTROYED', ...snap }, 24)).toBe(0)
})

test('idle auto-hibernate is off by default and set in Settings, a bad value told in one sentence', async () => {
  app = await startUiApp()
  const { page, services } = app
  expect(services.settings().idleHibernateMinutes).toBeNull()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Settings' }).click()
  const minutes = page.getByLabel('Minutes idle before hibernating')
  await expect(minutes).toBeDisabled()
  await page.getByLabel('Hibernate desktops nobody has open for').check()
  await minutes.fill('5')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await expect(page.getByText('Hibernate idle desktops after 10 minutes to 7 days (whole minutes), or turn it off.')).toBeVisible()
  expect(services.settings().idleHibernateMinutes).toBeNull()
  await minutes.fill('45')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible()
  expect(services.settings().idleHibernateMinutes).toBe(45)
  await page.screenshot({ path: artifactPath('settings-idle-hibernate.png'), fullPage: true })
  await page.getByLabel('Hibernate desktops nobody has open for').uncheck()
  await page.getByRole('button', { name: 'Save settings' }).click()
  await expect.poll(() => services.settings().idleHibernateMinutes).toBeNull()
})
