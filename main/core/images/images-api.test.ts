// The images channels over real services (fake DigitalOcean on loopback, store on disk): arguments
// from the renderer are narrowed, refusals come back as one sentence, and every change is pushed.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { DesktopImage } from '../../../preload/contract'
import { farmIpAllocator } from '../../../test/fakes/droplet-farm'
import { attachFakeBuilders, type FakeBuilders } from '../../../test/fakes/fake-builder'
import { startFakeDigitalOcean, type FakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import { createHandlers, InvalidArgumentError, subscribeEvents } from '../api'
import { createAppServices, type AppServices } from '../app-services'
import { MemorySecrets } from '../secrets'

let services: AppServices | null = null
let fake: FakeDigitalOcean | null = null
let builders: FakeBuilders | null = null

afterEach(async () => {
  await services?.close()
  await builders?.close()
  await fake?.close()
  services = null
  fake = null
  builders = null
})

async function setup(env: Record<string, string> = {}) {
  fake = await startFakeDigitalOcean({ activeAfterMs: 20, actionMs: 30, allocateIp: farmIpAllocator() })
  builders = attachFakeBuilders(fake, { stepMs: 15 })
  const secrets = new MemorySecrets()
  await secrets.setToken(fake.token)
  const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-images-api-'))
  services = await createAppServices({
    dataDir,
    env: { DIGITALOCEAN_API_URL: fake.url, DICTUMAL_IMAGE_POLL_MS: '15', ...env },
    info: { name: 'Dictumal', version: '0.0.0-test', platform: 'linux', dataDir },
    secrets,
    client: { timeoutMs: 3000, maxRetries: 1 },
  })
  return { handlers: createHandlers(services), services }
}

describe('images channels', () => {
  it('refuse malformed arguments, and tell a bad region or unknown image in one sentence', async () => {
    const { handlers } = await setup()
    await expect(handlers['images:build']('nyc3')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['images:build']({ region: 'nyc3', size: 'huge' })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['images:copy']({ id: 'x' })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['images:plan']({ region: 'nyc3' })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['images:list']('all')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['deployments:create']({ constitutionId: 'c', region: 'nyc3', size: 's', fresh: 'yes' })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(await handlers['images:build']({ region: 'New York' })).toMatchObject({ ok: false, error: { code: 'invalid-region' } })
    expect(await handlers['images:delete']('deadbeef')).toMatchObject({ ok: false, error: { message: 'No desktop image has an ID starting with "deadbeef".' } })
  })

  it('build, follow by push, plan, copy and delete', async () => {
    const { handlers, services: s } = await setup()
    const pushed: DesktopImage[][] = []
    const off = subscribeEvents(s, (channel, payload) => {
      if (channel === 'images:changed') pushed.push(payload as DesktopImage[])
    })
    expect(await handlers['images:plan']({ region: 'nyc3', fresh: false })).toMatchObject({ path: 'fresh', reason: 'no-ready-image', anyImage: false })
    const built = await handlers['images:build']({ region: 'nyc3' })
    expect(built).toMatchObject({ ok: true, value: { status: 'BUILDING' } })
    const id = built.ok ? built.value.id : ''
    const ready = await s.images.settled(id)
    expect(ready.status).toBe('READY')
    expect(pushed.at(-1)?.[0]).toMatchObject({ id, status: 'READY' })
    expect(new Set(pushed.map((list) => list[0]?.stage)).size).toBeGreaterThanOrEqual(5)
    expect(await handlers['images:list']()).toEqual([expect.objectContaining({ id, status: 'READY' })])
    expect(await handlers['images:plan']({ region: 'nyc3', fresh: false })).toMatchObject({ path: 'image', image: { id } })
    expect(await handlers['images:plan']({ region: 'nyc3', fresh: true })).toMatchObject({ path: 'fresh', reason: 'fresh-requested' })
    expect(await handlers['images:copy']({ id, region: 'ams3' })).toMatchObject({ ok: true, value: { transfers: [{ region: 'ams3' }] } })
    await s.images.followTransfers(id)
    expect((await handlers['images:list']())[0]?.regions).toEqual(['nyc3', 'ams3'])
    expect(await handlers['images:delete'](id)).toEqual({ ok: true, value: null })
    expect(pushed.at(-1)).toEqual([])
    off()
  })

  it('an explicit image slug always deploys fresh', async () => {
    const { handlers } = await setup({ DIGITALOCEAN_IMAGE_SLUG: 'ubuntu-22-04-x64' })
    expect(await handlers['images:plan']({ region: 'nyc3', fresh: false })).toMatchObject({ path: 'fresh', reason: 'explicit-image' })
  })
})
