// Droplet actions, snapshots and image transfer against the loopback fake DigitalOcean: the calls
// hibernation and desktop images rest on, including the faults they must survive.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import type { FakeDigitalOcean, FakeDigitalOceanOptions } from '../../../test/fakes/fake-digitalocean'
import { DigitalOceanClient } from './client'
import type { CloudAction } from './client'
import { DigitalOceanError } from './errors'

let fake: FakeDigitalOcean
let client: DigitalOceanClient

async function setUp(options: FakeDigitalOceanOptions = {}): Promise<void> {
  await fake?.close()
  fake = await startFakeDigitalOcean({ activeAfterMs: 5, actionMs: 20, ...options })
  client = new DigitalOceanClient({ baseUrl: fake.url, token: async () => fake.token, timeoutMs: 2_000, sleep: async () => {}, random: () => 0.5 })
}

beforeEach(() => setUp())
afterEach(() => fake.close())

async function droplet(region = 'nyc3'): Promise<number> {
  const id = 'a1b2c3d4-1111-4222-8333-444455556666'
  const made = await client.createDroplet({
    deploymentId: id,
    name: `dictumal-notes-${Math.random().toString(16).slice(2, 8)}`,
    region,
    size: 's-2vcpu-4gb',
    image: 'ubuntu-24-04-x64',
    userData: '',
    sshKeys: [],
    tags: ['dictumal', `dictumal-${id}`],
  })
  return made.id
}

