// The UI's less travelled states, against the real core: env token, no keychain, env overrides,
// the tray's "New deployment…", a refused create, a revoked token, and droplets no record owns.
import { expect, test } from '@playwright/test'
import { artifactPath } from './artifacts'
import { addConstitution, startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined
test.afterEach(async () => {
  await app?.close()
  app = undefined
})

async function constitutionSaved(a: UiApp, name: string): Promise<void> {
  await addConstitution(a.page, name)
  await expect(a.page.getByRole('heading', { name, level: 2 })).toBeVisible()
}

test('a token from the environment is shown as such and settings show env overrides', async () => {
  app = await startUiApp({
    token: 'env',
    env: { DIGITALOCEAN_IMAGE_SLUG: 'debian-12-x64', DICTUMAL_STREAM_GATEWAY_HOST: 'desk.example.test', DIGITALOCEAN_SSH_KEYS: '123,456' },
  })
  const { page } = app
  // No first-run screen: the environment already gives a token.
  await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Settings' }).click()
  await expect(page.getByTestId('token-source')).toContainText('from environment')
  await expect(page.getByRole('button', { name: /Replace token|Remove token/ })).toHaveCount(0)
  await expect(page.getByText('Set by DIGITALOCEAN_IMAGE_SLUG')).toBeVisible()
  await expect(page.getByLabel('Image slug')).toBeDisabled()
  await expect(page.getByLabel('Image slug')).toHaveValue('debian-12-x64')
  await expect(page.getByText('Set by DIGITALOCEAN_SSH_KEYS')).toBeVisible()
  await expect(page.getByLabel('Gateway host')).toBeDisabled()
  await expect(page.getByLabel('Gateway host')).toHaveValue('desk.example.test')
  await expect(page.getByText('Set by DICTUMAL_STREAM_GATEWAY_HOST')).toBeVisible()
  await page.screenshot({ path: artifactPath('ui-states-env-overrides.png') })

  await constitutionSaved(app, 'Env desk')
  await page.getByRole('button', { name: 'Deploy Env desk' }).click()
  await expect(page.getByRole('dialog').getByTestId('deploy-image')).toContainText('debian-12-x64')
  await expect(page.getByRole('dialog').getByTestId('deploy-image')).toContainText('set by DIGITALOCEAN_IMAGE_SLUG')
  expect(app.host.errors).toEqual([])
})

test('no keychain is told as a sentence on the first-run screen', async () => {
  app = await startUiApp({ token: 'none', keychainUnavailable: true })
  const { page } = app
  await expect(page.getByRole('status')).toContainText('No system keychain is available')
  await page.screenshot({ path: artifactPath('ui-states-no-keychain.png') })
})

test('a revoked token is explained in a banner that leads to settings, where it can be replaced', async () => {
  app = await startUiApp()
  const { page, cloud } = app
  await expect(page.getByRole('heading', { name: 'Deployments', level: 1 })).toBeVisible()
  // Revoked at DigitalOcean: every call now answers 401; the core tells the page through auth:changed.
  await app.secrets.setToken('dop_v1_revoked')
  await app.services.notifyAuthChanged()
  const banner = page.getByRole('alert').filter({ hasText: 'DigitalOcean rejected the API token' })
  await expect(banner).toBeVisible()
  await banner.getByRole('button', { name: 'Open settings' }).click()
  await page.getByRole('button', { name: 'Replace token' }).click()
  await page.getByLabel('DigitalOcean personal access token').fill(cloud.digitalOcean.token)
  await page.getByRole('button', { name: 'Save token' }).click()
  await expect(page.getByText(/Signed in as/)).toBeVisible()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Deployments' }).click()
  await expect(banner).toBeHidden()
})

test('the tray opens the deploy dialog, and a refused create is a sentence', async () => {
  app = await startUiApp()
  const { page, cloud } = app
  await constitutionSaved(app, 'Limited')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Deployments' }).click()
  // (At the droplet limit the dialog now says so before sending anything: e2e/trust.spec.ts.)
  cloud.digitalOcean.inject({ kind: 'status', status: 422, body: { id: 'unprocessable_entity', message: 'Size is not available in this region.' }, method: 'POST', path: '/v2/droplets' })
  await app.host.emit('navigate', { view: 'new-deployment' })
  const dialog = page.getByRole('dialog', { name: 'New deployment' })
  await expect(dialog).toBeVisible()
  await expect(dialog.getByLabel('Constitution')).toHaveValue(/.+/)
  await dialog.getByRole('button', { name: 'Deploy', exact: true }).click()
  await expect(dialog.getByRole('alert')).toContainText('DigitalOcean refused the request: Size is not available in this region.')
  await expect(dialog).not.toContainText(/at \w+ \(|Error:/)
  await page.screenshot({ path: artifactPath('ui-states-refused.png') })
  // Escape closes the dialog and gives focus back.
  await page.keyboard.press('Escape')
  await expect(dialog).toBeHidden()
  expect(cloud.digitalOcean.droplets.size).toBe(0)
})

test('a tagged droplet with no record is listed with Destroy', async () => {
  app = await startUiApp()
  const { page, cloud } = app
  const res = await fetch(`${cloud.digitalOcean.url}/v2/droplets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cloud.digitalOcean.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'dictumal-stray-0000', region: 'nyc3', size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', tags: ['dictumal'] }),
  })
  expect(res.status).toBe(202)
  await app.services.engine.reconcile()
  const stray = page.getByRole('listitem', { name: 'dictumal-stray-0000' })
  await expect(stray).toBeVisible()
  // No secrets for it in the keychain: it cannot be adopted, only destroyed.
  await expect(stray.getByRole('button', { name: /Adopt/ })).toHaveCount(0)
  await page.screenshot({ path: artifactPath('ui-states-unmanaged.png') })
  await stray.getByRole('button', { name: 'Destroy dictumal-stray-0000' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Destroy' }).click()
  await expect(stray).toBeHidden()
  expect(cloud.digitalOcean.droplets.size).toBe(0)
})
