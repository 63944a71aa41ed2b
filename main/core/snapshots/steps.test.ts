// The shared snapshot steps against the loopback fake DigitalOcean, on a virtual clock shared by both
// sides: a two-minute shutdown grace runs in milliseconds, and every action id is stored before waiting.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import type { FakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import { DigitalOceanClient } from '../digitalocean'
import type { Clock } from '../digitalocean'
import { resumeAction, snapshotDroplet, SnapshotStepError, stopDroplet, waitForAction } from './steps'
import type { PendingStop } from './steps'

let fake: FakeDigitalOcean
let cloud: DigitalOceanClient
let clock: Clock & { t: number }
let dropletId: number

beforeEach(async () => {
  clock = {
    t: Date.parse('2026-12-01T17:00:00Z'),
    now: () => clock.t,
    sleep: async (ms) => {
      clock.t += ms
      await new Promise((resolve) => setImmediate(resolve))
    },
  }
  fake = await startFakeDigitalOcean({ now: () => clock.now(), activeAfterMs: 0, actionMs: 10_000, snapshotSizeGigabytes: 6 })
  cloud = new DigitalOceanClient({ baseUrl: fake.url, token: async () => fake.token, clock, random: () => 0.5 })
  const id = 'c1b2c3d4-1111-4222-8333-444455556666'
  dropletId = (
    await cloud.createDroplet({
      deploymentId: id,
      name: 'dictumal-steps',
      region: 'nyc3',
      size: 's-2vcpu-4gb',
      image: 'ubuntu-24-04-x64',
      userData: '',
      sshKeys: [],
      tags: ['dictumal', `dictumal-${id}`],
    })
  ).id
})

afterEach(() => fake.close())

const posted = (type: string): number => [...fake.actions.values()].filter((a) => a.type === type).length

