// The probes against a fake droplet serving the app-made certificate from real user data.
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDeploymentCertificate, type DeploymentCertificate } from '../certificate'
import { generateDeploymentSecrets, type DeploymentSecrets } from '../deployment-secrets'
import { mintLaunchToken } from '../guacamole-token'
import { buildUserData } from '../recipe'
import { startFakeDroplet, type FakeDroplet } from '../../../test/fakes/fake-droplet'
import { fetchBeacon, gatewayAcceptsToken, pinnedAgent, probeGuacamoleHttps, probeTcp } from './probes'

const IP = '127.0.0.213'
const MITM_IP = '127.0.0.214'
let cert: DeploymentCertificate
let secrets: DeploymentSecrets
let good: FakeDroplet
let mitm: FakeDroplet

beforeAll(async () => {
  cert = await generateDeploymentCertificate()
  secrets = generateDeploymentSecrets()
  const userData = buildUserData({ deploymentId: '0b7f5a52-5d6c-4c1e-9d3a-1f2e3d4c5b6a', constitution: { name: 'x', body: 'y' }, secrets, certificate: cert, sshKeys: [] })
  good = await startFakeDroplet({ ip: IP, userData, timeline: { stepMs: 20 } })
  mitm = await startFakeDroplet({ ip: MITM_IP, userData, timeline: { stepMs: 20 }, faults: { wrongCertificate: true } })
  await Promise.all([good.whenReady, mitm.whenReady])
})

afterAll(async () => {
  await good?.close()
  await mitm?.close()
})

describe('pinned HTTPS', () => {
  it('accepts the pinned certificate on every new connection, not only the first (no session resumption)', async () => {
    const agent = pinnedAgent(cert.fingerprint)
    const answers = []
    for (let i = 0; i < 4; i += 1) answers.push(await probeGuacamoleHttps(IP, agent))
    expect(answers).toEqual([true, true, true, true])
    await agent.close()
  })

  it('counts a different certificate as down, and sends it no token', async () => {
    const agent = pinnedAgent(cert.fingerprint)
    expect(await probeGuacamoleHttps(MITM_IP, agent)).toBe(false)
    const token = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() })
    expect(await gatewayAcceptsToken(MITM_IP, agent, token)).toBe(false)
    expect(mitm.record.tokensAccepted).toEqual([])
    expect(mitm.record.tokensRefused).toEqual([])
    expect(mitm.record.requests.filter((r) => r.port === 'https')).toEqual([])
    await agent.close()
  })

  it('has the gateway accept a fresh token, refuse a forged one, and closes the session it opened', async () => {
    const agent = pinnedAgent(cert.fingerprint)
    const token = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() })
    expect(await gatewayAcceptsToken(IP, agent, token)).toBe(true)
    expect(good.record.sessionsDeleted.length).toBe(1)
    const forged = mintLaunchToken({ keyHex: '00'.repeat(16), vncPassword: secrets.vncPassword, now: Date.now() })
    expect(await gatewayAcceptsToken(IP, agent, forged)).toBe(false)
    await agent.close()
  })
})

describe('pinned HTTPS with keepAlive (the engine)', () => {
  it('sends the probe, the token and the logout over one checked connection, and still refuses another certificate', async () => {
    const handshakes = { good: 0, other: 0 }
    const requests = { good: 0, other: 0 }
    const other = await generateDeploymentCertificate()
    const servers = await Promise.all(
      (['good', 'other'] as const).map(async (which) => {
        const served = which === 'good' ? cert : other
        const server = createServer({ cert: served.certPem, key: served.keyPem }, (req, res) => {
          requests[which] += 1
          if (req.method === 'POST') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ authToken: 'A'.repeat(64) }))
          else res.writeHead(req.method === 'DELETE' ? 204 : 200).end()
        })
        server.on('secureConnection', () => (handshakes[which] += 1))
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        return server
      }),
    )
    const [good, wrong] = servers.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`) as [string, string]
    const agent = pinnedAgent(cert.fingerprint, undefined, { keepAlive: true })
    try {
      expect(await probeGuacamoleHttps(good, agent)).toBe(true)
      expect(await gatewayAcceptsToken(good, agent, 'token')).toBe(true)
      expect(await probeGuacamoleHttps(good, agent)).toBe(true)
      expect(handshakes.good).toBe(1)
      expect(requests.good).toBe(4)
      expect(await probeGuacamoleHttps(wrong, agent)).toBe(false)
      expect(await gatewayAcceptsToken(wrong, agent, 'token')).toBe(false)
      expect(requests.other).toBe(0)
    } finally {
      await agent.close()
      for (const s of servers) s.closeAllConnections()
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
    }
  })
})

describe('plain probes', () => {
  it('reads the beacon and sees VNC', async () => {
    const { http80, beacon } = await fetchBeacon(IP)
    expect(http80).toBe(true)
    expect(beacon?.step).toBe('done')
    expect(await probeTcp(IP, 5901)).toBe(true)
    expect(await probeTcp('127.0.0.215', 5901, 300)).toBe(false)
    expect(await fetchBeacon('127.0.0.215', 300)).toEqual({ http80: false, beacon: null })
  })
})
