// The fake droplet must behave like the real one as the engine sees it from outside: the beacon, ports
// coming up in order, the app's own certificate on 443, and Guacamole accepting only the app's tokens.
import { createHash, randomUUID } from 'node:crypto'
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { Agent, request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { generateDeploymentCertificate, type DeploymentCertificate } from '../../main/core/certificate'
import { generateDeploymentSecrets, type DeploymentSecrets } from '../../main/core/deployment-secrets'
import { mintLaunchToken } from '../../main/core/guacamole-token'
import { BEACON_STEPS, buildUserData, parseBeacon } from '../../main/core/recipe'
import { startFakeCloud } from './droplet-farm'
import type { FakeDigitalOcean } from './fake-digitalocean'
import { startFakeDroplet, type FakeDroplet } from './fake-droplet'

const IP = '127.0.0.201'
const OTHER_IP = '127.0.0.202'

const insecure = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 10 })
afterAll(() => insecure.close())

let certificate: DeploymentCertificate
let secrets: DeploymentSecrets
let userData: string

beforeAll(async () => {
  certificate = await generateDeploymentCertificate()
  secrets = generateDeploymentSecrets()
  userData = buildUserData({
    deploymentId: randomUUID(),
    constitution: { name: 'Fake droplet test', body: '# Be kind\n' },
    secrets,
    certificate: { certPem: certificate.certPem, keyPem: certificate.keyPem },
  })
})

const started: FakeDroplet[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.close()))
})

async function boot(options: Omit<Parameters<typeof startFakeDroplet>[0], 'userData'> & { userData?: string }): Promise<FakeDroplet> {
  const droplet = await startFakeDroplet({ userData, ...options })
  started.push(droplet)
  return droplet
}

async function getJson(url: string): Promise<{ status: number; body: unknown; headers: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: insecure, headersTimeout: 2000, bodyTimeout: 2000 })
  const text = await res.body.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.statusCode, body, headers: res.headers }
}

async function beaconOf(ip: string): Promise<NonNullable<ReturnType<typeof parseBeacon>>> {
  const { status, body } = await getJson(`http://${ip}/dictumal/status.json`)
  expect(status).toBe(200)
  const beacon = parseBeacon(body)
  if (beacon === null) throw new Error(`not a beacon: ${JSON.stringify(body)}`)
  return beacon
}

/** 'open' when something accepts a TCP connection, 'refused' otherwise. Resolves with the first bytes too. */
function tcpProbe(ip: string, port: number): Promise<{ state: 'open' | 'refused'; greeting: string }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: ip, port })
    let greeting = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ state: 'open', greeting })
    }, 300)
    socket.on('data', (chunk) => {
      greeting += chunk.toString('latin1')
      clearTimeout(timer)
      socket.destroy()
      resolve({ state: 'open', greeting })
    })
    socket.on('error', () => {
      clearTimeout(timer)
      resolve({ state: 'refused', greeting })
    })
  })
}

function servedFingerprint(ip: string, port = 443): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: ip, port, rejectUnauthorized: false }, () => {
      const der = socket.getPeerCertificate().raw
      socket.destroy()
      resolve(`sha256/${createHash('sha256').update(der).digest('base64')}`)
    })
    socket.on('error', reject)
  })
}

async function postToken(ip: string, token: string): Promise<{ status: number; body: unknown }> {
  const res = await request(`https://${ip}/guacamole/api/tokens`, {
    method: 'POST',
    dispatcher: insecure,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ data: token }).toString(),
  })
  return { status: res.statusCode, body: await res.body.json() }
}