describe('stopDroplet', () => {
  it('shuts down gracefully, storing the action before waiting', async () => {
    const stored: PendingStop[] = []
    await stopDroplet(cloud, dropletId, {
      clock,
      onAction: (p) => {
        // Stored before the first look at its progress.
        expect(fake.requests.filter((r) => r.path.startsWith('/v2/actions/'))).toHaveLength(0)
        stored.push(p)
      },
    })
    expect(stored.map((p) => p.type)).toEqual(['shutdown'])
    expect(fake.droplets.get(dropletId)?.status).toBe('off')
    expect(posted('power_off')).toBe(0)
  })

  it('falls back to power_off after two minutes of a shutdown that hangs', async () => {
    fake.planAction('shutdown', 'never')
    const stored: PendingStop[] = []
    const began = clock.now()
    await stopDroplet(cloud, dropletId, { clock, onAction: (p) => void stored.push(p) })
    expect(stored.map((p) => p.type)).toEqual(['shutdown', 'power_off'])
    const powerOff = [...fake.actions.values()].find((a) => a.type === 'power_off')!
    expect(powerOff.startedAt - began).toBeGreaterThanOrEqual(120_000)
    expect(powerOff.startedAt - began).toBeLessThan(130_000)
    expect(fake.droplets.get(dropletId)?.status).toBe('off')
  })

  it('uses power_off at once when the shutdown errors', async () => {
    fake.planAction('shutdown', 'errored')
    const stored: PendingStop[] = []
    const began = clock.now()
    await stopDroplet(cloud, dropletId, { clock, onAction: (p) => void stored.push(p) })
    expect(stored.map((p) => p.type)).toEqual(['shutdown', 'power_off'])
    expect([...fake.actions.values()].find((a) => a.type === 'power_off')!.startedAt - began).toBeLessThan(30_000)
  })

  it('resumes a stored shutdown instead of sending another, keeping the original grace clock', async () => {
    fake.planAction('shutdown', 'never')
    const first = await cloud.dropletAction(dropletId, { type: 'shutdown' })
    const startedAt = clock.now() - 110_000
    const stored: PendingStop[] = []
    await stopDroplet(cloud, dropletId, { clock, pending: { actionId: first.id, type: 'shutdown', startedAt }, onAction: (p) => void stored.push(p) })
    expect(stored.map((p) => p.type)).toEqual(['power_off'])
    expect([...fake.actions.values()].filter((a) => a.type === 'shutdown')).toHaveLength(1)
  })

  it('a droplet already off needs no action', async () => {
    await stopDroplet(cloud, dropletId, { clock, onAction: () => {} })
    const before = fake.actions.size
    await stopDroplet(cloud, dropletId, { clock, onAction: () => {} })
    expect(fake.actions.size).toBe(before)
  })

  it('fails with a sentence when power_off errors, or the droplet is gone', async () => {
    fake.planAction('shutdown', 'errored')
    fake.planAction('power_off', 'errored')
    await expect(stopDroplet(cloud, dropletId, { clock, onAction: () => {} })).rejects.toMatchObject({ code: 'action-errored' })
    fake.deleteBehindBack(dropletId)
    await expect(stopDroplet(cloud, dropletId, { clock, onAction: () => {} })).rejects.toBeInstanceOf(SnapshotStepError)
  })

  it('rides out 5xx and 429 on the way', async () => {
    fake.inject({ kind: 'server-error', path: `/v2/droplets/${dropletId}/actions`, method: 'POST' })
    fake.inject({ kind: 'rate-limit', path: /^\/v2\/actions\//, retryAfterS: 2 })
    fake.inject({ kind: 'server-error', status: 502, path: `/v2/droplets/${dropletId}`, times: 2 })
    await stopDroplet(cloud, dropletId, { clock, onAction: () => {} })
    expect(fake.droplets.get(dropletId)?.status).toBe('off')
  })
})

describe('snapshotDroplet', () => {
  it('takes the snapshot, stores the action id first, and returns it once it is listed', async () => {
    const ids: number[] = []
    const snapshot = await snapshotDroplet(cloud, dropletId, 'dictumal-hibernate-c1b2c3d4-20261201-1700', { clock, onAction: (id) => void ids.push(id) })
    expect(ids).toHaveLength(1)
    expect(snapshot).toMatchObject({ name: 'dictumal-hibernate-c1b2c3d4-20261201-1700', regions: ['nyc3'], sizeGigabytes: 6 })
    expect(fake.snapshots.has(Number(snapshot.id))).toBe(true)
  })

  it('resumes a stored action and never takes a second snapshot', async () => {
    const first = await cloud.dropletAction(dropletId, { type: 'snapshot', name: 'resumed' })
    const ids: number[] = []
    const snapshot = await snapshotDroplet(cloud, dropletId, 'resumed', { clock, pendingActionId: first.id, onAction: (id) => void ids.push(id) })
    expect(ids).toEqual([])
    expect(snapshot.name).toBe('resumed')
    expect([...fake.actions.values()].filter((a) => a.type === 'snapshot')).toHaveLength(1)
  })

  it('after a crash before the action id was stored: waits out the pending action and finds the snapshot by name', async () => {
    await cloud.dropletAction(dropletId, { type: 'snapshot', name: 'lost-id' })
    const snapshot = await snapshotDroplet(cloud, dropletId, 'lost-id', { clock, onAction: () => {} })
    expect(snapshot.name).toBe('lost-id')
    expect(fake.snapshots.size).toBe(1)
  })

  it('an errored snapshot action fails the step and leaves no snapshot', async () => {
    fake.planAction('snapshot', 'errored')
    await expect(snapshotDroplet(cloud, dropletId, 'bad', { clock, onAction: () => {} })).rejects.toMatchObject({ code: 'action-errored' })
    expect(fake.snapshots.size).toBe(0)
  })

  it('a snapshot action that never completes times out', async () => {
    fake.planAction('snapshot', 'never')
    await expect(snapshotDroplet(cloud, dropletId, 'slow', { clock, onAction: () => {}, timeoutMs: 600_000 })).rejects.toMatchObject({ code: 'timed-out' })
  })
})

describe('resumeAction and waitForAction', () => {
  it('report a stored action as it is now; an unknown id counts as errored', async () => {
    const action = await cloud.dropletAction(dropletId, { type: 'power_off' })
    expect(await resumeAction(cloud, action.id)).toBe('in-progress')
    expect(await waitForAction(cloud, action.id, { clock, timeoutMs: 60_000, what: 'the power-off' })).toBe('completed')
    expect(await resumeAction(cloud, 999)).toBe('errored')
  })
})
