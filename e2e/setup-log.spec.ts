// Issue 13, item 5 (and item 6's live tail) in real Chromium against the real core and fake droplets that
// serve their setup log: a failed deploy opens its Setup log, a deploy in progress shows the log growing in
// Details, and the deploy dialog offers the account's SSH keys (Settings' ticked), none, or says why not.
import { expect, test } from '@playwright/test'
import { artifactPath } from './artifacts'
import { seriousAxeFindings } from './axe-check'
import { addConstitution, startUiApp, type UiApp } from './ui-harness'
import { updateSettings } from '../main/core/store'

const ALICE = '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'
const BOB = '7a:2f:11:0c:9e:55:de:41:8b:0b:3c:aa:02:61:9f:7e'

let app: UiApp | undefined
test.afterEach(async () => {
  await app?.close()
  app = undefined
})

const constitution = (a: UiApp, name: string): Promise<void> => addConstitution(a.page, name)

async function openDeploy(a: UiApp, name: string) {
  await a.page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Constitutions' }).click()
  await a.page.getByRole('button', { name: `Deploy ${name}` }).click()
  return a.page.getByRole('dialog', { name: `Deploy “${name}”` })
}

test('a failed deploy opens its setup log: the failure in the droplet’s own words, refreshable and copyable', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({
    droplet: () => ({
      timeline: { stepMs: 60 },
      faults: {
        failStep: { step: 'install-packages', exitCode: 100 },
        failureOutput: ['E: Unable to locate package xfce4-goodies', '\u001b[31mE: Sub-process /usr/bin/dpkg returned an error code (1)\u001b[0m'],
      },
    }),
  })
  const { page } = app
  await constitution(app, 'Broken desk')
  const dialog = await openDeploy(app, 'Broken desk')
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const card = page.locator('[data-status="ERROR"]')
  await expect(card).toHaveCount(1, { timeout: 60_000 })
  await expect(card.getByRole('button', { name: 'Destroy and retry Broken desk' })).toBeVisible()

  await card.getByRole('button', { name: 'Setup log of Broken desk' }).click()
  const logDialog = page.getByRole('dialog', { name: 'Setup log of “Broken desk”' })
  const text = logDialog.getByTestId('setup-log-text')
  await expect(text).toContainText('E: Unable to locate package xfce4-goodies')
  await expect(text).toContainText('E: Sub-process /usr/bin/dpkg returned an error code (1)')
  await expect(text).toContainText(/step install-packages failed with exit code 100/)
  await expect(text).not.toContainText('[31m')
  await expect(logDialog.getByTestId('setup-log-age')).toContainText(/updated \d+ s ago/)
  // Scrolled to the end, where the failure is.
  expect(await text.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(4)
  expect(await seriousAxeFindings(page)).toEqual([])
  await page.screenshot({ path: artifactPath('setup-log-failed.png') })

  await logDialog.getByRole('button', { name: 'Refresh the setup log of Broken desk' }).click()
  await logDialog.getByRole('button', { name: 'Copy the setup log of Broken desk' }).click()
  await expect(logDialog.getByRole('status').filter({ hasText: /^Copied \d+ lines\.$/ })).toBeVisible()
  const copied = app.shellCalls.filter((c) => c.kind === 'copy').at(-1)?.detail ?? ''
  expect(copied).toContain('E: Unable to locate package xfce4-goodies')
  // The log key never reaches the page.
  const deploymentId = (await card.getAttribute('data-deployment-id')) ?? ''
  const logKey = (await app.secrets.getDeploymentSecrets(deploymentId))?.logKey ?? ''
  expect(logKey).toMatch(/^[0-9a-f]{64}$/)
  expect(await page.content()).not.toContain(logKey)
  await logDialog.getByRole('button', { name: 'Close' }).click()
  await expect(logDialog).toBeHidden()
  expect(app.host.errors).toEqual([])
})

