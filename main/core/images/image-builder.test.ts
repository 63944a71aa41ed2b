// Desktop image builds against the loopback fake DigitalOcean, with builder droplets whose beacon
// answers over real HTTP on their 127.x address: the happy path, each failure, a takeover after the
// driving process died, reconcile's clean-up, the deploy's choice, copy and delete.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DesktopImage } from '../../../preload/contract'
import { farmIpAllocator } from '../../../test/fakes/droplet-farm'
import { attachFakeBuilders, type FakeBuilders } from '../../../test/fakes/fake-builder'
import { startFakeDigitalOcean, type FakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import { DigitalOceanClient } from '../digitalocean'
import { RECIPE_VERSION } from '../recipe'
import { openStore, type Store } from '../store'
import { ImageService, type ImageServiceOptions } from './image-builder'
import { builderTag } from './names'

let fake: FakeDigitalOcean
let builders: FakeBuilders
let client: DigitalOceanClient
let store: Store
let dir: string
const services: ImageService[] = []

beforeEach(async () => {
  fake = await startFakeDigitalOcean({ activeAfterMs: 20, actionMs: 30, allocateIp: farmIpAllocator() })
  builders = attachFakeBuilders(fake, { stepMs: 15 })
  client = new DigitalOceanClient({ baseUrl: fake.url, token: async () => fake.token, timeoutMs: 2_000, sleep: async () => {}, random: () => 0.5 })
  dir = await mkdtemp(join(tmpdir(), 'dictumal-images-'))
  store = await openStore(dir, { watch: false })
})

afterEach(async () => {
  for (const s of services.splice(0)) await s.stop()
  await builders.close()
  await fake.close()
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

function service(options: Partial<ImageServiceOptions> = {}): ImageService {
  const s = new ImageService({
    store,
    cloud: client,
    baseImage: async () => 'ubuntu-24-04-x64',
    explicitImage: () => false,
    sshKeys: () => [],
    pollMs: 15,
    ...options,
  })
  services.push(s)
  return s
}

/** Every record the store held for this image, in order, while `run` ran. */
async function watching<T>(id: () => string | null, run: () => Promise<T>): Promise<{ result: T; seen: DesktopImage[] }> {
  const seen: DesktopImage[] = []
  const off = store.onChange((data) => {
    const wanted = id()
    const r = data.images.find((i) => i.id === wanted) ?? data.images[0]
    if (r && JSON.stringify(seen.at(-1)) !== JSON.stringify(r)) seen.push(structuredClone(r) as DesktopImage)
  })
  try {
    return { result: await run(), seen }
  } finally {
    off()
  }
}

function leftovers(): { builders: number; snapshots: string[] } {
  return {
    builders: [...fake.droplets.values()].filter((d) => d.tags.includes('dictumal-image')).length,
    snapshots: [...fake.snapshots.values()].map((s) => s.name),
  }
}

describe('image build', () => {
  it('bakes a builder, snapshots it as dictumal-image-r<version>-<time>, deletes the builder and ends READY', async () => {
    const images = service()
    let id: string | null = null
    const { result, seen } = await watching(
      () => id,
      async () => {
        const started = await images.build({ region: 'nyc3' })
        id = started.id
        expect(started.status).toBe('BUILDING')
        expect(started.builderDropletId).not.toBeNull()
        return images.settled(started.id)
      },
    )
    expect(result.status, result.error ?? '').toBe('READY')
    expect(result.name).toMatch(new RegExp(`^dictumal-image-r${RECIPE_VERSION}-\\d{8}-\\d{4}$`))
    expect(result).toMatchObject({ recipeVersion: RECIPE_VERSION, regions: ['nyc3'], sizeGigabytes: 4.2, percent: 100, stage: 'ready', builderDropletId: null, pendingAction: null })
    expect([...fake.snapshots.values()].map((s) => [String(s.id), s.name])).toEqual([[result.snapshotId, result.name]])
    expect(leftovers().builders).toBe(0)

    // Every stage was shown, in order, and percent never went back.
    const stages = [...new Set(seen.map((r) => r.stage))]
    expect(stages).toEqual(['creating-builder', 'waiting-for-ip', 'installing', 'stopping', 'snapshotting', 'deleting-builder', 'ready'])
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.percent).toBeGreaterThanOrEqual(seen[i - 1]!.percent)
    // The shutdown and snapshot action ids were stored before they were waited for.
    expect(seen.some((r) => r.stage === 'stopping' && r.pendingAction?.type === 'shutdown')).toBe(true)
    expect(seen.some((r) => r.stage === 'snapshotting' && r.pendingAction?.type === 'snapshot')).toBe(true)

    // The builder: its name, tags, the base image and the install half only (no user, no secrets).
    const builderId = seen.find((r) => r.builderDropletId !== null)!.builderDropletId!
    const userData = fake.userData.get(builderId) ?? ''
    expect(userData).toContain('Dictumal desktop image build')
    expect(userData).toMatch(/runcmd:\n- - \S+\n {2}- bake/)
    const create = JSON.stringify(fake.requests.filter((r) => r.method === 'POST' && r.path === '/v2/droplets'))
    expect(create).toBeDefined()
    expect(builders.booted.has(builderId)).toBe(true)
    // One measured build time.
    expect(store.read().timings.filter((t) => t.kind === 'build' && t.subjectId === result.id)).toHaveLength(1)
  })

  it('names and tags the builder so reconcile and an uncertain create can find it', async () => {
    const images = service()
    const started = await images.build({ region: 'ams3' })
    const builder = fake.droplets.get(started.builderDropletId!)!
    expect(builder.name).toBe(`dictumal-image-${started.id.slice(0, 8)}`)
    expect(builder.tags).toEqual(['dictumal', 'dictumal-image', builderTag(started.id)])
    expect(builder.region).toBe('ams3')
    expect((await images.settled(started.id)).regions).toEqual(['ams3'])
  })

  it('a failed install step ends ERROR with the step named, and leaves no builder and no snapshot', async () => {
    builders.setOptions({ stepMs: 15, failAt: 'install-packages' })
    const images = service()
    const r = await images.settled((await images.build({ region: 'nyc3' })).id)
    expect(r.status).toBe('ERROR')
    expect(r.error).toContain('install-packages')
    expect(leftovers()).toEqual({ builders: 0, snapshots: [] })
  })

  it('a snapshot action that errors ends ERROR with nothing left behind', async () => {
    fake.planAction('snapshot', 'errored')
    const images = service()
    const r = await images.settled((await images.build({ region: 'nyc3' })).id)
    expect(r.status).toBe('ERROR')
    expect(r.error).toMatch(/snapshot/)
    expect(leftovers()).toEqual({ builders: 0, snapshots: [] })
  })

  it('an install that never finishes times out, and the builder is deleted', async () => {
    builders.setOptions({ stepMs: 15, stallAt: 'pull-images' })
    const images = service({ buildTimeoutMs: 600 })
    const r = await images.settled((await images.build({ region: 'nyc3' })).id)
    expect(r.status).toBe('ERROR')
    expect(r.error).toMatch(/did not finish within/)
    expect(leftovers()).toEqual({ builders: 0, snapshots: [] })
  })

  it('a builder that ignores the shutdown is powered off after the grace period, then snapshotted', async () => {
    fake.planAction('shutdown', 'never')
    const images = service({ powerOffAfterMs: 200 })
    let id: string | null = null
    const { result, seen } = await watching(
      () => id,
      async () => {
        const started = await images.build({ region: 'nyc3' })
        id = started.id
        return images.settled(started.id)
      },
    )
    expect(result.status, result.error ?? '').toBe('READY')
    expect(seen.some((r) => r.pendingAction?.type === 'power_off')).toBe(true)
    expect([...fake.actions.values()].map((a) => a.type)).toEqual(expect.arrayContaining(['shutdown', 'power_off', 'snapshot']))
  })

  it('a refused create (sold-out region) is the caller\'s error and leaves no record', async () => {
    const images = service()
    await expect(images.build({ region: 'sfo1' })).rejects.toThrow(/not available/i)
    expect(store.read().images).toEqual([])
    await expect(images.build({ region: 'NYC 3' })).rejects.toThrow(/region slug/)
  })

  it('DigitalOcean 5xx and 429 during the build are waited out, not failed', async () => {
    fake.inject({ kind: 'server-error', status: 503, path: /\/actions/, times: 3 })
    fake.inject({ kind: 'rate-limit', retryAfterS: 0, path: /\/v2\/droplets\/\d+$/, times: 2 })
    const images = service()
    const r = await images.settled((await images.build({ region: 'nyc3' })).id)
    expect(r.status, r.error ?? '').toBe('READY')
    expect(leftovers().builders).toBe(0)
  })
})

describe('after the driving process died', () => {
  it('another process takes a build over in every stage and finishes it, taking one snapshot only', async () => {
    for (const stage of ['creating-builder', 'waiting-for-ip', 'installing', 'stopping', 'snapshotting', 'deleting-builder'] as const) {
      // The first process freezes mid-stage (every DigitalOcean call hangs) as if killed; its pid is dead.
      let frozen = false
      const hang = new Promise<never>(() => {})
      const cloud = new Proxy(client, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown
          if (typeof value !== 'function') return value
          return (...args: unknown[]) => (frozen ? hang : (value as (...a: unknown[]) => unknown).apply(target, args))
        },
      })
      const first = new ImageService({ store, cloud, baseImage: async () => 'ubuntu-24-04-x64', explicitImage: () => false, sshKeys: () => [], pollMs: 15, pid: 4_000_001 })
      if (stage === 'creating-builder') frozen = true
      const started = stage === 'creating-builder' ? await startFrozen(first) : await first.build({ region: 'nyc3' })
      await waitFor(() => store.read().images.find((i) => i.id === started.id)?.stage === stage)
      frozen = true
      const second = service({ pid: 4_000_002, processAlive: (pid) => pid === 4_000_002, createGraceMs: 50 })
      const findings = await second.reconcile()
      expect(findings.map((f) => f.kind), stage).toContain('image-resumed')
      const done = await second.settled(started.id)
      expect(done.status, `${stage}: ${done.error ?? ''}`).toBe('READY')
      expect([...fake.snapshots.values()].filter((s) => s.name === done.name), stage).toHaveLength(1)
      expect(leftovers().builders, stage).toBe(0)
      await second.delete(done.id)
      void first.stop()
    }
  })

  it('a running app (start) takes over a build a CLI left without --wait, without a reconcile', async () => {
    const cli = service({ pid: 4_000_021 })
    const started = await cli.build({ region: 'nyc3' })
    await cli.stop()
    expect(store.read().images[0]).toMatchObject({ status: 'BUILDING', driver: null })
    const app = service({ pid: 4_000_022, onStoreChange: (listener) => store.onChange(() => listener()) })
    const stop = app.start()
    try {
      await waitFor(() => store.read().images[0]?.status === 'READY')
    } finally {
      stop()
    }
    expect(store.read().images[0]?.id).toBe(started.id)
    expect(leftovers().builders).toBe(0)
  })

  it('a live driver is left alone', async () => {
    const first = service({ pid: 4_000_011 })
    const started = await first.build({ region: 'nyc3' })
    const second = service({ pid: 4_000_012, processAlive: () => true })
    expect(await second.reconcile()).toEqual([])
    await expect(second.delete(started.id)).rejects.toThrow(/being built by another Dictumal process/)
    expect((await first.settled(started.id)).status).toBe('READY')
  })
})

