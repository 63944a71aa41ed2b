// The engine against real parts: a fake DigitalOcean behind Prism (the official contract), fake
// droplets booting on 127.x addresses with the certificate and key from the user data the app sent,
// a real store on disk. Only the keychain is in memory here (the CLI tests use the real one).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Deployment } from '../../../preload/contract'
import { createAppServices, type AppServices } from '../app-services'
import { verifyGuacamoleToken } from '../guacamole-token'
import { MemorySecrets } from '../secrets'
import { createConstitution, updateSettings } from '../store'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { startFakeCloud, type FakeCloud } from '../../../test/fakes/droplet-farm'
import type { FakeDropletOptions } from '../../../test/fakes/fake-droplet'
import { unexplainedViolations, viaPrism } from '../../../test/contract/via-prism'
import { requireTool } from '../recipe/testing/require-tool'
import { INIT_LOG } from './engine'
import { STAGES } from './progress'

interface Rig {
  cloud: FakeCloud
  services: AppServices
  secrets: MemorySecrets
  history: Deployment[][]
  clockOffset: { ms: number }
  constitutionId: string
}

const rigs: Rig[] = []

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    await rig.services.close()
    await rig.cloud.close()
  }
})

async function rig(
  droplet: Omit<FakeDropletOptions, 'ip' | 'userData'> = {},
  engine: { configuringTimeoutMs?: number } = {},
  env: Record<string, string> = {},
): Promise<Rig> {
  const cloud = await startFakeCloud({
    digitalOcean: { activeAfterMs: 150, ipAfterMs: 300 },
    farm: { dropletOptions: () => ({ timeline: { stepMs: 60 }, ...droplet }) },
  })
  const secrets = new MemorySecrets()
  const clockOffset = { ms: 0 }
  const services = await createAppServices({
    dataDir: mkdtempSync(join(tmpdir(), 'dictumal-engine-')),
    env: { DIGITALOCEAN_API_URL: await viaPrism(cloud.digitalOcean), DIGITALOCEAN_API_TOKEN: cloud.digitalOcean.token, ...env },
    info: { name: 'Dictumal', version: 'test', platform: process.platform, dataDir: '' },
    secrets,
    client: { timeoutMs: 5000 },
    engine: {
      probeIntervalMs: 100,
      cloudIntervalMs: { first: 100, max: 300 },
      clock: { now: () => Date.now() + clockOffset.ms },
      ...engine,
    },
  })
  const history: Deployment[][] = []
  services.store.onChange((data) => history.push(data.deployments.map((d) => ({ ...d }))))
  const made = await createConstitution(services.store, { name: 'Research Desk', body: '# Be kind\n' })
  if (!made.ok) throw new Error(made.error.message)
  const r = { cloud, services, secrets, history, clockOffset, constitutionId: made.value.id }
  rigs.push(r)
  return r
}

function until(r: Rig, id: string, test: (d: Deployment) => boolean, timeoutMs = 15_000): Promise<Deployment> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const d = r.services.store.read().deployments.find((x) => x.id === id)
      if (d && test(d)) {
        off()
        clearTimeout(timer)
        resolve({ ...d })
        return true
      }
      return false
    }
    const off = r.services.store.onChange(() => void check())
    const timer = setTimeout(() => {
      off()
      const d = r.services.store.read().deployments.find((x) => x.id === id)
      reject(new Error(`timed out; last seen ${JSON.stringify(d && { status: d.status, stage: d.stage, checks: d.checks, error: d.error })}`))
    }, timeoutMs)
    check()
  })
}

function trail(r: Rig, id: string): Deployment[] {
  return r.history.map((list) => list.find((d) => d.id === id)).filter((d): d is Deployment => d !== undefined)
}

