// Issue 14 item 3 in real Chromium over the real core: 30 deployments at 900×600 stay usable — filter
// chips with counts, sort by name/age/cost, a compact row view beside the cards, remembered.
import { expect, test } from '@playwright/test'
import type { Deployment, DeploymentStatus } from '../preload/contract'
import { upsertDeployment } from '../main/core/store'
import { artifactPath } from './artifacts'
import { seriousAxeFindings } from './axe-check'
import { startUiApp, type UiApp } from './ui-harness'

let app: UiApp | undefined

test.afterEach(async () => {
  await app?.close()
  app = undefined
})

const PLAN: [DeploymentStatus, number][] = [
  ['ACTIVE', 12],
  ['PROVISIONING', 4],
  ['CONFIGURING', 2],
  ['ERROR', 5],
  ['HIBERNATED', 3],
  ['DESTROYED', 4],
]
const SIZES = ['s-1vcpu-1gb', 's-2vcpu-4gb', 's-4vcpu-8gb']
const REGIONS = ['nyc3', 'ams3', 'sfo3']

function record(status: DeploymentStatus, n: number): Deployment {
  const created = new Date(Date.now() - (n + 1) * 37 * 60_000).toISOString()
  const stage = status === 'ACTIVE' ? 'active' : status === 'HIBERNATED' ? 'hibernated' : status === 'CONFIGURING' ? 'installing-packages' : 'provisioning-droplet'
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    constitutionId: 'none',
    name: `desk-${String(n).padStart(2, '0')}-${status.toLowerCase()}`,
    region: REGIONS[n % 3] ?? 'nyc3',
    size: SIZES[n % 3] ?? 's-1vcpu-1gb',
    image: 'ubuntu-24-04-x64',
    dropletId: null,
    ip: status === 'ACTIVE' ? `127.0.0.${n + 1}` : null,
    status,
    stage,
    percent: status === 'ACTIVE' ? 100 : 20,
    checks: { vnc5901: false, http80: false, guacHttp8080: false, guacHttps443: false },
    error: status === 'ERROR' ? 'Setup stopped at installing-packages.' : null,
    certFingerprint: '',
    createdAt: created,
    updatedAt: created,
    activeAt: status === 'ACTIVE' ? created : null,
    destroyedAt: status === 'DESTROYED' ? new Date().toISOString() : null,
    fastStart: false,
    snapshotId: status === 'HIBERNATED' ? 'snap-1' : null,
    snapshotSizeGigabytes: status === 'HIBERNATED' ? 12 : null,
    hibernatedAt: status === 'HIBERNATED' ? created : null,
    hibernation: null,
  }
}

test('30 deployments at 900×600: chips, sort, rows, remembered', async () => {
  // These records have no droplet and no secrets: the shell only records which desktop it was asked for.
  const opened: string[] = []
  app = await startUiApp({
    viewport: { width: 900, height: 600 },
    shell: {
      openDesktop: async (deployment) => {
        opened.push(deployment.id)
      },
    },
  })
  const { page, services } = app
  // Records only: the engine is stopped so none of them is driven (they have no droplets).
  await services.engine.stop()
  let n = 0
  for (const [status, count] of PLAN) for (let i = 0; i < count; i++) await upsertDeployment(services.store, record(status, n++))
  await expect(page.locator('ul[aria-label="Deployments"] > [data-deployment-id]')).toHaveCount(26)

  const chips = page.getByRole('group', { name: 'Show' })
  for (const [label, count] of [['Running', 12], ['Setting up', 6], ['Failed', 5], ['Hibernated', 3], ['Destroyed', 4]] as const) {
    await expect(chips.getByRole('button', { name: `${label} ${count}` })).toBeVisible()
  }

  // The row view: one line per desktop, fitting the window's width.
  await page.getByRole('group', { name: 'Layout' }).getByRole('button', { name: 'Rows' }).click()
  const table = page.getByRole('table', { name: 'Deployments' })
  const rows = table.locator('tbody tr')
  await expect(rows).toHaveCount(26)
  const overflow = await page.locator('.rows-scroll').evaluate((el) => el.scrollWidth - el.clientWidth)
  expect(overflow).toBeLessThanOrEqual(0)
  const rowHeights = await rows.evaluateAll((trs) => trs.map((tr) => Math.round(tr.getBoundingClientRect().height)))
  expect(Math.max(...rowHeights)).toBeLessThanOrEqual(48)
  await page.screenshot({ path: artifactPath('many-01-rows-900x600.png') })
  expect(await seriousAxeFindings(page)).toEqual([])

  // Chips filter (more than one at a time), Clear shows everything but destroyed again.
  await chips.getByRole('button', { name: /^Failed/ }).click()
  await expect(rows).toHaveCount(5)
  expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status'))))).toEqual(new Set(['ERROR']))
  await chips.getByRole('button', { name: /^Running/ }).click()
  await expect(rows).toHaveCount(17)
  await expect(chips.getByRole('button', { name: /^Running/ })).toHaveAttribute('aria-pressed', 'true')
  await page.screenshot({ path: artifactPath('many-02-filtered.png') })
  await chips.getByRole('button', { name: 'Clear' }).click()
  await expect(rows).toHaveCount(26)
  await chips.getByRole('button', { name: /^Destroyed/ }).click()
  await expect(rows).toHaveCount(4)
  await expect(page.getByText('Destroyed (4)')).toBeHidden()
  await chips.getByRole('button', { name: /^Destroyed/ }).click()

  // Sort by name, then by cost (the biggest first), then back to newest first.
  const names = () => rows.locator('th').allTextContents()
  await page.getByLabel('Sort').selectOption('name')
  const byName = await names()
  expect(byName).toEqual([...byName].sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' })))
  await page.getByLabel('Sort').selectOption('cost')
  const costs = (await rows.locator('td:nth-child(6)').allTextContents()).map((t) => Number(t.replace(/[^0-9.]/g, '')))
  expect(costs).toEqual([...costs].sort((a, b) => b - a))
  await page.getByLabel('Sort').selectOption('age')
  expect((await names())[0]).toBe('desk-00-active')

  // Ctrl+O opens the running desktop whose row was clicked.
  await rows.filter({ hasText: 'desk-03-active' }).locator('th').click()
  await page.keyboard.press('Control+o')
  await expect.poll(() => opened).toEqual([record('ACTIVE', 3).id])

  // The choice of layout and sort is remembered.
  await page.reload()
  await expect(page.getByRole('table', { name: 'Deployments' }).locator('tbody tr')).toHaveCount(26)
  await expect(page.getByRole('group', { name: 'Layout' }).getByRole('button', { name: 'Rows' })).toHaveAttribute('aria-pressed', 'true')
  expect(app.host.errors).toEqual([])
})
