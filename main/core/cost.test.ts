// The cost line: failed desktops are billed like running ones, hibernated ones cost only their
// snapshot, destroyed ones nothing; unknown prices say so instead of a wrong total.
import { describe, expect, it } from 'vitest'
import type { Deployment, DeploymentStatus } from '../../preload/contract'
import { billsDroplet, costLine, money, summarizeCost } from './cost'

const prices = new Map([
  ['s-2vcpu-4gb', { priceHourly: 0.03571, priceMonthly: 24 }],
  ['s-1vcpu-1gb', { priceHourly: 0.00893, priceMonthly: 6 }],
])

let n = 0
function deployment(status: DeploymentStatus, size = 's-2vcpu-4gb', snapshot: number | null = null): Deployment {
  n++
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    constitutionId: 'c',
    name: `desk-${n}`,
    region: 'nyc3',
    size,
    image: 'ubuntu-24-04-x64',
    dropletId: status === 'HIBERNATED' ? null : n,
    ip: null,
    status,
    stage: 'active',
    percent: 100,
    checks: { vnc5901: false, http80: false, guacHttp8080: false, guacHttps443: false },
    error: null,
    certFingerprint: 'AA',
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    activeAt: null,
    destroyedAt: null,
    fastStart: false,
    snapshotId: snapshot === null ? null : '123',
    snapshotSizeGigabytes: snapshot,
    hibernatedAt: null,
    hibernation: null,
  }
}

describe('cost', () => {
  it('counts running, being set up and failed desktops as billed, with their hourly and monthly prices', () => {
    const s = summarizeCost([deployment('ACTIVE'), deployment('CONFIGURING', 's-1vcpu-1gb'), deployment('ERROR'), deployment('DESTROYED')], prices)
    expect(s.billed).toBe(3)
    expect(s.failed).toBe(1)
    expect(s.hourly).toBeCloseTo(0.08035, 6)
    expect(s.monthly).toBeCloseTo(54, 6)
    expect(s.text).toBe('3 running (1 failed, still billed) · $0.080/h · ≈ $54.00 per month')
  })

  it('bills a hibernated desktop at its snapshot only, and one mid-hibernation at both', () => {
    const s = summarizeCost([deployment('HIBERNATED', 's-2vcpu-4gb', 4.2)], prices)
    expect(s).toMatchObject({ billed: 0, hibernated: 1, hourly: 0 })
    expect(s.monthly).toBeCloseTo(0.252, 6)
    expect(s.text).toBe('1 hibernated · ≈ $0.252 per month')
    const both = summarizeCost([deployment('HIBERNATING', 's-2vcpu-4gb', 4.2), deployment('ACTIVE', 's-1vcpu-1gb')], prices)
    expect(both.monthly).toBeCloseTo(30.252, 6)
    expect(both.text).toBe('2 running · $0.045/h · ≈ $30.25 per month')
  })

  it('says the price is unknown rather than adding up a wrong total', () => {
    expect(summarizeCost([deployment('ACTIVE', 's-8vcpu-16gb')], prices).text).toBe('1 running · price unknown')
    expect(summarizeCost([deployment('ACTIVE')], null)).toMatchObject({ billed: 1, hourly: null, monthly: null })
  })

  it('says when nothing is billed', () => {
    expect(summarizeCost([], prices).text).toBe('Nothing is billed now')
    expect(summarizeCost([deployment('DESTROYED')], prices).text).toBe('Nothing is billed now')
    expect(costLine({ billed: 0, failed: 0, hibernated: 0, hourly: 0, monthly: 0 })).toBe('Nothing is billed now')
  })

  it('knows which statuses bill a droplet, and formats sub-dollar amounts to the tenth of a cent', () => {
    expect((['PROVISIONING', 'CONFIGURING', 'ACTIVE', 'ERROR', 'HIBERNATING'] as const).every(billsDroplet)).toBe(true)
    expect(billsDroplet('HIBERNATED') || billsDroplet('DESTROYED')).toBe(false)
    expect(money(0.108)).toBe('$0.108')
    expect(money(78)).toBe('$78.00')
  })
})
