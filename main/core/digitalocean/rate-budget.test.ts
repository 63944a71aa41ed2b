// The shared request budget: free while the allowance is comfortable, spaced out near zero.
import { describe, expect, it } from 'vitest'
import { RateBudget, retryAfterMs } from './rate-budget'

function budgetAt(now: number): { budget: RateBudget; at: { now: number } } {
  const at = { now }
  return { budget: new RateBudget({ clock: { now: () => at.now, sleep: async () => {} } }), at }
}

describe('RateBudget', () => {
  it('does not delay while plenty remains', () => {
    const { budget } = budgetAt(1_000_000)
    budget.observe({ 'ratelimit-limit': '5000', 'ratelimit-remaining': '4000', 'ratelimit-reset': '1060' })
    expect([budget.reserve(), budget.reserve()]).toEqual([{ ok: true, delayMs: 0 }, { ok: true, delayMs: 0 }])
  })

  it('spreads the last requests over the time left until reset', () => {
    const { budget } = budgetAt(1_000_000)
    budget.observe({ 'ratelimit-limit': '5000', 'ratelimit-remaining': '10', 'ratelimit-reset': '1060' })
    const delays = [budget.reserve(), budget.reserve(), budget.reserve()].map((r) => (r.ok ? r.delayMs : -1))
    expect(delays[0]).toBe(0)
    expect(delays[1]).toBe(6000)
    expect(delays[2]!).toBeGreaterThan(12_000)
  })

  it('waits for the reset when nothing remains, or refuses past the patience', () => {
    const { budget } = budgetAt(1_000_000)
    budget.observe({ 'ratelimit-limit': '250', 'ratelimit-remaining': '0', 'ratelimit-reset': '1030' })
    expect(budget.reserve(10_000)).toEqual({ ok: false, waitMs: 30_000 })
    expect(budget.reserve()).toEqual({ ok: true, delayMs: 30_000 })
  })

  it('holds everyone back while a retry-after runs', () => {
    const { budget, at } = budgetAt(1_000_000)
    budget.blockUntil(1_002_000)
    expect(budget.reserve()).toEqual({ ok: true, delayMs: 2000 })
    at.now = 1_002_500
    expect(budget.reserve()).toEqual({ ok: true, delayMs: 0 })
  })

  it('parses retry-after as seconds or an HTTP date', () => {
    expect(retryAfterMs({ 'retry-after': '3' }, 0)).toBe(3000)
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4000)).toBe(6000)
    expect(retryAfterMs({}, 0)).toBeUndefined()
  })
})
