// Issue 14 item 2 in real Chromium over the real core: the deploy dialog offers "Write a constitution"
// when there is none, sizes as cards (specs and monthly price up front, Recommended on the default,
// a warning under 2 GB of memory), a name of the user's own, and each region's measured round trip.
import { createServer, type Server } from 'node:net'
import { expect, test } from '@playwright/test'
import { createConstitution } from '../main/core/store'
import { artifactPath } from './artifacts'
import { seriousAxeFindings } from './axe-check'
import { startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined

test.afterEach(async () => {
  await app?.close()
  app = undefined
})

test('deploy dialog: write a constitution inline, size cards, memory warning, own name', async () => {
  app = await startUiApp({ viewport: { width: 1000, height: 760 } })
  const { page } = app

  // No constitution yet: the dialog offers to write one, and the editor opens.
  await page.getByRole('button', { name: 'New deployment' }).click()
  const dialog = page.getByRole('dialog', { name: 'New deployment' })
  await dialog.getByRole('button', { name: 'Write a constitution' }).click()
  await expect(dialog).toBeHidden()
  await expect(page.getByRole('heading', { name: 'New constitution', level: 1 })).toBeVisible()
  await page.getByLabel('Name').fill('Team desk')
  await page.keyboard.press('Control+s')
  await expect(page.getByRole('heading', { name: 'Team desk', level: 2 })).toBeVisible()

  await page.getByRole('button', { name: 'Deploy Team desk' }).click()
  const deploy = page.getByRole('dialog', { name: 'Deploy “Team desk”' })
  const sizes = deploy.getByRole('radiogroup', { name: 'Size' })
  await expect(sizes.getByRole('radio')).toHaveCount(3)
  const recommended = sizes.locator('label').filter({ hasText: 'Recommended' })
  await expect(recommended).toHaveCount(1)
  await expect(recommended).toContainText('s-2vcpu-4gb')
  await expect(recommended).toContainText('$24.00/mo')
  await expect(recommended).toContainText('2 vCPU · 4 GB RAM · 80 GB disk')
  await expect(sizes.getByRole('radio', { name: /s-2vcpu-4gb/ })).toBeChecked()
  await expect(deploy.getByText(/too little for this desktop/)).toBeHidden()
  // Against a stand-in API no region is probed, so no round trip is shown.
  await expect(deploy.getByLabel('Region').locator('option').first()).toHaveText('New York 3 (nyc3)')
  await page.screenshot({ path: artifactPath('deploy-01-size-cards.png') })

  // Under 2 GB of memory: a warning says why; the arrow keys move the choice like any radio group.
  await sizes.getByRole('radio', { name: /s-1vcpu-1gb/ }).check()
  await expect(deploy.getByText('1 GB of memory is too little for this desktop: XFCE, Docker and Guacamole need 2 GB or more, or setup may fail.')).toBeVisible()
  await page.screenshot({ path: artifactPath('deploy-02-small-size-warning.png') })
  expect(await seriousAxeFindings(page)).toEqual([])
  await sizes.getByRole('radio', { name: /s-1vcpu-1gb/ }).press('ArrowRight')
  await expect(sizes.getByRole('radio', { name: /s-2vcpu-4gb/ })).toBeChecked()
  await expect(deploy.getByText(/too little for this desktop/)).toBeHidden()

  // A name of the user's own is what the card shows.
  await deploy.getByLabel('Name (optional)').fill('Pairing box')
  await deploy.getByRole('button', { name: 'Deploy' }).click()
  await expect(deploy).toBeHidden()
  await expect(page.locator('[data-deployment-id]').getByRole('heading', { name: 'Pairing box', level: 2 })).toBeVisible()
  expect(app.services.engine.list().map((d) => [d.displayName, d.size])).toEqual([['Pairing box', 's-2vcpu-4gb']])
  expect(app.host.errors).toEqual([])
})

test('regions show the round trip measured from this computer', async () => {
  // Every region's probe goes to this loopback listener (DICTUMAL_REGION_PING), never to the internet.
  let handshakes = 0
  const server: Server = createServer((socket) => {
    handshakes += 1
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  try {
    app = await startUiApp({ env: { DICTUMAL_REGION_PING: `127.0.0.1:${address.port}` } })
    const { page, services } = app
    const created = await createConstitution(services.store, { name: 'Near desk', body: '# N' })
    if (!created.ok) throw new Error(created.error.message)
    // Written behind the page's back: a reload reads the list afresh.
    await page.reload()
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Constitutions' }).click()
    await page.getByRole('button', { name: 'Deploy Near desk' }).click()
    const options = page.getByRole('dialog', { name: 'Deploy “Near desk”' }).getByLabel('Region').locator('option')
    await expect(options).toHaveText([/^New York 3 \(nyc3\) · \d+ ms$/, /^Amsterdam 3 \(ams3\) · \d+ ms$/, /^San Francisco 3 \(sfo3\) · \d+ ms$/])
    // Best of two handshakes per region.
    expect(handshakes).toBe(6)
    await page.screenshot({ path: artifactPath('deploy-03-region-round-trip.png') })
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
