// The tray's cost line: what the desktops cost now, failed ones included, under the desktops.
import { describe, expect, it } from 'vitest'
import { sampleDeployment } from '../../test/fixtures/deployment'
import { summarizeCost } from './cost'
import { buildTrayMenu } from './tray-menu'

const prices = new Map([['s-2vcpu-4gb', { priceHourly: 0.036, priceMonthly: 24 }]])

describe('tray menu cost line', () => {
  it('shows the total under the desktops, counting a failed one, and nothing when nothing is billed', () => {
    const running = sampleDeployment({ id: 'a0000000-0000-4000-8000-000000000001', name: 'desk-a', status: 'ACTIVE', size: 's-2vcpu-4gb' })
    const broken = sampleDeployment({ id: 'b0000000-0000-4000-8000-000000000002', name: 'desk-b', status: 'ERROR', size: 's-2vcpu-4gb' })
    const items = buildTrayMenu([running, broken], summarizeCost([running, broken], prices))
    const ids = items.map((i) => i.id)
    expect(ids.indexOf('cost')).toBe(2)
    expect(items[2]).toEqual({ id: 'cost', label: 'Costs now: 2 running (1 failed, still billed) · $0.072/h · ≈ $48.00 per month', enabled: false })
    expect(buildTrayMenu([], summarizeCost([], prices)).some((i) => i.id === 'cost')).toBe(false)
    // Without prices (offline at start) the menu is as before.
    expect(buildTrayMenu([running]).some((i) => i.id === 'cost')).toBe(false)
  })
})
