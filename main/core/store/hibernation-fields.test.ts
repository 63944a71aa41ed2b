// Data files from before hibernation and desktop images (no fastStart, snapshotId, hibernatedAt…) still
// load, with the new fields at their defaults; a hibernated record round-trips through the schema.
import { describe, expect, it } from 'vitest'
import { parseStoreText } from './schema'
import { OLD_DEPLOYMENT_RECORD as OLD_RECORD } from './test-support'

describe('deployment records and hibernation fields', () => {
  it('an old data file loads with fastStart false and no snapshot', () => {
    const parsed = parseStoreText(JSON.stringify({ schemaVersion: 1, constitutions: [], deployments: [OLD_RECORD] }))
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.data.deployments[0]).toMatchObject({ fastStart: false, snapshotId: null, snapshotSizeGigabytes: null, hibernatedAt: null, hibernation: null })
  })

  it('a hibernated record with a pending resume round-trips', () => {
    const hibernated = {
      ...OLD_RECORD,
      status: 'PROVISIONING',
      stage: 'provisioning-droplet',
      dropletId: null,
      ip: null,
      snapshotId: '190000001',
      snapshotSizeGigabytes: 4.2,
      hibernatedAt: '2026-01-02T00:00:00.000Z',
      hibernation: { op: 'resume', snapshotName: 'dictumal-hibernate-3f1c2a9e-20260102-0000', action: null, startedAt: '2026-01-03T00:00:00.000Z', driver: null },
    }
    const parsed = parseStoreText(JSON.stringify({ schemaVersion: 1, constitutions: [], deployments: [hibernated] }))
    expect(parsed.ok && parsed.data.deployments[0]).toEqual({ ...hibernated, fastStart: false })
  })

  it('a stage or status it does not know is refused, not guessed', () => {
    const bad = parseStoreText(JSON.stringify({ schemaVersion: 1, constitutions: [], deployments: [{ ...OLD_RECORD, status: 'SLEEPING' }] }))
    expect(bad.ok).toBe(false)
    const badStage = parseStoreText(JSON.stringify({ schemaVersion: 1, constitutions: [], deployments: [{ ...OLD_RECORD, status: 'HIBERNATING', stage: 'napping' }] }))
    expect(badStage.ok).toBe(false)
  })
})