describe('engine', () => {
  it('takes a deployment through every stage to ACTIVE, percent never going back', async () => {
    const r = await rig()
    r.services.engine.start()
    const created = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    expect(created.status).toBe('PROVISIONING')
    expect(created.certFingerprint).toMatch(/^sha256\/[A-Za-z0-9+/]{43}=$/)
    const active = await until(r, created.id, (d) => d.status === 'ACTIVE')
    expect(active.percent).toBe(100)
    expect(active.activeAt).not.toBeNull()
    expect(active.checks.guacHttps443).toBe(true)

    const seen = trail(r, created.id)
    const percents = seen.map((d) => d.percent)
    expect(percents).toEqual([...percents].sort((a, b) => a - b))
    const stages = [...new Set(seen.map((d) => d.stage))]
    expect(stages).toEqual(STAGES.filter((s) => stages.includes(s)))
    expect(stages[0]).toBe('provisioning-droplet')
    expect(stages.at(-1)).toBe('active')
    // The fake droplet boots faster than the probe interval, so early stages may pass unseen; the
    // gateway stages are always shown.
    expect(stages).toEqual(expect.arrayContaining(['installing-packages', 'final-health-check', 'active']))

    // Exactly one droplet, created once, and the gateway saw a freshly minted token, then the session closed.
    expect(r.cloud.digitalOcean.droplets.size).toBe(1)
    expect(r.cloud.digitalOcean.requests.filter((q) => q.method === 'POST' && q.path === '/v2/droplets')).toHaveLength(1)
    const droplet = await r.cloud.farm.whenStarted(active.dropletId ?? -1)
    expect(droplet.record.tokensAccepted.length).toBeGreaterThan(0)
    expect(droplet.record.tokensAccepted.every((t) => t.singleUse)).toBe(true)
    // The test session is closed in the background once the token is accepted (ACTIVE does not wait for it).
    await expect.poll(() => droplet.record.sessionsDeleted.length).toBeGreaterThan(0)
    // TigerVNC black-marks every new connection (5 → its address is refused, guacd's too): nothing of ours connects.
    expect(droplet.record.vncConnections).toBe(0)
    expect(await unexplainedViolations(r.cloud.digitalOcean)).toEqual([])

    // A fresh launch URL for the IP opens a session on the gateway.
    const url = new URL(await r.services.engine.launchUrl(created.id.slice(0, 6), { target: 'ip' }))
    expect(url.host).toBe(active.ip)
    expect(url.searchParams.get('data')).toBeTruthy()
    // The launch token is single use and lives five minutes (SPEC §5).
    const keys = await r.secrets.getDeploymentSecrets(created.id)
    const payload = verifyGuacamoleToken(url.searchParams.get('data') ?? '', keys?.guacamoleKey ?? '', Date.now())
    expect(payload).toMatchObject({ singleUse: true, expires: expect.any(Number) })
    expect((payload.expires ?? 0) - Date.now()).toBeGreaterThan(4 * 60_000)
    expect((payload.expires ?? 0) - Date.now()).toBeLessThanOrEqual(5 * 60_000)
  })

  it('never activates a droplet that presents another certificate (man in the middle)', async () => {
    const r = await rig({ faults: { wrongCertificate: true } })
    r.services.engine.start()
    const created = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    const configuring = await until(r, created.id, (d) => d.stage === 'configuring-https')
    const droplet = await r.cloud.farm.whenStarted(configuring.dropletId ?? -1)
    await droplet.whenReady
    await new Promise((ok) => setTimeout(ok, 1500))
    const after = r.services.engine.find(created.id)
    expect(after.status).toBe('CONFIGURING')
    expect(after.checks.guacHttps443).toBe(false)
    expect(after.percent).toBeLessThan(92)
    expect(droplet.record.tokensAccepted).toEqual([])
    expect(droplet.record.tokensRefused).toEqual([])
  })

  it('fails fast with the step name when the droplet reports a failed setup step', async () => {
    const r = await rig({ faults: { failStep: { step: 'install-packages', exitCode: 100 } } })
    r.services.engine.start()
    const created = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    const started = Date.now()
    const errored = await until(r, created.id, (d) => d.status === 'ERROR')
    expect(Date.now() - started).toBeLessThan(10_000)
    // In words, not step ids (issue 13).
    expect(errored.error).toContain('Installing the desktop, VNC and Nginx failed on the droplet (exit code 100).')
    expect(errored.error).toContain(INIT_LOG)
    expect(errored.error).toMatch(/costs money/)
  })

  it('gives up after the configuring timeout (clock injected) with a message naming the init log', async () => {
    const r = await rig({ faults: { neverFinish: true } })
    r.services.engine.start()
    const created = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    await until(r, created.id, (d) => d.status === 'CONFIGURING')
    r.clockOffset.ms = 21 * 60_000
    const errored = await until(r, created.id, (d) => d.status === 'ERROR')
    expect(errored.error).toContain('within 20 minutes')
    expect(errored.error).toContain(INIT_LOG)
    expect(errored.dropletId).not.toBeNull()
  })

  it('gives up on a droplet DigitalOcean never makes active after the provisioning timeout', async () => {
    const r = await rig()
    await r.cloud.close()
    const lazy = await startFakeCloud({ digitalOcean: { activeAfterMs: 3_600_000 } })
    r.cloud = lazy
    const services = await createAppServices({
      dataDir: mkdtempSync(join(tmpdir(), 'dictumal-engine-')),
      env: { DIGITALOCEAN_API_URL: lazy.digitalOcean.url, DIGITALOCEAN_API_TOKEN: lazy.digitalOcean.token },
      info: { name: 'Dictumal', version: 'test', platform: process.platform, dataDir: '' },
      secrets: new MemorySecrets(),
      engine: { probeIntervalMs: 100, cloudIntervalMs: { first: 50, max: 100 }, clock: { now: () => Date.now() + r.clockOffset.ms } },
    })
    await r.services.close()
    r.services = services
    const made = await createConstitution(services.store, { name: 'Slow', body: '' })
    if (!made.ok) throw new Error('setup')
    services.engine.start()
    const created = await services.engine.create({ constitutionId: made.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })
    r.clockOffset.ms = 11 * 60_000
    const errored = await until(r, created.id, (d) => d.status === 'ERROR')
    expect(errored.error).toContain('within 10 minutes')
  })
})