describe('fake droplet', () => {
  it('plays the boot: beacon steps in order, VNC, Guacamole, then the gateway with the app certificate', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 60 } })
    const first = await beaconOf(IP)
    expect(first).toMatchObject({ v: 1, step: 'boot', checks: { vnc5901: false, guacHttp8080: false }, failed: null })
    expect(await tcpProbe(IP, 5901)).toMatchObject({ state: 'refused' })
    expect(await tcpProbe(IP, 8080)).toMatchObject({ state: 'refused' })
    // Before Nginx, port 80 is only the beacon server: no redirect yet.
    expect((await getJson(`http://${IP}/guacamole/`)).status).toBe(404)

    const seen: string[] = []
    while (!droplet.timestamps.gatewayUpAt) {
      const { step } = await beaconOf(IP)
      if (seen.at(-1) !== step) seen.push(step)
      await new Promise((r) => setTimeout(r, 15))
    }
    await droplet.whenReady
    // Polling may skip a step, never reorder one.
    const order = seen.map((s) => (BEACON_STEPS as readonly string[]).indexOf(s))
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(seen.length).toBeGreaterThan(4)

    const vnc = await tcpProbe(IP, 5901)
    expect(vnc.state).toBe('open')
    expect(vnc.greeting).toMatch(/^RFB 003\.00\d\n/)
    expect((await getJson(`http://${IP}:8080/guacamole/`)).status).toBe(200)

    const ts = droplet.timestamps
    expect(ts.vncUpAt).not.toBeNull()
    expect(ts.vncUpAt!).toBeLessThanOrEqual(ts.guacamoleUpAt!)
    expect(ts.guacamoleUpAt!).toBeLessThanOrEqual(ts.gatewayUpAt!)

    expect(await servedFingerprint(IP)).toBe(certificate.fingerprint)
    expect(droplet.servedFingerprint).toBe(certificate.fingerprint)

    const redirect = await getJson(`http://${IP}/guacamole/?data=x`)
    expect(redirect.status).toBe(301)
    expect(redirect.headers.location).toBe(`https://${IP}/guacamole/?data=x`)

    const overHttps = await getJson(`https://${IP}/dictumal/status.json`)
    expect(parseBeacon(overHttps.body)).not.toBeNull()
    await droplet.whenStep('done')
    const last = await beaconOf(IP)
    expect(last).toMatchObject({ step: 'done', checks: { vnc5901: true, guacHttp8080: true }, failed: null })
    expect(droplet.record.requests.some((r) => r.port === 'http' && r.path === '/dictumal/status.json')).toBe(true)
    expect(droplet.record.vncConnections).toBeGreaterThanOrEqual(1)
  })

  it('accepts only fresh tokens made with the key from the user data, and records sessions', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 1 } })
    await droplet.whenReady
    const now = Date.now()

    const good = await postToken(IP, mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now }))
    expect(good.status).toBe(200)
    const session = good.body as { authToken: string; username: string; dataSource: string; availableDataSources: string[] }
    expect(session).toMatchObject({ username: 'dictumal', dataSource: 'json', availableDataSources: ['json'] })
    expect(session.authToken).toMatch(/^[0-9A-F]{64}$/)

    const otherKey = generateDeploymentSecrets().guacamoleKey
    const forged = await postToken(IP, mintLaunchToken({ keyHex: otherKey, vncPassword: secrets.vncPassword, now }))
    expect(forged).toEqual({ status: 403, body: { message: 'Permission denied.', type: 'INVALID_CREDENTIALS' } })

    const stale = await postToken(
      IP,
      mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: now - 6 * 60_000 }),
    )
    expect(stale.status).toBe(403)

    const logout = await request(`https://${IP}/guacamole/api/session`, {
      method: 'DELETE',
      dispatcher: insecure,
      headers: { 'guacamole-token': session.authToken },
    })
    await logout.body.dump()
    expect(logout.statusCode).toBe(204)
    const again = await request(`https://${IP}/guacamole/api/session?token=${session.authToken}`, { method: 'DELETE', dispatcher: insecure })
    await again.body.dump()
    expect(again.statusCode).toBe(403)

    expect(droplet.record.tokensAccepted).toHaveLength(1)
    expect(droplet.record.tokensRefused.map((r) => r.reason)).toEqual(['bad-signature', 'expired'])
    expect(droplet.record.sessionsCreated).toEqual([session.authToken])
    expect(droplet.record.sessionsDeleted).toEqual([session.authToken])
  })

  it('reports the last desktop activity in its beacon: null before any session, now while one is open, its end after', async () => {
    let clock = Date.parse('2026-12-01T10:00:00Z')
    const droplet = await boot({ ip: IP, now: () => clock, timeline: { stepMs: 1 } })
    await droplet.whenReady
    expect((await beaconOf(IP)).lastActivityAt).toBeNull()
    const opened = await postToken(IP, mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: clock }))
    const { authToken } = opened.body as { authToken: string }
    clock += 90_000
    expect((await beaconOf(IP)).lastActivityAt).toBe('2026-12-01T10:01:30Z')
    const closed = await request(`https://${IP}/guacamole/api/session`, { method: 'DELETE', dispatcher: insecure, headers: { 'guacamole-token': authToken } })
    await closed.body.dump()
    clock += 10 * 60_000
    expect((await beaconOf(IP)).lastActivityAt).toBe('2026-12-01T10:01:30Z')
  })

  it('leaves lastActivityAt out of the beacon when it models an older droplet', async () => {
    const droplet = await boot({ ip: IP, reportsActivity: false, timeline: { stepMs: 1 } })
    await droplet.whenReady
    expect((await beaconOf(IP)).lastActivityAt).toBeUndefined()
  })

  it('refuses a second use of a launch token, as Guacamole does for singleUse, while a fresh one still works', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 1 } })
    await droplet.whenReady
    const token = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() })
    expect((await postToken(IP, token)).status).toBe(200)
    expect(await postToken(IP, token)).toEqual({ status: 403, body: { message: 'Permission denied.', type: 'INVALID_CREDENTIALS' } })
    const fresh = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() })
    expect((await postToken(IP, fresh)).status).toBe(200)
    expect(droplet.record.tokensAccepted.map((t) => t.singleUse)).toEqual([true, true])
    expect(droplet.record.tokensRefused.map((r) => r.reason)).toEqual(['single-use-replayed'])
  })

  it('serves the Guacamole page with its script as a same-origin file under a strict CSP', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 1 } })
    await droplet.whenReady
    const page = await getJson(`https://${IP}/guacamole/?data=abc`)
    expect(page.status).toBe(200)
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'")
    const html = String(page.body)
    expect(html).toContain('id="status"')
    const src = /<script src="([^"]+)"/.exec(html)?.[1]
    expect(src).toBeDefined()
    expect(html).not.toMatch(/<script>/)
    const script = await getJson(`https://${IP}${src}`)
    expect(script.status).toBe(200)
    expect(String(script.headers['content-type'])).toMatch(/javascript/)
    expect(String(script.body)).toContain('/guacamole/api/tokens')
  })

  it('runs the page in Chromium: connects with a good token, denies a forged one', async (ctx) => {
    const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
    if (!existsSync(executablePath)) {
      if (process.env.CI) throw new Error(`Chromium is not at ${executablePath}; set CHROMIUM_PATH`)
      ctx.skip(`Chromium is not at ${executablePath}; set CHROMIUM_PATH to run this test`)
    }
    const droplet = await boot({ ip: IP, timeline: { stepMs: 1 } })
    await droplet.whenReady
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] })
    try {
      const page = await browser.newPage({ ignoreHTTPSErrors: true })
      const violations: string[] = []
      page.on('console', (m) => {
        if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text())
      })
      const token = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() })
      await page.goto(`https://${IP}/guacamole/?data=${encodeURIComponent(token)}`)
      await expect.poll(() => page.locator('#status').textContent(), { timeout: 5000 }).toBe("Connected to dictumal's desktop")
      expect(page.url()).not.toContain('data=')
      const forged = mintLaunchToken({ keyHex: generateDeploymentSecrets().guacamoleKey, vncPassword: 'x', now: Date.now() })
      await page.goto(`https://${IP}/guacamole/?data=${encodeURIComponent(forged)}`)
      await expect.poll(() => page.locator('#status').textContent(), { timeout: 5000 }).toBe('Access denied')
      expect(violations).toEqual([])
      expect(droplet.record.tokensAccepted).toHaveLength(1)
      expect(droplet.record.tokensRefused).toHaveLength(1)
    } finally {
      await browser.close()
    }
  })

  it('serves its setup log on 443 from the start of setup, to the log key only, growing step by step', async () => {
    // The key the recipe wrote into the user data, as a droplet finds it.
    const logKey = secrets.logKey ?? ''
    expect(logKey).toMatch(/^[0-9a-f]{64}$/)
    const droplet = await boot({ ip: IP, timeline: { paused: true, stepMs: 5 } })
    const fresh = new Agent({ connect: { rejectUnauthorized: false } })
    onTestFinished(() => fresh.close())
    const read = async (key: string, range?: string) => {
      const headers: Record<string, string> = { authorization: `Bearer ${key}` }
      if (range) headers.range = range
      const res = await request(`https://${IP}/dictumal/setup-log`, { dispatcher: fresh, headers })
      return { status: res.statusCode, text: await res.body.text(), range: res.headers['content-range'] }
    }
    const first = await read(logKey)
    expect(first.status).toBe(200)
    expect(first.text).toMatch(/^==> \S+ step boot\n$/)
    expect(await read('e5'.repeat(32))).toMatchObject({ status: 404, text: 'Not found\n' })
    // Nothing else on 443 before Nginx.
    expect((await getJson(`https://${IP}/guacamole/`)).status).toBe(404)
    droplet.controls.goTo('install-packages')
    await droplet.whenStep('install-packages')
    const later = await read(logKey)
    expect(later.text.startsWith(first.text)).toBe(true)
    expect(later.text).toContain('step install-packages')
    const tail = await read(logKey, 'bytes=-20')
    expect(tail.status).toBe(206)
    expect(tail.text).toBe(later.text.slice(-20))
    expect(tail.range).toBe(`bytes ${Buffer.byteLength(later.text) - 20}-${Buffer.byteLength(later.text) - 1}/${Buffer.byteLength(later.text)}`)
    expect(droplet.setupLog()).toBe(later.text)
  })

  it('serves no setup log without a key in its user data (older recipes): 404 for everyone', async () => {
    const { logKey: _none, ...older } = secrets
    const withoutKey = buildUserData({
      deploymentId: randomUUID(),
      constitution: { name: 'Older keychain entry', body: '# Be kind\n' },
      secrets: older,
      certificate: { certPem: certificate.certPem, keyPem: certificate.keyPem },
    })
    await boot({ ip: IP, userData: withoutKey, timeline: { stepMs: 5 } })
    // A fresh connection: the shared agent may still hold one to the previous droplet on this address.
    const fresh = new Agent({ connect: { rejectUnauthorized: false } })
    const res = await request(`https://${IP}/dictumal/setup-log`, { dispatcher: fresh, headers: { authorization: 'Bearer ' } })
    expect(res.statusCode).toBe(404)
    await res.body.dump()
    await fresh.close()
  })

  it('serves a different certificate when a man in the middle answers', async () => {
    const droplet = await boot({ ip: OTHER_IP, faults: { wrongCertificate: true }, timeline: { stepMs: 1 } })
    await droplet.whenReady
    const served = await servedFingerprint(OTHER_IP)
    expect(served).not.toBe(certificate.fingerprint)
    expect(served).toBe(droplet.servedFingerprint)
  })

  it('reports a failed step in the beacon and stops the boot', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 20 }, faults: { failStep: { step: 'start-guacamole', exitCode: 42 } } })
    await expect(droplet.whenReady).rejects.toThrow(/start-guacamole.*42/)
    const beacon = await beaconOf(IP)
    expect(beacon).toMatchObject({ step: 'start-guacamole', failed: { step: 'start-guacamole', exitCode: 42 } })
    expect(beacon.checks).toEqual({ vnc5901: true, guacHttp8080: false })
    await new Promise((r) => setTimeout(r, 80))
    expect((await beaconOf(IP)).step).toBe('start-guacamole')
    expect(await tcpProbe(IP, 8080)).toMatchObject({ state: 'refused' })
    // 443 is only the setup log's server: no gateway behind it.
    expect((await getJson(`https://${IP}/guacamole/`)).status).toBe(404)
  })

  it('stalls forever with neverFinish, before the gateway comes up', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 5 }, faults: { neverFinish: true } })
    await droplet.whenStep('configure-https')
    await new Promise((r) => setTimeout(r, 100))
    const beacon = await beaconOf(IP)
    expect(beacon).toMatchObject({ step: 'configure-https', failed: null, checks: { vnc5901: true, guacHttp8080: true } })
    expect(droplet.timestamps.gatewayUpAt).toBeNull()
    expect((await getJson(`https://${IP}/guacamole/`)).status).toBe(404)
  })

  it('keeps 5901 and 8080 closed from outside when firewalled, while the beacon still reports them', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 1 }, faults: { firewalled: true } })
    await droplet.whenReady
    await droplet.whenStep('done')
    expect((await beaconOf(IP)).checks).toEqual({ vnc5901: true, guacHttp8080: true })
    expect((await tcpProbe(IP, 5901)).state).toBe('refused')
    expect((await tcpProbe(IP, 8080)).state).toBe('refused')
    expect((await tcpProbe(IP, 443)).state).toBe('open')
  })

  it('can be driven by hand: pause, advance, goTo, resume', async () => {
    const droplet = await boot({ ip: IP, timeline: { paused: true, stepMs: 5 } })
    await new Promise((r) => setTimeout(r, 40))
    expect((await beaconOf(IP)).step).toBe('boot')
    droplet.controls.advance()
    await droplet.whenStep('create-user')
    expect((await beaconOf(IP)).step).toBe('create-user')
    droplet.controls.goTo('start-guacamole')
    await droplet.whenStep('start-guacamole')
    expect(await beaconOf(IP)).toMatchObject({ step: 'start-guacamole', checks: { vnc5901: true, guacHttp8080: false } })
    expect((await tcpProbe(IP, 5901)).state).toBe('open')
    expect((await tcpProbe(IP, 8080)).state).toBe('refused')
    droplet.controls.resume()
    await droplet.whenReady
    expect(droplet.timestamps.gatewayUpAt).not.toBeNull()
  })

  it('close() frees every port at once, even with connections open', async () => {
    const droplet = await boot({ ip: IP, timeline: { stepMs: 1 } })
    await droplet.whenReady
    const held = netConnect({ host: IP, port: 5901 })
    held.on('error', () => undefined)
    await new Promise((r) => held.once('connect', r))
    const t0 = Date.now()
    await droplet.close()
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(droplet.closed).toBe(true)
    expect((await tcpProbe(IP, 80)).state).toBe('refused')
    const again = await boot({ ip: IP, timeline: { stepMs: 1 } })
    await again.whenReady
    expect((await beaconOf(IP)).failed).toBeNull()
  })

  it('close() during a boot step that is binding ports still leaves the address free', async () => {
    const droplet = await boot({ ip: IP, timeline: { paused: true } })
    droplet.controls.goTo('done')
    await droplet.close()
    const again = await boot({ ip: IP, timeline: { stepMs: 1 } })
    await again.whenReady
    expect((await tcpProbe(IP, 5901)).state).toBe('open')
  })

  it('refuses to start when its address is taken, and says which', async () => {
    await boot({ ip: IP, timeline: { paused: true } })
    await expect(startFakeDroplet({ ip: IP, userData })).rejects.toThrow(/127\.0\.0\.201:80/)
  })
})

