// Data files from before desktop images load unchanged (no images, no measured times), and a stored
// image must have the full record shape.
import { describe, expect, it } from 'vitest'
import { parseStoreText } from '../store/schema'

const OLD_FILE = JSON.stringify({
  schemaVersion: 1,
  constitutions: [],
  deployments: [],
  settings: { defaultRegion: 'ams3', defaultSize: 's-2vcpu-4gb', imageSlug: null, useLatestUbuntu: false, sshKeys: [], gatewayHost: '' },
})

describe('images in the data file', () => {
  it('a file written before images existed loads with none, its settings kept', () => {
    const parsed = parseStoreText(OLD_FILE)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.data.images).toEqual([])
    expect(parsed.data.timings).toEqual([])
    expect(parsed.data.settings.defaultRegion).toBe('ams3')
  })

  it('an image record missing a field, or two with one id, is a wrong shape (kept aside, never guessed)', () => {
    const image = {
      id: 'a1b2c3d4-1111-4222-8333-444455556666',
      snapshotId: '190000001',
      name: 'dictumal-image-r2-20261201-1200',
      recipeVersion: 2,
      regions: ['nyc3'],
      sizeGigabytes: 4.2,
      status: 'READY',
      stage: 'ready',
      percent: 100,
      error: null,
      createdAt: '2026-12-01T12:00:00.000Z',
      updatedAt: '2026-12-01T12:10:00.000Z',
      region: 'nyc3',
      size: 's-2vcpu-4gb',
      builderDropletId: null,
      builderIp: null,
      pendingAction: null,
      transfers: [],
      driver: null,
    }
    const withImages = (images: unknown[]): string => JSON.stringify({ ...JSON.parse(OLD_FILE), images })
    expect(parseStoreText(withImages([image])).ok).toBe(true)
    const { snapshotId: _gone, ...missing } = image
    expect(parseStoreText(withImages([missing]))).toMatchObject({ ok: false, reason: 'wrong-shape' })
    expect(parseStoreText(withImages([image, image]))).toMatchObject({ ok: false, reason: 'wrong-shape' })
  })
})