describe('SSH keys', () => {
  const FINGERPRINT = '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'

  it('sends DIGITALOCEAN_SSH_KEYS ids and fingerprints to DigitalOcean only, and the deploy reaches ACTIVE', async () => {
    const r = await rig({}, {}, { DIGITALOCEAN_SSH_KEYS: ` 12345 , ${FINGERPRINT.toUpperCase()} ` })
    r.services.engine.start()
    const created = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    const active = await until(r, created.id, (d) => d.status === 'ACTIVE')
    const droplet = r.cloud.digitalOcean.droplets.get(active.dropletId ?? -1)
    // DigitalOcean takes ids as integers and fingerprints as strings (what Prism checked against the contract).
    expect(droplet?.sshKeys).toEqual([12345, FINGERPRINT])
    const userData = r.cloud.digitalOcean.userData.get(active.dropletId ?? -1) ?? ''
    expect(userData).not.toContain('12345')
    expect(userData).not.toContain(FINGERPRINT)
    expect(await unexplainedViolations(r.cloud.digitalOcean)).toEqual([])
  })

  it('takes the saved keys from Settings, and refuses a public key line there before anything is made', async () => {
    const r = await rig()
    await updateSettings(r.services.store, { sshKeys: ['512189'] })
    const created = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    expect(r.cloud.digitalOcean.droplets.get(r.services.engine.find(created.id).dropletId ?? -1)?.sshKeys).toEqual([512189])

    await updateSettings(r.services.store, { sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake me@laptop'] })
    const creates = (): number => r.cloud.digitalOcean.requests.filter((q) => q.method === 'POST' && q.path === '/v2/droplets').length
    const before = { records: r.services.store.read().deployments.length, posts: creates() }
    await expect(r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })).rejects.toMatchObject({
      userMessage: expect.stringMatching(/^The SSH key "ssh-ed25519 .*" in Settings is a public key, not a DigitalOcean key id or fingerprint; /),
    })
    expect(r.services.store.read().deployments).toHaveLength(before.records)
    expect(creates()).toBe(before.posts)
  })

  it('keeps the keys each droplet was made with on its record: "None" as [], a choice as sent, else Settings\' keys', async () => {
    const r = await rig()
    await updateSettings(r.services.store, { sshKeys: ['512189'] })
    const deploy = (sshKeys?: string[]) =>
      r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb', ...(sshKeys === undefined ? {} : { sshKeys }) })
    const none = await deploy([])
    const chosen = await deploy([FINGERPRINT.toUpperCase()])
    const settings = await deploy()
    const droplet = (d: { id: string }) => r.cloud.digitalOcean.droplets.get(r.services.engine.find(d.id).dropletId ?? -1)
    expect(droplet(none)?.sshKeys).toEqual([])
    expect(droplet(chosen)?.sshKeys).toEqual([FINGERPRINT])
    expect(droplet(settings)?.sshKeys).toEqual([512189])
    const stored = (d: { id: string }) => r.services.store.read().deployments.find((x) => x.id === d.id)?.sshKeys
    expect([stored(none), stored(chosen), stored(settings)]).toEqual([[], [FINGERPRINT], ['512189']])
    // A later change in Settings does not rewrite what a desktop was made with.
    await updateSettings(r.services.store, { sshKeys: [] })
    expect(stored(settings)).toEqual(['512189'])
  })
})