describe('reconcile', () => {
  it('deletes builders whose build is over, and an old builder no record knows; keeps a young unknown one', async () => {
    const images = service()
    const ready = await images.settled((await images.build({ region: 'nyc3' })).id)
    const stray = await createBuilder(`dictumal-image-${ready.id}`)
    const old = await createBuilder('dictumal-image-0b8a1c2d-1111-4222-8333-444455556666')
    fake.droplets.get(old)!.createdAt = Date.now() - 2 * 3_600_000
    const young = await createBuilder('dictumal-image-7c6a1c2d-1111-4222-8333-444455556666')
    const findings = await images.reconcile()
    expect(findings.filter((f) => f.kind === 'builder-deleted').map((f) => f.dropletId).sort()).toEqual([stray, old].sort())
    expect(fake.droplets.has(young)).toBe(true)
    expect(fake.snapshots.size).toBe(1)
  })

  it('a failed build whose builder DigitalOcean would not delete then is cleaned up by the next reconcile', async () => {
    builders.setOptions({ stepMs: 15, failAt: 'install-docker' })
    fake.inject({ kind: 'server-error', status: 500, method: 'DELETE', path: /^\/v2\/droplets\/\d+$/, times: 1000 })
    const images = service()
    const failed = await images.settled((await images.build({ region: 'nyc3' })).id)
    expect(failed.status).toBe('ERROR')
    expect(failed.error).toMatch(/could not yet delete the builder droplet/)
    expect(failed.builderDropletId).not.toBeNull()
    expect(leftovers().builders).toBe(1)
    fake.clearFaults()
    const findings = await images.reconcile()
    expect(findings).toContainEqual(expect.objectContaining({ kind: 'image-cleaned-up', imageId: failed.id }))
    expect(leftovers()).toEqual({ builders: 0, snapshots: [] })
    expect(images.find(failed.id)).toMatchObject({ builderDropletId: null, status: 'ERROR' })
    expect(images.find(failed.id).error).not.toMatch(/could not yet delete/)
  })

  it('an image whose snapshot was deleted elsewhere becomes ERROR', async () => {
    const images = service()
    const ready = await images.settled((await images.build({ region: 'nyc3' })).id)
    fake.snapshots.delete(Number(ready.snapshotId))
    const findings = await images.reconcile()
    expect(findings).toContainEqual(expect.objectContaining({ kind: 'image-gone', imageId: ready.id }))
    expect(images.find(ready.id)).toMatchObject({ status: 'ERROR', snapshotId: null })
  })
})

