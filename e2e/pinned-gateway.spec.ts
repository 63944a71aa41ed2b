// The launch URL opened in real Chromium against a fake droplet, trusting exactly the certificate the
// app made for that deployment: Chromium's --ignore-certificate-errors-spki-list stands in for the
// Electron session's verify proc, with the pin computed by the app's own code.
import { expect, test } from '@playwright/test'
import type { Browser } from 'playwright-core'
import { generateDeploymentCertificate, spkiHashOfPem } from '../main/core/certificate'
import { generateDeploymentSecrets } from '../main/core/deployment-secrets'
import { buildLaunchUrl, mintLaunchToken } from '../main/core/guacamole-token'
import { buildUserData } from '../main/core/recipe'
import { startFakeDroplet, type FakeDroplet } from '../test/fakes/fake-droplet'
import { launchChromium } from './host/browser-host'
import { artifactPath } from './artifacts'

const DEPLOYMENT_ID = '5c0ffee0-1d2e-4f3a-8b4c-9d0e1f2a3b4c'
const droplets: FakeDroplet[] = []
let browser: Browser | null = null

test.afterEach(async () => {
  await browser?.close()
  browser = null
  for (const d of droplets.splice(0)) await d.close()
})

async function bootDroplet(ip: string, wrongCertificate: boolean) {
  const certificate = await generateDeploymentCertificate({ deploymentId: DEPLOYMENT_ID })
  const secrets = generateDeploymentSecrets()
  const userData = buildUserData({ deploymentId: DEPLOYMENT_ID, constitution: { name: 'Pinned', body: '' }, secrets, certificate, sshKeys: [] })
  const droplet = await startFakeDroplet({ ip, userData, timeline: { stepMs: 10 }, faults: { wrongCertificate } })
  droplets.push(droplet)
  await droplet.whenReady
  const url = buildLaunchUrl(ip, mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() }))
  return { droplet, url, pin: spkiHashOfPem(certificate.certPem) }
}

test('the pinned gateway loads and accepts the launch token', async () => {
  const { droplet, url, pin } = await bootDroplet('127.0.0.231', false)
  browser = await launchChromium([`--ignore-certificate-errors-spki-list=${pin}`])
  const page = await (await browser.newContext()).newPage()
  await page.goto(url)
  await expect(page.locator('#status')).toHaveText("Connected to dictumal's desktop")
  expect(droplet.record.tokensAccepted).toHaveLength(1)
  await page.screenshot({ path: artifactPath('pinned-gateway-connected.png') })
})

test('a droplet presenting any other certificate does not load at all', async () => {
  const { droplet, url, pin } = await bootDroplet('127.0.0.232', true)
  browser = await launchChromium([`--ignore-certificate-errors-spki-list=${pin}`])
  const page = await (await browser.newContext()).newPage()
  await expect(page.goto(url)).rejects.toThrow(/ERR_CERT/)
  expect(droplet.record.tokensAccepted).toEqual([])
  expect(droplet.record.requests.filter((r) => r.port === 'https')).toEqual([])
})

test('without the pin, Chromium refuses the self-signed gateway', async () => {
  const { url } = await bootDroplet('127.0.0.233', false)
  browser = await launchChromium()
  const page = await (await browser.newContext()).newPage()
  await expect(page.goto(url)).rejects.toThrow(/ERR_CERT/)
})