describe('destroy', () => {
  it('works from ACTIVE, CONFIGURING and ERROR, deleting the droplet and the keychain entry', async () => {
    const active = await rig()
    active.services.engine.start()
    const a = await active.services.engine.create({ constitutionId: active.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    await until(active, a.id, (d) => d.status === 'ACTIVE')

    const stuck = await rig({ faults: { neverFinish: true } })
    stuck.services.engine.start()
    const c = await stuck.services.engine.create({ constitutionId: stuck.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    await until(stuck, c.id, (d) => d.status === 'CONFIGURING')

    const broken = await rig({ faults: { failStep: { step: 'start-vnc', exitCode: 1 } } })
    broken.services.engine.start()
    const e = await broken.services.engine.create({ constitutionId: broken.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    await until(broken, e.id, (d) => d.status === 'ERROR')

    for (const [r, d] of [[active, a], [stuck, c], [broken, e]] as const) {
      expect(await r.secrets.getDeploymentSecrets(d.id)).not.toBeNull()
      const destroyed = await r.services.engine.destroy(d.id)
      expect(destroyed.status).toBe('DESTROYED')
      expect(destroyed.destroyedAt).not.toBeNull()
      expect(r.cloud.digitalOcean.droplets.size).toBe(0)
      expect(await r.secrets.getDeploymentSecrets(d.id)).toBeNull()
      // The record stays, as DESTROYED.
      expect(r.services.engine.find(d.id).status).toBe('DESTROYED')
    }
  })

  it('works from PROVISIONING before the droplet id is known, by resolving the deployment tag', async () => {
    const r = await rig()
    // As after a crash between DigitalOcean accepting the create and the id being recorded.
    const orphan = await r.services.client.createDroplet({
      deploymentId: '0b7f5a52-5d6c-4c1e-9d3a-1f2e3d4c5b6a',
      name: 'dictumal-crashed-1',
      region: 'nyc3',
      size: 's-2vcpu-4gb',
      image: 'ubuntu-24-04-x64',
      userData: '#cloud-config\n',
      sshKeys: [],
      tags: ['dictumal', 'dictumal-0b7f5a52-5d6c-4c1e-9d3a-1f2e3d4c5b6a'],
    })
    const now = new Date().toISOString()
    await r.services.store.update((draft) => {
      draft.deployments.push(
        sampleDeployment({ id: '0b7f5a52-5d6c-4c1e-9d3a-1f2e3d4c5b6a', constitutionId: r.constitutionId, name: 'dictumal-crashed-1', createdAt: now, updatedAt: now }),
      )
    })
    const destroyed = await r.services.engine.destroy('0b7f5a52')
    expect(destroyed.status).toBe('DESTROYED')
    expect(r.cloud.digitalOcean.droplets.has(orphan.id)).toBe(false)
  })
})

describe('reconcile', () => {
  it('marks a droplet deleted elsewhere as DESTROYED, resumes the rest, and lists unmanaged droplets', async () => {
    const r = await rig()
    r.services.engine.start()
    const one = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    const two = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'ams3', size: 's-1vcpu-1gb' })
    await until(r, one.id, (d) => d.status === 'ACTIVE')
    await until(r, two.id, (d) => d.status === 'ACTIVE')
    const foreign = await r.services.client.createDroplet({
      deploymentId: '7d3c1b2a-0e9f-4a8b-9c7d-6e5f4a3b2c1d',
      name: 'dictumal-lost-record',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'ubuntu-24-04-x64',
      userData: '#cloud-config\n',
      sshKeys: [],
      tags: ['dictumal', 'dictumal-7d3c1b2a-0e9f-4a8b-9c7d-6e5f4a3b2c1d'],
    })
    expect(r.cloud.digitalOcean.deleteBehindBack(one.dropletId ?? -1)).toBe(true)

    const findings = await r.services.engine.reconcile()
    expect(findings).toContainEqual({ kind: 'destroyed-elsewhere', deploymentId: one.id, dropletId: one.dropletId ?? null, name: one.name })
    expect(findings).toContainEqual({ kind: 'unmanaged', deploymentId: '7d3c1b2a-0e9f-4a8b-9c7d-6e5f4a3b2c1d', dropletId: foreign.id, name: 'dictumal-lost-record' })
    expect(r.services.engine.find(one.id).status).toBe('DESTROYED')
    expect(r.services.engine.find(two.id).status).toBe('ACTIVE')
    const unmanaged = r.services.engine.unmanaged()
    expect(unmanaged).toHaveLength(1)
    // Its secrets are not in this keychain, so it can only be destroyed.
    expect(unmanaged[0]?.canAdopt).toBe(false)
    await expect(r.services.engine.adopt(foreign.id)).rejects.toMatchObject({ code: 'secrets-missing' })
    await r.services.engine.destroyUnmanaged(foreign.id)
    expect(r.cloud.digitalOcean.droplets.has(foreign.id)).toBe(false)
  })

  it('adopts a droplet whose record was lost while its secrets survived, and brings it to ACTIVE', async () => {
    const r = await rig()
    r.services.engine.start()
    const d = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    const before = await until(r, d.id, (x) => x.status === 'ACTIVE')
    await r.services.store.update((draft) => {
      draft.deployments = draft.deployments.filter((x) => x.id !== d.id)
    })
    const findings = await r.services.engine.reconcile()
    expect(findings.map((f) => f.kind)).toEqual(['unmanaged'])
    expect(r.services.engine.unmanaged()[0]?.canAdopt).toBe(true)
    const adopted = await r.services.engine.adopt(before.dropletId ?? -1)
    expect(adopted.id).toBe(d.id)
    expect(adopted.certFingerprint).toBe(d.certFingerprint)
    const active = await until(r, d.id, (x) => x.status === 'ACTIVE')
    expect(active.ip).toBe(before.ip)
    expect(active.activeAt).not.toBe(before.activeAt)
  })
})

describe('create refusals keep nothing', () => {
  it('a sold-out size or a droplet limit is one sentence, and leaves no record and no secrets', async () => {
    const r = await rig()
    r.cloud.digitalOcean.setDropletLimit(0)
    const limited = r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    await expect(limited).rejects.toMatchObject({ code: 'droplet-limit' })
    const unknownSize = r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-64vcpu-512gb' })
    await expect(unknownSize).rejects.toMatchObject({ nothingCreated: true })
    expect(r.services.store.read().deployments).toEqual([])
    expect(r.secrets.entries.size).toBe(0)
    expect(r.cloud.digitalOcean.droplets.size).toBe(0)
  })
})

describe('awkward timings', () => {
  it('reaches ACTIVE when DigitalOcean shows the IP before the droplet turns active', async () => {
    const cloud = await startFakeCloud({
      digitalOcean: { activeAfterMs: 900, ipAfterMs: 100 },
      farm: { dropletOptions: () => ({ timeline: { stepMs: 40 } }) },
    })
    const r = await rig()
    await r.cloud.close()
    r.cloud = cloud
    await r.services.close()
    r.services = await createAppServices({
      dataDir: mkdtempSync(join(tmpdir(), 'dictumal-engine-')),
      env: { DIGITALOCEAN_API_URL: cloud.digitalOcean.url, DIGITALOCEAN_API_TOKEN: cloud.digitalOcean.token },
      info: { name: 'Dictumal', version: 'test', platform: process.platform, dataDir: '' },
      secrets: r.secrets,
      engine: { probeIntervalMs: 100, cloudIntervalMs: { first: 100, max: 200 } },
    })
    const made = await createConstitution(r.services.store, { name: 'Early IP', body: '' })
    if (!made.ok) throw new Error('setup')
    r.services.engine.start()
    const created = await r.services.engine.create({ constitutionId: made.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })
    const active = await until(r, created.id, (d) => d.status === 'ACTIVE')
    expect(active.ip).toMatch(/^127\./)
  })

  it('an unconfirmed create keeps its record instead of failing, so nobody deploys twice', async () => {
    const r = await rig()
    // Every create answer is a 500 and the tag look-up finds nothing: DigitalOcean's answer is unknown.
    r.cloud.digitalOcean.inject({ kind: 'server-error', method: 'POST', path: '/v2/droplets', times: 5 })
    const created = await r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    expect(created.status).toBe('PROVISIONING')
    expect(created.dropletId).toBeNull()
    expect(r.services.engine.find(created.id).status).toBe('PROVISIONING')
    expect(await r.secrets.getDeploymentSecrets(created.id)).not.toBeNull()
  })

  it('deletes the droplet when its deployment was destroyed elsewhere while the create was in flight', async () => {
    const r = await rig()
    r.cloud.digitalOcean.inject({ kind: 'slow', delayMs: 600, method: 'POST', path: '/v2/droplets' })
    const creating = r.services.engine.create({ constitutionId: r.constitutionId, region: 'nyc3', size: 's-2vcpu-4gb' })
    // Another Dictumal process destroys the card it sees while DigitalOcean is still answering.
    let id = ''
    for (let i = 0; i < 50 && id === ''; i += 1) {
      await new Promise((ok) => setTimeout(ok, 20))
      id = r.services.store.read().deployments[0]?.id ?? ''
    }
    await r.services.store.update((draft) => {
      draft.deployments = draft.deployments.map((d) => ({ ...d, status: 'DESTROYED' as const, destroyedAt: new Date().toISOString() }))
    })
    const result = await creating
    expect(result.status).toBe('DESTROYED')
    expect(r.cloud.digitalOcean.droplets.size).toBe(0)
  })
})

describe('image choice', () => {
  it('with DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE creates on the newest Ubuntu, with user data cloud-init accepts', async (ctx) => {
    const cloud = await startFakeCloud()
    const secrets = new MemorySecrets()
    const services = await createAppServices({
      dataDir: mkdtempSync(join(tmpdir(), 'dictumal-engine-')),
      env: { DIGITALOCEAN_API_URL: await viaPrism(cloud.digitalOcean), DIGITALOCEAN_API_TOKEN: cloud.digitalOcean.token, DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: 'true' },
      info: { name: 'Dictumal', version: 'test', platform: process.platform, dataDir: '' },
      secrets,
    })
    try {
      const made = await createConstitution(services.store, { name: 'Latest', body: '# newest\n' })
      if (!made.ok) throw new Error('setup')
      const created = await services.engine.create({ constitutionId: made.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })
      expect(created.image).toBe('ubuntu-25-10-x64')
      const dropletId = services.engine.find(created.id).dropletId ?? -1
      expect(cloud.digitalOcean.view(dropletId)?.image).toMatchObject({ slug: 'ubuntu-25-10-x64' })
      requireTool('cloud-init', (note) => ctx.skip(note))
      const file = join(mkdtempSync(join(tmpdir(), 'dictumal-latest-')), 'user-data.yaml')
      writeFileSync(file, cloud.digitalOcean.userData.get(dropletId) ?? '')
      const result = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' })
      expect(result.status, result.stderr).toBe(0)
      expect(await unexplainedViolations(cloud.digitalOcean)).toEqual([])
    } finally {
      await services.close()
      await cloud.close()
    }
  })
})