describe('deploy choice, copy and delete', () => {
  it('picks the newest READY image of this recipe version in the region, unless explicit or fresh', async () => {
    let explicit = false
    const images = service({ explicitImage: () => explicit })
    expect(await images.launchPlan({ region: 'nyc3', fresh: false })).toEqual({ image: 'ubuntu-24-04-x64', fastStart: false, userDataMode: 'full' })
    expect(images.planView({ region: 'nyc3', fresh: false })).toMatchObject({ path: 'fresh', reason: 'no-ready-image', anyImage: false })

    const older = await images.settled((await images.build({ region: 'nyc3' })).id)
    const newer = await images.settled((await images.build({ region: 'nyc3' })).id)
    expect(newer.createdAt >= older.createdAt).toBe(true)
    expect(await images.launchPlan({ region: 'nyc3', fresh: false })).toEqual({ image: Number(newer.snapshotId), fastStart: true, userDataMode: 'personalise' })
    expect(images.planView({ region: 'nyc3', fresh: false })).toMatchObject({ path: 'image', image: { id: newer.id } })
    expect((await images.launchPlan({ region: 'nyc3', fresh: true })).fastStart).toBe(false)
    expect(images.planView({ region: 'ams3', fresh: false })).toMatchObject({ path: 'fresh', reason: 'no-ready-image', elsewhere: { id: newer.id } })
    explicit = true
    expect(images.planView({ region: 'nyc3', fresh: false })).toMatchObject({ path: 'fresh', reason: 'explicit-image' })

    // An image of another recipe version is never used.
    await store.update((draft) => {
      for (const i of draft.images) i.recipeVersion = RECIPE_VERSION - 1
    })
    explicit = false
    expect(images.planView({ region: 'nyc3', fresh: false }).path).toBe('fresh')
  })

  it('copies an image to another region, then a deploy there uses it', async () => {
    const images = service()
    const ready = await images.settled((await images.build({ region: 'nyc3' })).id)
    const copying = await images.copyToRegion(ready.id.slice(0, 6), 'ams3')
    expect(copying.transfers).toEqual([{ region: 'ams3', actionId: expect.any(Number) }])
    await images.followTransfers(ready.id)
    expect(images.find(ready.id)).toMatchObject({ regions: ['nyc3', 'ams3'], transfers: [] })
    expect((await images.launchPlan({ region: 'ams3', fresh: false })).fastStart).toBe(true)
    await expect(images.copyToRegion(ready.id, 'not a region')).rejects.toThrow(/region slug/)
  })

  it('delete removes the snapshot and the record; deleting a build in progress cleans it up', async () => {
    const images = service()
    const ready = await images.settled((await images.build({ region: 'nyc3' })).id)
    await images.delete(ready.id)
    expect(store.read().images).toEqual([])
    expect(fake.snapshots.size).toBe(0)

    builders.setOptions({ stepMs: 15, stallAt: 'pull-images' })
    const building = await images.build({ region: 'nyc3' })
    await waitFor(() => store.read().images[0]?.stage === 'installing')
    await images.delete(building.id)
    expect(store.read().images).toEqual([])
    expect(leftovers()).toEqual({ builders: 0, snapshots: [] })
    expect(() => images.find('zzz')).toThrow(/No desktop image/)
  })
})

/** A build whose process froze right after writing the record, before DigitalOcean answered the create. */
async function startFrozen(images: ImageService): Promise<DesktopImage> {
  void images.build({ region: 'nyc3' })
  await waitFor(() => store.read().images.length > 0)
  return store.read().images[0]!
}

async function waitFor(test: () => boolean, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs
  while (!test()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function createBuilder(tag: string): Promise<number> {
  const res = await fetch(`${fake.url}/v2/droplets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'dictumal-image-stray', region: 'nyc3', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64', tags: ['dictumal', 'dictumal-image', tag] }),
  })
  return ((await res.json()) as { droplet: { id: number } }).droplet.id
}