async function finished(action: CloudAction, limitMs = 2_000): Promise<CloudAction> {
  const until = Date.now() + limitMs
  for (;;) {
    const now = await client.getAction(action.id)
    if (now.status !== 'in-progress' || Date.now() > until) return now
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('droplet actions', () => {
  it('shutdown runs in-progress, then completes and the droplet is off', async () => {
    const id = await droplet()
    const action = await client.dropletAction(id, { type: 'shutdown' })
    expect(action).toMatchObject({ status: 'in-progress', type: 'shutdown', resourceId: id })
    expect((await finished(action)).status).toBe('completed')
    expect((await client.getDroplet(id))?.status).toBe('off')
    expect(fake.requests.some((r) => r.method === 'POST' && r.path === `/v2/droplets/${id}/actions`)).toBe(true)
  })

  it('power_off and power_on turn the droplet off and on again', async () => {
    const id = await droplet()
    await finished(await client.dropletAction(id, { type: 'power_off' }))
    expect((await client.getDroplet(id))?.status).toBe('off')
    await finished(await client.dropletAction(id, { type: 'power_on' }))
    expect((await client.getDroplet(id))?.status).toBe('active')
  })

  it('a second action while one is pending is refused, as DigitalOcean does; power_off takes over a hung shutdown', async () => {
    const id = await droplet()
    fake.planAction('shutdown', 'never')
    const shutdown = await client.dropletAction(id, { type: 'shutdown' })
    await expect(client.dropletAction(id, { type: 'snapshot', name: 'busy' })).rejects.toMatchObject({ code: 'invalid-request' })
    const powerOff = await client.dropletAction(id, { type: 'power_off' })
    expect((await client.getAction(shutdown.id)).status).toBe('errored')
    expect((await finished(powerOff)).status).toBe('completed')
  })

  it('an action planned to error ends errored and changes nothing', async () => {
    const id = await droplet()
    fake.planAction('snapshot', 'errored')
    expect((await finished(await client.dropletAction(id, { type: 'snapshot', name: 'dictumal-hibernate-x' }))).status).toBe('errored')
    expect(await client.listDropletSnapshots(id)).toEqual([])
  })

  it('an action planned never to complete stays in-progress until completed by hand', async () => {
    const id = await droplet()
    fake.planAction('shutdown', 'never')
    const action = await client.dropletAction(id, { type: 'shutdown' })
    expect((await finished(action, 100)).status).toBe('in-progress')
    fake.completeAction(action.id)
    expect((await client.getAction(action.id)).status).toBe('completed')
  })

  it('power actions are re-sent after a 5xx; a snapshot is not (it could be taken twice)', async () => {
    const id = await droplet()
    fake.inject({ kind: 'server-error', status: 503, method: 'POST', path: `/v2/droplets/${id}/actions` })
    expect((await client.dropletAction(id, { type: 'shutdown' })).type).toBe('shutdown')
    await finished({ id: [...fake.actions.keys()].at(-1)!, status: 'in-progress', type: 'shutdown', resourceId: id })
    fake.inject({ kind: 'server-error', method: 'POST', path: `/v2/droplets/${id}/actions` })
    const error = await client.dropletAction(id, { type: 'snapshot', name: 'once' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DigitalOceanError)
    expect((error as DigitalOceanError).code).toBe('server-error')
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path === `/v2/droplets/${id}/actions`)).toHaveLength(3)
  })

  it('429 on an action waits and retries: DigitalOcean did nothing', async () => {
    const id = await droplet()
    fake.inject({ kind: 'rate-limit', retryAfterS: 1, method: 'POST', path: `/v2/droplets/${id}/actions` })
    expect((await client.dropletAction(id, { type: 'snapshot', name: 'after-429' })).status).toBe('in-progress')
  })

  it('an action on a deleted droplet is not-found', async () => {
    const id = await droplet()
    fake.deleteBehindBack(id)
    await expect(client.dropletAction(id, { type: 'shutdown' })).rejects.toMatchObject({ code: 'not-found' })
  })
})

describe('snapshots', () => {
  it('a completed snapshot action yields a snapshot: listed, fetched, deleted once', async () => {
    await setUp({ snapshotSizeGigabytes: 7.5 })
    const id = await droplet('ams3')
    await finished(await client.dropletAction(id, { type: 'snapshot', name: 'dictumal-hibernate-a1b2c3d4-20261201-1700' }))
    const [fromDroplet] = await client.listDropletSnapshots(id)
    expect(fromDroplet).toMatchObject({ name: 'dictumal-hibernate-a1b2c3d4-20261201-1700', regions: ['ams3'], sizeGigabytes: 7.5, minDiskSize: 80, resourceId: String(id) })
    const all = await client.listSnapshots()
    expect(all.map((s) => s.id)).toEqual([fromDroplet!.id])
    expect(fake.requests.find((r) => r.path === '/v2/snapshots')?.query.resource_type).toBe('droplet')
    expect(await client.getSnapshot(fromDroplet!.id)).toEqual(fromDroplet)
    expect(await client.deleteSnapshot(fromDroplet!.id)).toBe('deleted')
    expect(await client.deleteSnapshot(fromDroplet!.id)).toBe('already-gone')
    expect(await client.getSnapshot(fromDroplet!.id)).toBeNull()
  })

  it('lists every page of snapshots', async () => {
    await setUp({ maxPerPage: 2 })
    const id = await droplet()
    for (let i = 0; i < 5; i++) await finished(await client.dropletAction(id, { type: 'snapshot', name: `s${i}` }))
    expect((await client.listSnapshots()).map((s) => s.name)).toEqual(['s0', 's1', 's2', 's3', 's4'])
  })

  it('a droplet is created from a snapshot (numeric image id) in a region the snapshot is in', async () => {
    const id = await droplet('nyc3')
    await finished(await client.dropletAction(id, { type: 'snapshot', name: 'base' }))
    const [snap] = await client.listSnapshots()
    const tags = ['dictumal', 'dictumal-b1b2c3d4-1111-4222-8333-444455556666']
    const base = { deploymentId: 'b1b2c3d4-1111-4222-8333-444455556666', name: 'dictumal-resumed', size: 's-2vcpu-4gb', userData: '', sshKeys: [], tags }
    await expect(client.createDroplet({ ...base, region: 'ams3', image: Number(snap!.id) })).rejects.toMatchObject({ code: 'invalid-request' })
    const made = await client.createDroplet({ ...base, region: 'nyc3', image: Number(snap!.id) })
    expect(made.image.id).toBe(Number(snap!.id))
    expect(fake.droplets.get(made.id)?.fromSnapshot).toBe(Number(snap!.id))
  })

  it('an image transfer adds the region once the action completes', async () => {
    const id = await droplet('nyc3')
    await finished(await client.dropletAction(id, { type: 'snapshot', name: 'image' }))
    const [snap] = await client.listSnapshots()
    const transfer = await client.transferImage(Number(snap!.id), 'sfo3')
    expect(transfer).toMatchObject({ type: 'transfer', status: 'in-progress', resourceId: Number(snap!.id) })
    expect((await client.getSnapshot(snap!.id))?.regions).toEqual(['nyc3'])
    expect((await finished(transfer)).status).toBe('completed')
    expect((await client.getSnapshot(snap!.id))?.regions).toEqual(['nyc3', 'sfo3'])
  })

  it('5xx on snapshot reads and deletes is retried; garbage is a bad response', async () => {
    const id = await droplet()
    await finished(await client.dropletAction(id, { type: 'snapshot', name: 'x' }))
    const [snap] = await client.listSnapshots()
    fake.inject({ kind: 'server-error', path: `/v2/snapshots/${snap!.id}`, times: 2 })
    expect((await client.getSnapshot(snap!.id))?.name).toBe('x')
    fake.inject({ kind: 'server-error', method: 'DELETE', path: `/v2/snapshots/${snap!.id}` })
    expect(await client.deleteSnapshot(snap!.id)).toBe('deleted')
    fake.inject({ kind: 'status', status: 200, body: { action: { id: 'nope' } }, path: /^\/v2\/actions\// })
    await expect(client.getAction(1)).rejects.toMatchObject({ code: 'bad-response' })
  })
})
