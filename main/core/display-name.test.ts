// One name everywhere: distinct names for desktops of one constitution, the user's own name, and the
// tray and notifications using it (with the failure notification saying "still costs money" once).
import { describe, expect, it } from 'vitest'
import { sampleDeployment } from '../../test/fixtures/deployment'
import { checkDisplayName, displayNameOf, nextDisplayName } from './display-name'
import { buildTrayMenu, notificationFor } from './tray-menu'

describe('display names', () => {
  it('numbers a second desktop from one constitution, and reuses a name once its desktop is destroyed', () => {
    const first = sampleDeployment({ id: 'a0000000-0000-4000-8000-000000000001', displayName: 'Research desk' })
    expect(nextDisplayName('Research desk', [])).toBe('Research desk')
    expect(nextDisplayName('Research desk', [first])).toBe('Research desk 2')
    const second = sampleDeployment({ id: 'b0000000-0000-4000-8000-000000000002', displayName: 'research DESK 2' })
    expect(nextDisplayName('Research desk', [first, second])).toBe('Research desk 3')
    expect(nextDisplayName('Research desk', [{ ...first, status: 'DESTROYED' }])).toBe('Research desk')
    expect(nextDisplayName('   ', [])).toBe('Desktop')
  })

  it('falls back to the droplet name for older records, and checks what the user types', () => {
    expect(displayNameOf(sampleDeployment({ name: 'dictumal-old-1234abcd' }))).toBe('dictumal-old-1234abcd')
    expect(displayNameOf(sampleDeployment({ name: 'x', displayName: '  Night shift ' }))).toBe('Night shift')
    expect(checkDisplayName('  Night\u0007 shift\n')).toBe('Night shift')
    expect(() => checkDisplayName('  ')).toThrow('Type a name for the desktop.')
    expect(() => checkDisplayName('x'.repeat(61))).toThrow('at most 60 characters')
  })

  it('the tray and notifications use the display name; a failure says it is billed once', () => {
    const d = sampleDeployment({ id: 'c0000000-0000-4000-8000-000000000003', name: 'dictumal-twin-desk-c0000000', displayName: 'Twin desk 2', status: 'ACTIVE' })
    expect(buildTrayMenu([d])[0]?.label).toBe('Twin desk 2 — Active · Open')
    const failed = { ...d, status: 'ERROR' as const, error: 'Setup on the droplet failed at step "x" with exit code 1. The droplet still costs money until you destroy it.' }
    const note = notificationFor(d, failed)
    expect(note?.title).toBe('Twin desk 2 failed')
    expect(note?.body.match(/still costs money/g)).toHaveLength(1)
    const plain = notificationFor(d, { ...failed, error: 'The desktop broke.' })
    expect(plain?.body).toBe('The desktop broke. The droplet still costs money until you destroy it.')
  })
})
