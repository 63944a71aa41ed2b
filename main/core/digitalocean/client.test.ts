// Client behaviour against the loopback fake DigitalOcean: retries, rate limits, create dedupe and
// the one-sentence errors users see. Time is virtual, so backoff never really waits.
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import type { Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import type { FakeDigitalOcean, FakeDigitalOceanOptions } from '../../../test/fakes/fake-digitalocean'
import { freePort } from '../../../test/contract/prism'
import { DigitalOceanClient, publicIpv4 } from './client'
import type { CreateDropletInput, DigitalOceanClientOptions } from './client'
import { DigitalOceanError, toUserError } from './errors'
import type { Clock } from './rate-budget'

interface VirtualClock extends Clock {
  sleeps: number[]
  advance(ms: number): void
}

function virtualClock(): VirtualClock {
  let now = Date.now()
  const sleeps: number[] = []
  return {
    sleeps,
    now: () => now,
    advance: (ms) => {
      now += ms
    },
    sleep: (ms) => {
      sleeps.push(ms)
      now += ms
      return new Promise((resolve) => setImmediate(resolve))
    },
  }
}

let fake: FakeDigitalOcean
let clock: VirtualClock

async function setUp(options: FakeDigitalOceanOptions = {}): Promise<void> {
  await fake?.close()
  fake = await startFakeDigitalOcean({ activeAfterMs: 20, ...options })
}

function client(extra: Partial<DigitalOceanClientOptions> = {}): DigitalOceanClient {
  return new DigitalOceanClient({ baseUrl: fake.url, token: async () => fake.token, clock, timeoutMs: 2_000, random: () => 0.5, ...extra })
}

function input(deploymentId = 'd1b2c3d4-1111-4222-8333-444455556666', overrides: Partial<CreateDropletInput> = {}): CreateDropletInput {
  return {
    deploymentId,
    name: `dictumal-notes-${deploymentId.slice(0, 8)}`,
    region: 'nyc3',
    size: 's-2vcpu-4gb',
    image: 'ubuntu-24-04-x64',
    userData: '#cloud-config\n',
    sshKeys: [],
    tags: ['dictumal', `dictumal-${deploymentId}`],
    ...overrides,
  }
}

async function failure(promise: Promise<unknown>): Promise<DigitalOceanError> {
  try {
    await promise
  } catch (e) {
    expect(e).toBeInstanceOf(DigitalOceanError)
    return e as DigitalOceanError
  }
  throw new Error('expected the call to fail')
}

const count = (method: string, path: string | RegExp): number =>
  fake.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))).length

beforeEach(async () => {
  clock = virtualClock()
  await setUp()
})

afterEach(async () => {
  await fake.close()
})

describe('reading the account and catalog', () => {
  it('lists regions, sizes with prices, distribution images and SSH keys', async () => {
    const c = client()
    expect((await c.getAccount()).email).toBe('alice@example.com')
    const regions = await c.listRegions()
    expect(regions.find((r) => r.available === false)).toBeDefined()
    const sizes = await c.listSizes()
    expect(sizes.map((s) => [s.slug, s.price_monthly])).toEqual([
      ['s-1vcpu-1gb', 6],
      ['s-2vcpu-4gb', 24],
      ['s-4vcpu-8gb', 48],
    ])
    expect((await c.listDistributionImages()).map((i) => i.slug)).toContain('ubuntu-25-10-x64')
    expect(fake.requests.find((r) => r.path === '/v2/images')?.query.type).toBe('distribution')
    expect((await c.listSshKeys()).map((k) => k.id)).toEqual([512189, 512190])
  })

  it('walks every page of a tag listing, 200 per page', async () => {
    await setUp({ maxPerPage: 2 })
    const c = client()
    for (let i = 0; i < 5; i++) await c.createDroplet(input(`dep-${i}`, { tags: ['dictumal', `dictumal-dep-${i}`] }))
    await c.createDroplet(input('other', { tags: ['someone-else', 'dictumal-other'] }))
    const mine = await c.listDropletsByTag('dictumal')
    expect(mine.map((d) => d.name).sort()).toEqual(['dictumal-notes-dep-0', 'dictumal-notes-dep-1', 'dictumal-notes-dep-2', 'dictumal-notes-dep-3', 'dictumal-notes-dep-4'])
    const listings = fake.requests.filter((r) => r.path === '/v2/droplets' && r.method === 'GET')
    expect(listings.map((r) => [r.query.page, r.query.per_page, r.query.tag_name])).toEqual([
      ['1', '200', 'dictumal'],
      ['2', '200', 'dictumal'],
      ['3', '200', 'dictumal'],
    ])
  })

  it('asks for SSH keys at most once a minute (DigitalOcean allows 10/min)', async () => {
    const c = client()
    await c.listSshKeys()
    await c.listSshKeys()
    expect(count('GET', '/v2/account/keys')).toBe(1)
    clock.advance(61_000)
    await c.listSshKeys()
    expect(count('GET', '/v2/account/keys')).toBe(2)
  })
})

