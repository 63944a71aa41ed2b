// Revoking the embedded view's Guacamole session against a fake droplet on loopback, which serves the
// deployment's own certificate on 443 and Guacamole's token and session API.
import { randomUUID } from 'node:crypto'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeDroplet, type FakeDroplet } from '../../test/fakes/fake-droplet'
import { generateDeploymentCertificate } from './certificate'
import { generateDeploymentSecrets, type DeploymentSecrets } from './deployment-secrets'
import { guacamoleTokenFrom, revokeGuacamoleSession, SessionTokenTracker } from './guacamole-session'
import { mintLaunchToken } from './guacamole-token'
import { buildUserData } from './recipe'

const IP = '127.0.0.231'
const insecure = new Agent({ connect: { rejectUnauthorized: false } })
let droplet: FakeDroplet
let secrets: DeploymentSecrets

/** Logs in the way Guacamole's web client does; returns its auth token. */
async function login(): Promise<string> {
  const res = await request(`https://${IP}/guacamole/api/tokens`, {
    method: 'POST',
    dispatcher: insecure,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ data: mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() }) }).toString(),
  })
  const body = (await res.body.json()) as { authToken: string }
  return body.authToken
}

describe('revokeGuacamoleSession', () => {
  beforeAll(async () => {
    const certificate = await generateDeploymentCertificate()
    secrets = generateDeploymentSecrets()
    const userData = buildUserData({
      deploymentId: randomUUID(),
      constitution: { name: 'Session revoke test', body: '' },
      secrets,
      certificate: { certPem: certificate.certPem, keyPem: certificate.keyPem },
    })
    droplet = await startFakeDroplet({ ip: IP, userData, timeline: { stepMs: 10 } })
    await droplet.whenReady
  })

  afterAll(async () => {
    await droplet?.close()
    await insecure.close()
  })

  it('ends the session over the pinned connection, once', async () => {
    const token = await login()
    const target = { ip: IP, port: 443, fingerprint: droplet.servedFingerprint }
    expect(await revokeGuacamoleSession(target, token)).toBe('revoked')
    expect(droplet.record.sessionsDeleted).toContain(token)
    expect(await revokeGuacamoleSession(target, token)).toBe('already-gone')
  })

  it('sends nothing to a gateway whose certificate is not the pinned one', async () => {
    const token = await login()
    const other = await generateDeploymentCertificate()
    const before = droplet.record.requests.filter((r) => r.method === 'DELETE').length
    expect(await revokeGuacamoleSession({ ip: IP, port: 443, fingerprint: other.fingerprint }, token)).toBe('failed')
    expect(droplet.record.sessionsDeleted).not.toContain(token)
    expect(droplet.record.requests.filter((r) => r.method === 'DELETE').length).toBe(before)
  })

  it('reports an unreachable gateway as failed, without throwing', async () => {
    expect(await revokeGuacamoleSession({ ip: '127.0.0.232', port: 443, fingerprint: droplet.servedFingerprint }, 'A'.repeat(64), { timeoutMs: 500 })).toBe('failed')
  })
})

describe('SessionTokenTracker', () => {
  const pin = { ip: IP, port: 443 }
  const token = 'ABCDEF0123456789'.repeat(4)

  it('keeps the newest token each view sent to the pinned Guacamole API, and hands it out once', () => {
    const tracker = new SessionTokenTracker(pin)
    tracker.observe({ url: `https://${IP}/guacamole/api/session/data/json/connections`, webContentsId: 7, requestHeaders: { 'Guacamole-Token': 'OLD'.padEnd(64, '0') } })
    tracker.observe({ url: `https://${IP}/guacamole/api/patches`, webContentsId: 7, requestHeaders: { 'guacamole-token': token } })
    expect(tracker.takeAll()).toEqual([token])
    expect(tracker.takeAll()).toEqual([])
  })

  it('hands out every distinct token of the partition at once, for when its last view closes', () => {
    const tracker = new SessionTokenTracker(pin)
    const url = `https://${IP}/guacamole/api/session/data/json/connections`
    tracker.observe({ url, webContentsId: 1, requestHeaders: { 'Guacamole-Token': token } })
    tracker.observe({ url, webContentsId: 2, requestHeaders: { 'Guacamole-Token': token } })
    tracker.observe({ url, webContentsId: 3, requestHeaders: { 'Guacamole-Token': 'B'.repeat(64) } })
    expect(tracker.takeAll().sort()).toEqual([token, 'B'.repeat(64)].sort())
    expect(tracker.takeAll()).toEqual([])
  })

  it('ignores other origins, other paths, requests without a view, and values that are not tokens', () => {
    const tracker = new SessionTokenTracker(pin)
    tracker.observe({ url: `https://127.0.0.99/guacamole/api/x`, webContentsId: 1, requestHeaders: { 'Guacamole-Token': token } })
    tracker.observe({ url: `https://${IP}:8443/guacamole/api/x`, webContentsId: 1, requestHeaders: { 'Guacamole-Token': token } })
    tracker.observe({ url: `https://${IP}/other/api/x`, webContentsId: 1, requestHeaders: { 'Guacamole-Token': token } })
    tracker.observe({ url: `https://${IP}/guacamole/api/x`, requestHeaders: { 'Guacamole-Token': token } })
    tracker.observe({ url: `https://${IP}/guacamole/api/x`, webContentsId: 1, requestHeaders: { 'Guacamole-Token': 'a b; c' } })
    expect(tracker.takeAll()).toEqual([])
  })

  it('reads the header whatever its case', () => {
    expect(guacamoleTokenFrom({ 'GUACAMOLE-TOKEN': token })).toBe(token)
    expect(guacamoleTokenFrom({ accept: 'application/json' })).toBeNull()
  })
})
