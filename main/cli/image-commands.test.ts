import { describe, expect, it } from 'vitest'
import type { DesktopImage } from '../../preload/contract'
import { imageLine } from './image-commands'

function image(overrides: Partial<DesktopImage> = {}): DesktopImage {
  return {
    id: '0f1e2d3c-4b5a-4968-8776-655443322110',
    snapshotId: '155000001',
    name: 'dictumal-image-r2-20261201-1200',
    recipeVersion: 2,
    regions: ['fra1'],
    sizeGigabytes: 6.2,
    status: 'READY',
    stage: 'ready',
    percent: 100,
    error: null,
    createdAt: '2026-12-01T12:00:00.000Z',
    updatedAt: '2026-12-01T12:09:00.000Z',
    region: 'fra1',
    size: 's-2vcpu-4gb',
    builderDropletId: null,
    builderIp: null,
    pendingAction: null,
    transfers: [],
    driver: null,
    ...overrides,
  } as DesktopImage
}

describe('imageLine', () => {
  it('prints one record per line with its name, status, regions and size', () => {
    expect(imageLine(image())).toBe('0f1e2d3c  dictumal-image-r2-20261201-1200  READY  ready  100%  fra1  6.2 GiB')
  })

  it('keeps a hostile name, region or error on its own line and unable to drive the terminal', () => {
    const line = imageLine(
      image({
        name: 'evil\nREADY\u001b]52;c;AAAA\u0007',
        regions: ['fra1\rams3'],
        transfers: [{ region: 'nyc3\u202e', actionId: 1 }],
        status: 'ERROR',
        error: 'DigitalOcean said:\nline two\u001b[2J',
      }),
    )
    const [record, error, ...more] = line.split('\n')
    expect(more).toEqual([])
    expect(record).toContain('evil\\u000aREADY\\u001b]52;c;AAAA\\u0007')
    expect(record).toContain('fra1\\u000dams3')
    expect(record).toContain('(copying to nyc3\\u202e)')
    expect(error).toBe('  DigitalOcean said:\\u000aline two\\u001b[2J')
  })
})
