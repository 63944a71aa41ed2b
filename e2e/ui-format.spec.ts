// The renderer's pure helpers (renderer/src/format.ts): cost so far, durations and the playbook hints.
import { expect, test } from '@playwright/test'
import type { Deployment } from '../preload/contract'
import { costSoFar, duration, hintsFor, money, STAGES } from '../renderer/src/format'

const base: Deployment = {
  id: 'd1', constitutionId: 'c1', name: 'dictumal-x-d1', region: 'nyc3', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64',
  dropletId: 1, ip: '127.0.0.9', status: 'CONFIGURING', stage: 'installing-packages', percent: 48,
  checks: { vnc5901: false, http80: true, guacHttp8080: false, guacHttps443: false }, error: null,
  certFingerprint: 'sha256/x', createdAt: '2026-01-01T10:00:00Z', updatedAt: '2026-01-01T10:00:00Z',
  activeAt: null, destroyedAt: null,
  fastStart: false, snapshotId: null, snapshotSizeGigabytes: null, hibernatedAt: null, hibernation: null,
}

test('cost so far runs until now, and stops at destroyedAt', () => {
  const now = Date.parse('2026-01-01T12:30:00Z')
  expect(costSoFar(0.036, base, now)).toBeCloseTo(0.09, 6)
  expect(costSoFar(0.036, { ...base, destroyedAt: '2026-01-01T11:00:00Z' }, now)).toBeCloseTo(0.036, 6)
  expect(money(0.09)).toBe('$0.090')
  expect(money(24)).toBe('$24.00')
})

test('durations keep a stable shape', () => {
  expect(duration(7_000)).toBe('7 s')
  expect(duration(247_000)).toBe('4 min 07 s')
  expect(duration(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 05 min')
})

test('hints follow the MVP playbook', () => {
  expect(hintsFor(base).join(' ')).toContain('VNC (5901) showing as down is expected')
  expect(hintsFor(base).join(' ')).toContain('/var/log/dictumal-init.log')
  expect(hintsFor({ ...base, checks: { ...base.checks, vnc5901: true } }).join(' ')).not.toContain('VNC')
  const failed = hintsFor({ ...base, status: 'ERROR', error: 'Setup failed.' }).join(' ')
  expect(failed).toContain('bills it by the hour')
  expect(failed).toContain('ssh root@127.0.0.9')
  expect(hintsFor({ ...base, status: 'DESTROYED' })).toEqual([])
  expect(STAGES).toHaveLength(7)
})
