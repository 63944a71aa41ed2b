// The tray during hibernation (SPEC §10): progress while hibernating, Resume on a hibernated desktop.
import { describe, expect, it } from 'vitest'
import { sampleDeployment } from '../../test/fixtures/deployment'
import { buildTrayMenu } from './tray-menu'

describe('tray menu with hibernation', () => {
  it('shows percent while hibernating and offers Resume once hibernated', () => {
    const hibernating = sampleDeployment({ id: 'a0000000-0000-4000-8000-000000000001', name: 'desk-a', status: 'HIBERNATING', stage: 'snapshotting', percent: 30 })
    const hibernated = sampleDeployment({ id: 'b0000000-0000-4000-8000-000000000002', name: 'desk-b', status: 'HIBERNATED', stage: 'hibernated', percent: 100, snapshotId: '190000001' })
    const items = buildTrayMenu([hibernating, hibernated])
    const a = items.find((i) => i.id === `deployment:${hibernating.id}`)
    const b = items.find((i) => i.id === `deployment:${hibernated.id}`)
    expect(a).toMatchObject({ label: 'desk-a — Hibernating 30 %', action: { kind: 'show-window' } })
    expect(b).toMatchObject({ label: 'desk-b — Hibernated · Resume', action: { kind: 'resume', deploymentId: hibernated.id } })
  })
})

describe('notifications around hibernation', () => {
  it('tells when a desktop is hibernated, and says nothing for a resume about to be rolled back', async () => {
    const { notificationFor } = await import('./tray-menu')
    const hibernating = sampleDeployment({ status: 'HIBERNATING', stage: 'deleting-droplet', name: 'desk-c' })
    const note = notificationFor(hibernating, { ...hibernating, status: 'HIBERNATED', stage: 'hibernated' })
    expect(note).toMatchObject({ kind: 'hibernated', title: 'desk-c is hibernated' })
    const resuming = sampleDeployment({
      status: 'CONFIGURING',
      stage: 'installing-packages',
      hibernation: { op: 'resume', snapshotName: 's', action: null, startedAt: '2026-01-01T00:00:00.000Z', driver: null },
    })
    expect(notificationFor(resuming, { ...resuming, status: 'ERROR', error: 'timed out' })).toBeNull()
    expect(notificationFor({ ...resuming, hibernation: null }, { ...resuming, hibernation: null, status: 'ERROR', error: 'timed out' })?.kind).toBe('error')
  })
})