test('the setup log grows live in Details while a desktop sets up, and stops once it is up (dark)', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({ colorScheme: 'dark', droplet: () => ({ timeline: { stepMs: 900 } }) })
  const { page } = app
  await constitution(app, 'Live desk')
  const dialog = await openDeploy(app, 'Live desk')
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const card = page.locator('[data-deployment-id]')
  await expect(card).toHaveAttribute('data-status', 'CONFIGURING', { timeout: 30_000 })
  await card.locator('summary', { hasText: 'Details' }).click()
  const text = card.getByTestId('setup-log-text')
  await expect(text).toContainText(/==> \S+ step boot/, { timeout: 15_000 })
  // Without a click: the tail refreshes by itself as the droplet moves on.
  await expect(text).toContainText(/step install-packages/, { timeout: 20_000 })
  await expect(text).toContainText('Reading package lists... Done')
  await expect(card.getByTestId('setup-log-age')).toContainText(/updated \d s ago · refreshes every 3 s/)
  expect(await seriousAxeFindings(page)).toEqual([])
  await card.screenshot({ path: artifactPath('setup-log-live-dark.png') })
  await expect(card).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 })
  await expect(card.getByTestId('setup-log')).toHaveCount(0)
  expect(app.host.errors).toEqual([])
})

test('the deploy dialog offers the account’s SSH keys, Settings’ ticked, and sends the choice', async () => {
  test.setTimeout(120_000)
  app = await startUiApp({ droplet: () => ({ timeline: { stepMs: 40 } }) })
  const { page, cloud } = app
  const saved = await updateSettings(app.services.store, { sshKeys: [ALICE] })
  expect(saved.ok).toBe(true)
  await constitution(app, 'Keyed desk')
  // When DigitalOcean will not list them: one sentence, and Deploy still works (with Settings' keys).
  // (First: the app keeps a listing for a minute, and a failed one not at all.)
  cloud.digitalOcean.inject({ kind: 'status', status: 403, body: { id: 'forbidden', message: 'You do not have access for the attempted action.' }, method: 'GET', path: '/v2/account/keys' })
  let dialog = await openDeploy(app, 'Keyed desk')
  await expect(dialog.getByTestId('ssh-keys-problem')).toContainText('Your SSH keys could not be listed (')
  await expect(dialog.getByTestId('ssh-keys-problem')).toContainText('); you can still deploy, and the droplet gets the keys chosen in Settings, if any.')
  await page.screenshot({ path: artifactPath('deploy-ssh-keys-unlisted.png') })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(() => [...cloud.digitalOcean.droplets.values()].map((d) => d.sshKeys)).toEqual([[ALICE]])

  dialog = await openDeploy(app, 'Keyed desk')
  const choice = dialog.getByTestId('ssh-key-choice')
  await expect(choice.getByRole('checkbox', { name: /alice laptop/ })).toBeChecked()
  await expect(choice.getByRole('checkbox', { name: /bob desktop/ })).not.toBeChecked()
  await choice.getByRole('checkbox', { name: /bob desktop/ }).check()
  await expect(choice.getByTestId('ssh-keys-summary')).toHaveText('2 keys chosen (Settings decides which are ticked first).')
  await expect(choice.getByTestId('ssh-log-note')).toHaveText('With an SSH key you can also read the setup log over SSH: ssh root@<IP> tail -f /var/log/dictumal-init.log.')
  expect(await seriousAxeFindings(page)).toEqual([])
  await dialog.screenshot({ path: artifactPath('deploy-ssh-keys.png') })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(() => [...cloud.digitalOcean.droplets.values()].map((d) => d.sshKeys)).toEqual([[ALICE], [ALICE, BOB]])

  // None at all is a choice too.
  dialog = await openDeploy(app, 'Keyed desk')
  await dialog.getByTestId('ssh-key-choice').getByRole('checkbox', { name: /alice laptop/ }).uncheck()
  await expect(dialog.getByTestId('ssh-keys-summary')).toHaveText('None: nobody can log in over SSH; the setup log is still readable in Dictumal.')
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(() => [...cloud.digitalOcean.droplets.values()].map((d) => d.sshKeys)).toEqual([[ALICE], [ALICE, BOB], []])

  expect(app.host.errors).toEqual([])
})

test('until Dictumal has read its settings, the key list says Settings’ keys apply, the boxes wait, and the droplet gets them', async () => {
  test.setTimeout(60_000)
  app = await startUiApp({ droplet: () => ({ timeline: { stepMs: 40 } }) })
  const { page, cloud } = app
  expect((await updateSettings(app.services.store, { sshKeys: [ALICE] })).ok).toBe(true)
  await constitution(app, 'Patient desk')
  // The keys are listed, but the settings never answer (slow, or failed): nothing may claim "None".
  await page.evaluate(() => {
    ;(window as unknown as { dictumal: { settings: { get(): Promise<unknown> } } }).dictumal.settings.get = () => new Promise(() => {})
  })
  const dialog = await openDeploy(app, 'Patient desk')
  const choice = dialog.getByTestId('ssh-key-choice')
  await expect(choice.getByRole('checkbox', { name: /alice laptop/ })).toBeDisabled()
  await expect(choice.getByRole('checkbox', { name: /bob desktop/ })).toBeDisabled()
  await expect(choice.getByTestId('ssh-keys-summary')).toHaveText('The keys chosen in Settings, if any (the boxes can be changed once Dictumal has read its settings).')
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(() => [...cloud.digitalOcean.droplets.values()].map((d) => d.sshKeys)).toEqual([[ALICE]])
  expect(app.host.errors).toEqual([])
})

