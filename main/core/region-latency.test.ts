import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createLatencyProbe, handshakeMs, pingTarget } from './region-latency'

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve))
})

async function listener(): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0
  const server = createServer((socket) => {
    accepted += 1
    socket.destroy()
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { port: address.port, accepted: () => accepted }
}

describe('pingTarget', () => {
  it("uses the region's speed-test host only against DigitalOcean's real API", () => {
    expect(pingTarget('nyc3', {})).toEqual({ host: 'speedtest-nyc3.digitalocean.com', port: 443 })
    expect(pingTarget('ams3', { DIGITALOCEAN_API_URL: 'https://api.digitalocean.com' })).toEqual({ host: 'speedtest-ams3.digitalocean.com', port: 443 })
    // A stand-in API (tests, mocks) has no real regions behind it.
    expect(pingTarget('nyc3', { DIGITALOCEAN_API_URL: 'http://127.0.0.1:4010' })).toBeNull()
    expect(pingTarget('nyc3', { DIGITALOCEAN_API_URL: 'not a url' })).toBeNull()
    expect(pingTarget('../etc', {})).toBeNull()
    expect(pingTarget('nyc3', { DICTUMAL_REGION_PING: '127.0.0.1:9' })).toEqual({ host: '127.0.0.1', port: 9 })
  })
})

describe('createLatencyProbe (a real loopback listener)', () => {
  it('measures a handshake, best of two, and caches it for ten minutes', async () => {
    const target = await listener()
    let now = 0
    const probe = createLatencyProbe({ DICTUMAL_REGION_PING: `127.0.0.1:${target.port}` }, { clock: () => now })
    const first = await probe.measure(['nyc3', 'ams3', 'nyc3'])
    expect(Object.keys(first).sort()).toEqual(['ams3', 'nyc3'])
    for (const ms of Object.values(first)) expect(ms).toBeGreaterThanOrEqual(1)
    await expect.poll(target.accepted).toBe(4)
    await probe.measure(['nyc3'])
    expect(target.accepted()).toBe(4)
    now += 10 * 60_000
    await probe.measure(['nyc3'])
    await expect.poll(target.accepted).toBe(6)
  })

  it('answers null when nothing listens, and without probing for a stand-in API', async () => {
    const gone = await listener()
    await new Promise((resolve) => servers.pop()?.close(resolve))
    expect(await handshakeMs({ host: '127.0.0.1', port: gone.port }, 1000)).toBeNull()
    const probe = createLatencyProbe({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:1' })
    expect(await probe.measure(['nyc3'])).toEqual({ nyc3: null })
  })
})
