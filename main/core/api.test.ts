// The invoke handlers over real services (fake DigitalOcean on loopback, store on disk): arguments
// from the renderer are narrowed, and expected failures come back as one sentence.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createHandlers, InvalidArgumentError, type Handlers } from './api'
import { constitutionFitError } from './recipe'
import { createAppServices, type AppServices } from './app-services'
import { MemorySecrets } from './secrets'
import { startFakeDigitalOcean, type FakeDigitalOcean } from '../../test/fakes/fake-digitalocean'

let services: AppServices | null = null
let fake: FakeDigitalOcean | null = null

afterEach(async () => {
  await services?.close()
  await fake?.close()
  services = null
  fake = null
})

async function setup(env: Record<string, string> = {}): Promise<{ handlers: Handlers; secrets: MemorySecrets; fake: FakeDigitalOcean }> {
  fake = await startFakeDigitalOcean()
  const secrets = new MemorySecrets()
  const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-api-'))
  services = await createAppServices({
    dataDir,
    env: { DIGITALOCEAN_API_URL: fake.url, ...env },
    info: { name: 'Dictumal', version: '0.0.0-test', platform: 'linux', dataDir },
    secrets,
    client: { timeoutMs: 3000, maxRetries: 0 },
  })
  return { handlers: createHandlers(services), secrets, fake }
}