test('"None" stays none through Destroy and retry and Deploy again, whatever Settings say', async () => {
  test.setTimeout(150_000)
  app = await startUiApp({
    droplet: () => ({ timeline: { stepMs: 40 }, faults: { failStep: { step: 'install-packages', exitCode: 100 } } }),
  })
  const { page, cloud } = app
  expect((await updateSettings(app.services.store, { sshKeys: [ALICE] })).ok).toBe(true)
  // Every droplet the fake DigitalOcean made, with the keys it was asked for (deleted ones too).
  const made = new Map<number, unknown>()
  const droplets = cloud.digitalOcean.droplets
  const set = droplets.set.bind(droplets)
  droplets.set = (id, droplet) => {
    if (!made.has(id)) made.set(id, droplet.sshKeys)
    return set(id, droplet)
  }
  await constitution(app, 'Sealed desk')
  let dialog = await openDeploy(app, 'Sealed desk')
  await dialog.getByTestId('ssh-key-choice').getByRole('checkbox', { name: /alice laptop/ }).uncheck()
  await expect(dialog.getByTestId('ssh-keys-summary')).toHaveText('None: nobody can log in over SSH; the setup log is still readable in Dictumal.')
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  const failed = page.locator('[data-status="ERROR"]')
  await expect(failed).toHaveCount(1, { timeout: 60_000 })
  expect([...made.values()]).toEqual([[]])

  await failed.getByRole('button', { name: /^Destroy and retry / }).click()
  await expect.poll(() => [...made.values()]).toEqual([[], []])
  await expect(failed).toHaveCount(1, { timeout: 60_000 })

  await page.getByText(/^Destroyed \(\d\)$/).click()
  await page.locator('[data-status="DESTROYED"]').first().getByRole('button', { name: /^Deploy .* again$/ }).click()
  dialog = page.getByRole('dialog', { name: 'Deploy “Sealed desk”' })
  const choice = dialog.getByTestId('ssh-key-choice')
  await expect(choice.getByRole('checkbox', { name: /alice laptop/ })).toBeEnabled()
  await expect(choice.getByRole('checkbox', { name: /alice laptop/ })).not.toBeChecked()
  await expect(choice.getByTestId('ssh-keys-summary')).toHaveText('None: nobody can log in over SSH; the setup log is still readable in Dictumal.')
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(() => [...made.values()]).toEqual([[], [], []])
  // The next deploy starts from Settings again.
  dialog = await openDeploy(app, 'Sealed desk')
  await expect(dialog.getByTestId('ssh-key-choice').getByRole('checkbox', { name: /alice laptop/ })).toBeChecked()
  await dialog.getByRole('button', { name: 'Cancel' }).click()
  expect(app.host.errors).toEqual([])
})

test('an account without SSH keys is told how to add one, and deploys without', async () => {
  test.setTimeout(60_000)
  app = await startUiApp({ digitalOcean: { sshKeys: [] }, droplet: () => ({ timeline: { stepMs: 40 } }) })
  const { page } = app
  await constitution(app, 'Keyless desk')
  const dialog = await openDeploy(app, 'Keyless desk')
  const none = dialog.getByTestId('ssh-keys-none')
  await expect(none).toContainText('Your DigitalOcean account has no SSH keys, so the droplet gets none.')
  await expect(none.getByRole('link', { name: 'Settings → Security in DigitalOcean' })).toHaveAttribute('href', 'https://cloud.digitalocean.com/account/security')
  await dialog.screenshot({ path: artifactPath('deploy-ssh-keys-none.png') })
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog).toBeHidden()
  await expect.poll(() => [...app!.cloud.digitalOcean.droplets.values()].map((d) => d.sshKeys)).toEqual([[]])
  expect(app.host.errors).toEqual([])
  void page
})