describe('droplet farm', () => {
  async function createDroplet(cloud: FakeDigitalOcean, name: string): Promise<number> {
    const res = await request(`${cloud.url}/v2/droplets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cloud.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, region: 'nyc3', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64', user_data: userData, tags: ['dictumal'] }),
    })
    expect(res.statusCode).toBe(202)
    return ((await res.body.json()) as { droplet: { id: number } }).droplet.id
  }

  it('boots a fake droplet per created droplet once it has an IP, and stops it when deleted by API or behind the back', async () => {
    const { digitalOcean: cloud, farm, close } = await startFakeCloud({
      digitalOcean: { activeAfterMs: 20, ipAfterMs: 300 },
      farm: { dropletOptions: () => ({ timeline: { stepMs: 2 } }) },
    })
    try {
      const first = await createDroplet(cloud, 'dictumal-farm-one')
      const second = await createDroplet(cloud, 'dictumal-farm-two')
      const ip = cloud.droplets.get(first)?.ip ?? ''
      expect(ip).toMatch(/^127\.(?!0\.0\.1$)/)
      // No IP in the API yet, so nothing may answer on it.
      expect(farm.droplets.has(first)).toBe(false)
      expect((await tcpProbe(ip, 80)).state).toBe('refused')

      const one = await farm.whenStarted(first)
      const two = await farm.whenStarted(second)
      expect(one.ip).toBe(ip)
      expect(two.ip).not.toBe(one.ip)
      await Promise.all([one.whenReady, two.whenReady])
      expect(await servedFingerprint(one.ip)).toBe(certificate.fingerprint)

      expect(cloud.deleteBehindBack(first)).toBe(true)
      const gone = await request(`${cloud.url}/v2/droplets/${second}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${cloud.token}` },
      })
      await gone.body.dump()
      expect(gone.statusCode).toBe(204)
      await expect.poll(() => one.closed && two.closed, { timeout: 1000 }).toBe(true)
      expect(farm.droplets.size).toBe(0)
      expect((await tcpProbe(one.ip, 80)).state).toBe('refused')
      expect((await tcpProbe(two.ip, 443)).state).toBe('refused')
    } finally {
      await close()
    }
  })
})