describe('droplet lifecycle', () => {
  it('creates a droplet that turns active and gets a loopback public IPv4', async () => {
    const c = client()
    const created = await c.createDroplet(input('life', { tags: ['dictumal', 'dictumal-life'], sshKeys: ['512189', 'aa:bb'] }))
    expect(created.status).toBe('new')
    expect(publicIpv4(created)).toBeNull()
    expect(fake.droplets.get(created.id)?.sshKeys).toEqual([512189, 'aa:bb'])
    expect(fake.userData.get(created.id)).toBe('#cloud-config\n')
    await new Promise((resolve) => setTimeout(resolve, 30))
    const later = await c.getDroplet(created.id)
    expect(later?.status).toBe('active')
    expect(publicIpv4(later!)).toBe('127.0.0.10')
  })

  it('reports a droplet deleted elsewhere as null, and deleting it again as already gone', async () => {
    const c = client()
    const created = await c.createDroplet(input())
    fake.deleteBehindBack(created.id)
    expect(await c.getDroplet(created.id)).toBeNull()
    expect(await c.deleteDroplet(created.id)).toBe('already-gone')
  })

  it('refuses a create whose tags lack the deployment tag (it could never be found again)', async () => {
    await expect(client().createDroplet(input('abc', { tags: ['dictumal'] }))).rejects.toThrow(/dictumal-abc/)
    expect(fake.requests).toHaveLength(0)
  })
})

describe('never two droplets for one deployment', () => {
  it('"created but answered 500" adopts the droplet instead of making a second', async () => {
    fake.inject({ kind: 'create-then-500', method: 'POST' })
    const droplet = await client().createDroplet(input())
    expect(fake.droplets.size).toBe(1)
    expect(droplet.id).toBe([...fake.droplets.keys()][0])
    expect(count('POST', '/v2/droplets')).toBe(1)
  })

  it('a create that times out is looked up by tag and adopted', async () => {
    fake.inject({ kind: 'slow', delayMs: 400, method: 'POST' })
    const droplet = await client({ timeoutMs: 100 }).createDroplet(input())
    expect(fake.droplets.size).toBe(1)
    expect(droplet.tags).toContain('dictumal-d1b2c3d4-1111-4222-8333-444455556666')
    expect(count('POST', '/v2/droplets')).toBe(1)
  })

  it('a connection reset with nothing created retries the create once', async () => {
    fake.inject({ kind: 'reset', method: 'POST' })
    await client().createDroplet(input())
    expect(fake.droplets.size).toBe(1)
    expect(count('POST', '/v2/droplets')).toBe(2)
  })

  it('gives up after the second uncertain create and leaves nothing behind', async () => {
    fake.inject({ kind: 'server-error', method: 'POST', times: 2 })
    const e = await failure(client().createDroplet(input()))
    expect(e.code).toBe('server-error')
    expect(fake.droplets.size).toBe(0)
    expect(count('POST', '/v2/droplets')).toBe(2)
  })

  it('429 on create waits and retries without a tag lookup (nothing was created)', async () => {
    fake.inject({ kind: 'rate-limit', retryAfterS: 3, method: 'POST', times: 2 })
    await client().createDroplet(input())
    expect(fake.droplets.size).toBe(1)
    expect(count('GET', '/v2/droplets')).toBe(0)
    expect(clock.sleeps.filter((ms) => ms >= 3000)).toHaveLength(2)
  })

  it('422 is final: no lookup, no retry', async () => {
    const e = await failure(client().createDroplet(input('x', { size: 's-4vcpu-8gb', region: 'ams3', tags: ['dictumal-x'] })))
    expect(e.userMessage).toBe('DigitalOcean refused the request: Size is not available in this region.')
    expect(count('POST', '/v2/droplets')).toBe(1)
    expect(count('GET', '/v2/droplets')).toBe(0)
  })
})

