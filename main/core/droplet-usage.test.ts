// The droplet limit in words, over the real client and handlers against the loopback fake
// DigitalOcean: "You use 1 of 1 droplet", what to do, and every DigitalOcean hint reaching the user.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createHandlers } from './api'
import { createAppServices, type AppServices } from './app-services'
import { DigitalOceanError } from './digitalocean/errors'
import { explainDropletLimit, LIMIT_HINT, LIMIT_INCREASE_URL, limitError, usageSentence } from './droplet-usage'
import { MemorySecrets } from './secrets'
import { toUserError } from './user-error'
import { startFakeDigitalOcean, type FakeDigitalOcean } from '../../test/fakes/fake-digitalocean'
import { runCli } from '../cli/run'

let services: AppServices | null = null
let fake: FakeDigitalOcean | null = null

afterEach(async () => {
  await services?.close()
  await fake?.close()
  services = null
  fake = null
})

async function setup(dropletLimit: number) {
  fake = await startFakeDigitalOcean({ dropletLimit })
  const secrets = new MemorySecrets()
  await secrets.setToken(fake.token)
  const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-usage-'))
  services = await createAppServices({
    dataDir,
    env: { DIGITALOCEAN_API_URL: fake.url },
    info: { name: 'Dictumal', version: '0.0.0-test', platform: 'linux', dataDir },
    secrets,
    client: { timeoutMs: 3000, maxRetries: 0 },
  })
  return { handlers: createHandlers(services), fake }
}

describe('droplet usage', () => {
  it('says how many droplets of the limit are used, in words', () => {
    expect(usageSentence({ used: 10, limit: 10 })).toBe('You use 10 of 10 droplets.')
    expect(usageSentence({ used: 0, limit: 1 })).toBe('You use 0 of 1 droplet.')
    const told = limitError({ used: 3, limit: 3 })
    expect(told.message).toBe('DigitalOcean will not create another droplet: you use 3 of 3 droplets.')
    expect(told.hint).toContain(LIMIT_INCREASE_URL)
    expect(told.hint).toContain('Destroy a desktop you no longer need')
  })

  it('every DigitalOcean error carries its hint through the shared error path', () => {
    const e = new DigitalOceanError('server-error', 'DigitalOcean had a server error (HTTP 503); try again in a few minutes.', { status: 503 })
    expect(toUserError(e)).toEqual({ code: 'server-error', message: e.userMessage, hint: expect.stringContaining('status.digitalocean.com') })
    expect(toUserError(new DigitalOceanError('invalid-token', 'x')).hint).toContain('DIGITALOCEAN_API_TOKEN')
    // Codes without a hint stay without one.
    expect(toUserError(new DigitalOceanError('not-found', 'gone')).hint).toBeUndefined()
  })

  it('counts the account droplets against the limit over the real client', async () => {
    const { handlers, fake } = await setup(2)
    expect(await handlers['account:droplets']()).toEqual({ ok: true, value: { used: 0, limit: 2, atLimit: false } })
    fake.setDropletLimit(0)
    expect(await handlers['account:droplets']()).toEqual({ ok: true, value: { used: 0, limit: 0, atLimit: true } })
  })

  it('a create refused for the limit says "you use 1 of 1 droplet" with what to do, and keeps nothing', async () => {
    const { handlers } = await setup(1)
    const saved = await handlers['constitutions:save']({ name: 'Limit desk', body: '# Hi\n' })
    if (!saved.ok) throw new Error(saved.error.message)
    const first = await handlers['deployments:create']({ constitutionId: saved.value.id, region: 'nyc3', size: 's-1vcpu-1gb' })
    expect(first.ok).toBe(true)
    const second = await handlers['deployments:create']({ constitutionId: saved.value.id, region: 'nyc3', size: 's-1vcpu-1gb' })
    expect(second).toEqual({
      ok: false,
      error: {
        code: 'digitalocean/droplet-limit',
        message: 'DigitalOcean will not create another droplet: you use 1 of 1 droplet.',
        hint: expect.stringContaining(LIMIT_INCREASE_URL),
      },
    })
    expect((await handlers['deployments:list']()).filter((d) => d.status !== 'DESTROYED')).toHaveLength(1)
    expect(await handlers['account:droplets']()).toEqual({ ok: true, value: { used: 1, limit: 1, atLimit: true } })
  })

  it('leaves other errors alone, and keeps DigitalOcean own sentence when the count fails too', async () => {
    const other = new DigitalOceanError('forbidden', 'no')
    const broken = { getAccount: () => Promise.reject(new Error('down')), countDroplets: () => Promise.resolve(1) }
    expect(await explainDropletLimit(other, broken)).toBe(other)
    const limit = new DigitalOceanError('droplet-limit', 'DigitalOcean refused to create the droplet: creating this droplet will exceed your droplet limit.')
    const told = toUserError(await explainDropletLimit(limit, broken))
    expect(told.message).toBe(limit.userMessage)
    expect(told.hint).toContain(LIMIT_INCREASE_URL)
  })

  it('the CLI prints the same sentence and what to do on stderr', async () => {
    fake = await startFakeDigitalOcean({ dropletLimit: 0 })
    const secrets = new MemorySecrets()
    await secrets.setToken(fake.token)
    const env = { DIGITALOCEAN_API_URL: fake.url, DICTUMAL_DATA_DIR: mkdtempSync(join(tmpdir(), 'dictumal-usage-cli-')), PATH: process.env.PATH ?? '' }
    const out: string[] = []
    const err: string[] = []
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env, secrets }
    expect(await runCli(['constitution', 'add', '--name', 'Cli desk'], io)).toBe(0)
    expect(await runCli(['deploy', '--constitution', 'Cli desk'], io)).toBe(1)
    expect(err.join('')).toBe(`DigitalOcean will not create another droplet: you use 0 of 0 droplets.\n${LIMIT_HINT}\n`)
  })
})