describe('handlers', () => {
  it('answers app:info and refuses unexpected arguments instead of passing them on', async () => {
    const { handlers } = await setup()
    expect((await handlers['app:info']()).version).toBe('0.0.0-test')
    await expect(handlers['app:info']('surprise')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['deployments:destroy']({ id: 1 })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['settings:update']({ evil: true })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['desktop:action']('rm -rf')).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('walks the first run: no token, a wrong token gets a sentence, the right one is stored in the keychain', async () => {
    const { handlers, secrets, fake } = await setup()
    expect(await handlers['auth:status']()).toMatchObject({ source: 'none', account: null })
    const wrong = await handlers['auth:set-token']('dop_v1_' + 'f'.repeat(64))
    expect(wrong.ok).toBe(false)
    if (!wrong.ok) {
      expect(wrong.error.message).toMatch(/token/i)
      expect(wrong.error.message).not.toContain('ffff')
    }
    expect(await secrets.getToken()).toBeNull()
    const right = await handlers['auth:set-token'](`  ${fake.token}  `)
    expect(right).toMatchObject({ ok: true, value: { source: 'keychain', account: { email: expect.any(String) } } })
    expect(await secrets.getToken()).toBe(fake.token)
    const removed = await handlers['auth:remove-token']()
    expect(removed).toMatchObject({ ok: true, value: { source: 'none' } })
  })

  it('shows an env token as coming from the environment', async () => {
    fake = null
    const f = await startFakeDigitalOcean()
    const { handlers } = await setup({ DIGITALOCEAN_API_TOKEN: f.token })
    // The env token belongs to another fake account: the status says where it came from and why it fails.
    const status = await handlers['auth:status']()
    expect(status.source).toBe('env')
    expect(status.problem?.message).toBeTruthy()
    await f.close()
  })

  it('keeps constitutions and settings, with env values shown as overriding', async () => {
    const { handlers } = await setup({ DIGITALOCEAN_IMAGE_SLUG: 'ubuntu-22-04-x64' })
    const saved = await handlers['constitutions:save']({ name: '  Lab notes ', body: '# hi' })
    expect(saved).toMatchObject({ ok: true, value: { name: 'Lab notes' } })
    const blank = await handlers['constitutions:save']({ name: '   ', body: '' })
    expect(blank).toMatchObject({ ok: false, error: { message: 'A constitution needs a name.' } })
    expect(await handlers['constitutions:list']()).toHaveLength(1)
    const badHost = await handlers['settings:update']({ gatewayHost: 'https://gw.example.com/x' })
    expect(badHost).toMatchObject({ ok: false, error: { message: expect.stringMatching(/host name or IP address/) } })
    const updated = await handlers['settings:update']({ defaultRegion: 'ams3', imageSlug: 'debian-12-x64' })
    expect(updated).toMatchObject({ ok: true, value: { settings: { defaultRegion: 'ams3', imageSlug: 'debian-12-x64' }, overrides: { imageSlug: 'ubuntu-22-04-x64' } } })
  })

  it('saves SSH keys only as DigitalOcean ids or MD5 fingerprints, anything else gets a sentence and changes nothing', async () => {
    const { handlers } = await setup()
    const good = await handlers['settings:update']({ sshKeys: ['512189', '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'] })
    expect(good).toMatchObject({ ok: true, value: { settings: { sshKeys: ['512189', '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'] } } })
    for (const bad of ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake me@laptop', 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8', 'aa:bb']) {
      const answer = await handlers['settings:update']({ sshKeys: ['512189', bad] })
      expect(answer, bad).toMatchObject({ ok: false, error: { code: 'settings-invalid', message: expect.stringMatching(/^The SSH key ".+" in Settings is .+; use the key's numeric id or its MD5 fingerprint/) } })
    }
    expect(await handlers['settings:get']()).toMatchObject({ settings: { sshKeys: ['512189', '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'] } })
  })

  it('refuses to save a constitution that would not fit in the user data, in the same sentence as the CLI, and keeps the old text', async () => {
    const { handlers } = await setup()
    const saved = await handlers['constitutions:save']({ name: 'Lab notes', body: '# short\n' })
    expect(saved).toMatchObject({ ok: true })
    // Random text barely compresses: 300 KB of it cannot travel in 64 KiB.
    const body = randomBytes(225_000).toString('base64')
    const expected = constitutionFitError({ name: 'Lab notes', body })
    expect(expected?.message).toMatch(/^The constitution is too large to send to the droplet: it is 29\d\.\d KiB, and about \d+\.\d KiB of text like it fits/)
    const created = await handlers['constitutions:save']({ name: 'Lab notes 2', body })
    expect(created).toEqual({ ok: false, error: expected })
    const id = saved.ok ? saved.value.id : ''
    const updated = await handlers['constitutions:save']({ id, name: 'Lab notes', body })
    expect(updated).toMatchObject({ ok: false, error: { code: expected?.code, message: expected?.message } })
    expect(await handlers['constitutions:list']()).toEqual([expect.objectContaining({ id, body: '# short\n' })])
  })

  it('says so in a sentence when a desktop is opened where there is no app window', async () => {
    const { handlers } = await setup()
    const answer = await handlers['desktop:action']('reconnect')
    expect(answer).toMatchObject({ ok: false, error: { code: 'no-shell' } })
    expect(await handlers['desktop:state']()).toEqual({ deploymentId: null })
    const missing = await handlers['deployments:copy-ip']('deadbeef')
    expect(missing).toMatchObject({ ok: false, error: { code: 'deployment-not-found' } })
  })

  it('passes the desktop layout and pending navigation through, refusing shapes that are not a layout', async () => {
    const { handlers } = await setup()
    // No shell (CLI, tests): nothing to place, nothing pending.
    expect(await handlers['desktop:layout']({ x: 0, y: 36, width: 800, height: 600, covered: false })).toBeNull()
    expect(await handlers['navigate:pending']()).toBeNull()
    for (const bad of [{ x: 0, y: 0, width: 1, height: 1 }, { x: '0', y: 0, width: 1, height: 1, covered: false }, { x: Number.NaN, y: 0, width: 1, height: 1, covered: false }, { x: 0, y: 0, width: 1, height: 1, covered: false, url: 'x' }]) {
      await expect(handlers['desktop:layout'](bad), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidArgumentError)
    }
    await expect(handlers['navigate:pending']('x')).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('keeps the clipboard setting (on by default) and accepts only a boolean', async () => {
    const { handlers } = await setup()
    expect((await handlers['settings:get']()).settings.desktopClipboardRead).toBe(true)
    expect(await handlers['settings:update']({ desktopClipboardRead: false })).toMatchObject({ ok: true, value: { settings: { desktopClipboardRead: false } } })
    await expect(handlers['settings:update']({ desktopClipboardRead: 'no' })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect((await handlers['settings:get']()).settings.desktopClipboardRead).toBe(false)
  })

  it('fetches the catalog with prices and the image that will be used', async () => {
    const { handlers, fake } = await setup()
    await handlers['auth:set-token'](fake.token)
    const catalog = await handlers['catalog:get']()
    expect(catalog.ok).toBe(true)
    if (catalog.ok) {
      expect(catalog.value.regions.some((r) => r.slug === 'nyc3' && r.available)).toBe(true)
      expect(catalog.value.sizes.every((s) => s.priceHourly > 0 && s.priceMonthly > 0)).toBe(true)
      expect(catalog.value.image).toEqual({ slug: 'ubuntu-24-04-x64', source: 'default' })
      expect(catalog.value.defaults).toEqual({ region: 'nyc3', size: 's-2vcpu-4gb' })
    }
  })

  it('tells the app once, in a sentence, that an unreadable data file was kept aside', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-api-'))
    writeFileSync(join(dataDir, 'dictumal.json'), '{ this is not json')
    services = await createAppServices({
      dataDir,
      env: {},
      info: { name: 'Dictumal', version: '0.0.0-test', platform: 'linux', dataDir },
      secrets: new MemorySecrets(),
    })
    const info = await createHandlers(services)['app:info']()
    expect(info.notice).toMatch(/kept aside at .*dictumal\.json\.corrupt-/)
    expect(readdirSync(dataDir).some((f) => f.startsWith('dictumal.json.corrupt-'))).toBe(true)
  })
})