describe('politeness', () => {
  it('rides out a 429 storm with retry-after, without extra requests', async () => {
    fake.inject({ kind: 'rate-limit', retryAfterS: 2, method: 'GET', times: 4 })
    const c = client()
    const results = await Promise.all([c.getAccount(), c.listRegions(), c.listSizes()])
    expect(results).toHaveLength(3)
    // Each 429 costs one request; nothing is sent while a retry-after is running.
    expect(fake.requests).toHaveLength(4 + 3)
    expect(Math.min(...clock.sleeps)).toBeGreaterThanOrEqual(2000)
  })

  it('honours ratelimit-reset when a 429 has no retry-after', async () => {
    await setUp({ rateLimit: { limit: 5000, windowMs: 90_000 } })
    fake.inject({ kind: 'rate-limit', withRetryAfter: false, method: 'GET' })
    await client().getAccount()
    // The fake's window resets within 90 s; the wait must come from that header, not from backoff.
    expect(clock.sleeps[0]).toBeGreaterThan(60_000)
    expect(clock.sleeps[0]).toBeLessThanOrEqual(91_000)
  })

  it('slows down as ratelimit-remaining nears zero instead of hitting 429', async () => {
    await setUp({ rateLimit: { limit: 30, windowMs: 60_000 } })
    const c = client()
    for (let i = 0; i < 12; i++) await c.getAccount()
    expect(fake.requests).toHaveLength(12)
    const spaced = clock.sleeps.filter((ms) => ms > 0)
    expect(spaced.length).toBeGreaterThan(0)
    expect(spaced.every((ms) => ms >= 1000 && ms <= 60_000)).toBe(true)
  })

  it('retries GET after 5xx and resets with growing, jittered backoff', async () => {
    fake.inject({ kind: 'server-error', status: 503, method: 'GET', times: 2 })
    fake.inject({ kind: 'reset', method: 'GET' })
    await client({ backoffBaseMs: 100 }).getAccount()
    expect(fake.requests).toHaveLength(4)
    expect(clock.sleeps).toEqual([75, 150, 300])
  })

  it('retries DELETE after a timeout', async () => {
    const c = client({ timeoutMs: 100 })
    const created = await c.createDroplet(input())
    fake.inject({ kind: 'slow', delayMs: 300, method: 'DELETE' })
    expect(await c.deleteDroplet(created.id)).toMatch(/deleted|already-gone/)
    expect(fake.droplets.size).toBe(0)
  })
})

describe('errors users can act on', () => {
  const sentence = async (promise: Promise<unknown>): Promise<{ code: string; message: string }> => {
    const e = await failure(promise)
    return { code: e.code, message: e.userMessage }
  }

  it('401: invalid or revoked token, without the token in the sentence', async () => {
    // Made at test time, shaped like a real token so a leak would be the real thing.
    const token = `dop_v1_${randomBytes(32).toString('hex')}`
    const e = await failure(client({ token: async () => token }).getAccount())
    expect({ code: e.code, message: e.userMessage }).toEqual({
      code: 'invalid-token',
      message: 'DigitalOcean rejected the API token: it is invalid, expired or revoked.',
    })
    expect(JSON.stringify(toUserError(e))).not.toContain(token)
    expect(e.message).not.toContain(token)
  })

  it('403: missing scope', async () => {
    fake.inject({ kind: 'status', status: 403, body: { id: 'forbidden', message: 'You are not authorized to perform this operation' } })
    expect(await sentence(client().listSizes())).toEqual({
      code: 'forbidden',
      message: 'The DigitalOcean token is not allowed to do this: it lacks the needed scope.',
    })
  })

  it('404 on a list: not found', async () => {
    fake.inject({ kind: 'status', status: 404, body: { id: 'not_found', message: 'The resource you were accessing could not be found.' } })
    expect(await sentence(client().listRegions())).toEqual({
      code: 'not-found',
      message: 'DigitalOcean could not find that resource; it may have been deleted.',
    })
  })

  it.each([
    [{ size: 's-64vcpu-1tb' }, 'DigitalOcean refused the request: You specified an invalid size for Droplet creation.'],
    [{ region: 'xyz9' }, 'DigitalOcean refused the request: You specified an invalid region for Droplet creation.'],
    [{ userData: 'x'.repeat(64 * 1024 + 1) }, 'DigitalOcean refused the request: user_data is limited to 64 KiB.'],
  ])('422 %o carries DigitalOcean own words', async (overrides, message) => {
    expect(await sentence(client().createDroplet(input('d', { tags: ['dictumal-d'], ...overrides })))).toEqual({ code: 'invalid-request', message })
  })

  it('422 droplet limit', async () => {
    fake.setDropletLimit(0)
    expect(await sentence(client().createDroplet(input()))).toEqual({
      code: 'droplet-limit',
      message: 'DigitalOcean refused to create the droplet: creating this/these droplet(s) will exceed your droplet limit.',
    })
  })

  it('429 that outlasts the patience says how long to wait', async () => {
    fake.inject({ kind: 'rate-limit', retryAfterS: 600 })
    expect(await sentence(client().getAccount())).toEqual({
      code: 'rate-limited',
      message: 'DigitalOcean is rate limiting this token; try again in about 600 seconds.',
    })
  })

  it('5xx after retries', async () => {
    fake.inject({ kind: 'server-error', times: 3 })
    expect(await sentence(client({ maxRetries: 2 }).getAccount())).toEqual({
      code: 'server-error',
      message: 'DigitalOcean had a server error (HTTP 500); try again in a few minutes.',
    })
    expect(fake.requests).toHaveLength(3)
  })

  it('offline: nothing listens', async () => {
    const port = await freePort()
    expect(await sentence(client({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1 }).getAccount())).toEqual({
      code: 'offline',
      message: 'Could not reach DigitalOcean: this computer seems to be offline.',
    })
  })

  it('DNS failure', async () => {
    // The lookup fails locally: tests never ask a real resolver.
    const dispatcher = new Agent({
      connect: {
        lookup: (_host, _opts, callback) => callback(Object.assign(new Error('getaddrinfo ENOTFOUND api.example.invalid'), { code: 'ENOTFOUND' }), '', 4),
      },
    })
    expect(await sentence(client({ baseUrl: 'http://api.example.invalid', dispatcher, maxRetries: 0 }).getAccount())).toEqual({
      code: 'dns',
      message: 'Could not find the DigitalOcean API server: the name did not resolve.',
    })
    await dispatcher.close()
  })

  describe('TLS', () => {
    let server: Server
    let dir: string
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dictumal-tls-'))
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' })
      server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => res.end('{}'))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    })
    afterEach(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      rmSync(dir, { recursive: true, force: true })
    })
    it('an untrusted certificate is a TLS failure, not retried', async () => {
      const port = (server.address() as AddressInfo).port
      expect(await sentence(client({ baseUrl: `https://127.0.0.1:${port}` }).getAccount())).toEqual({
        code: 'tls',
        message: 'The secure connection to DigitalOcean failed: its certificate could not be verified.',
      })
      expect(clock.sleeps).toEqual([])
    })
  })

  it('timeout', async () => {
    fake.inject({ kind: 'slow', delayMs: 500 })
    expect(await sentence(client({ timeoutMs: 100, maxRetries: 0 }).getAccount())).toEqual({
      code: 'timeout',
      message: 'DigitalOcean did not answer within 1 second.',
    })
  })

  it('garbled JSON and wrong shapes', async () => {
    const c = client()
    const created = await c.createDroplet(input())
    fake.inject({ kind: 'garbled' })
    expect(await sentence(c.getDroplet(created.id))).toEqual({
      code: 'bad-response',
      message: 'DigitalOcean sent a reply Dictumal could not understand (not JSON).',
    })
    fake.inject({ kind: 'status', status: 200, body: { droplet: { id: 'seven' } } })
    expect(await sentence(c.getDroplet(created.id))).toEqual({
      code: 'bad-response',
      message: 'DigitalOcean sent a reply Dictumal could not understand (unexpected fields).',
    })
  })

  it('no token at all', async () => {
    const e = await failure(
      client({
        token: async () => {
          throw new Error('keychain empty')
        },
      }).getAccount(),
    )
    expect(toUserError(e)).toMatchObject({ code: 'digitalocean/no-token', message: 'No DigitalOcean API token is set.' })
    expect(fake.requests).toHaveLength(0)
  })

  it('toUserError adds a hint and hides anything unexpected', () => {
    expect(toUserError(new DigitalOceanError('invalid-token', 'x')).hint).toMatch(/DIGITALOCEAN_API_TOKEN/)
    expect(toUserError(new Error('dop_v1_secret leaked'))).toEqual({
      code: 'digitalocean/unexpected',
      message: 'Something unexpected went wrong while talking to DigitalOcean.',
    })
  })

  it('scrubs a token DigitalOcean might echo back in a 422 message', async () => {
    fake.inject({ kind: 'status', status: 422, body: { id: 'unprocessable_entity', message: `bad token ${fake.token} here` } })
    const e = await failure(client().getAccount())
    expect(e.userMessage).not.toContain(fake.token)
    expect(e.userMessage).toContain('[redacted]')
  })
})
