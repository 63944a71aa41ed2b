// Hibernation against real parts: the fake DigitalOcean with its action timeline, fake droplets booted
// from the user data the app sent (so a resumed desktop must pass the same pinned checks), a real store.
// A sampler watches the fake the whole time: the droplet or the snapshot always exists, never neither.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Deployment } from '../../../preload/contract'
import { startFakeCloud, type FakeCloud } from '../../../test/fakes/droplet-farm'
import type { FakeDigitalOceanOptions } from '../../../test/fakes/fake-digitalocean'
import type { FakeDropletOptions } from '../../../test/fakes/fake-droplet'
import { readUserData } from '../../../test/fakes/user-data-reader'
import { createAppServices, type AppServices, type AppServicesOptions } from '../app-services'
import { MemorySecrets } from '../secrets'
import { createConstitution, updateSettings } from '../store'
import { hibernationSnapshotName, snapshotMonthlyCost } from './hibernation'

interface Rig {
  cloud: FakeCloud
  services: AppServices
  secrets: MemorySecrets
  stages: string[]
  /** Moments when this deployment had neither a droplet nor a snapshot at the fake DigitalOcean. */
  neither: string[]
  stopSampling(): void
}

const rigs: Rig[] = []

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.stopSampling()
    await r.services.close()
    await r.cloud.close()
  }
})

async function rig(
  options: { digitalOcean?: FakeDigitalOceanOptions; env?: Record<string, string>; idle?: AppServicesOptions['idle']; droplet?: (n: number) => Partial<FakeDropletOptions> } = {},
): Promise<Rig> {
  let made = 0
  const cloud = await startFakeCloud({
    digitalOcean: { activeAfterMs: 100, ipAfterMs: 150, actionMs: 80, snapshotSizeGigabytes: 12.5, ...options.digitalOcean },
    farm: { dropletOptions: () => ({ timeline: { stepMs: 40 }, ...options.droplet?.(made++) }) },
  })
  const secrets = new MemorySecrets()
  const services = await createAppServices({
    dataDir: mkdtempSync(join(tmpdir(), 'dictumal-hibernation-')),
    env: { DIGITALOCEAN_API_URL: cloud.digitalOcean.url, DIGITALOCEAN_API_TOKEN: cloud.digitalOcean.token, ...options.env },
    info: { name: 'Dictumal', version: 'test', platform: process.platform, dataDir: '' },
    secrets,
    client: { timeoutMs: 5000 },
    engine: { probeIntervalMs: 50, cloudIntervalMs: { first: 50, max: 200 } },
    hibernation: { pollMs: 20, powerOffAfterMs: 400 },
    ...(options.idle ? { idle: options.idle } : {}),
  })
  const stages: string[] = []
  services.store.onChange((data) => {
    for (const d of data.deployments) {
      const label = `${d.status}/${d.stage}`
      if (stages.at(-1) !== label) stages.push(label)
    }
  })
  const neither: string[] = []
  const sampler = setInterval(() => {
    for (const d of services.store.read().deployments) {
      if (d.status === 'DESTROYED' || d.createdAt === '') continue
      const tag = `dictumal-${d.id}`
      const droplet = [...cloud.digitalOcean.droplets.values()].some((x) => x.tags.includes(tag))
      const snapshot = [...cloud.digitalOcean.snapshots.values()].some((s) => s.name.startsWith(`dictumal-hibernate-${d.id.slice(0, 8)}`))
      // A fresh deploy before its create landed has neither by design; everything after that must have one.
      const fresh = d.status === 'PROVISIONING' && d.dropletId === null && d.hibernation === null && d.snapshotId === null
      if (!droplet && !snapshot && !fresh) neither.push(`${d.status}/${d.stage}`)
    }
  }, 2)
  const r: Rig = { cloud, services, secrets, stages, neither, stopSampling: () => clearInterval(sampler) }
  rigs.push(r)
  return r
}

function until(r: Rig, id: string, test: (d: Deployment) => boolean, timeoutMs = 15_000): Promise<Deployment> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const d = r.services.store.read().deployments.find((x) => x.id === id)
      if (d && test(d)) {
        off()
        clearTimeout(timer)
        resolve(structuredClone(d))
      }
    }
    const off = r.services.store.onChange(check)
    const timer = setTimeout(() => {
      off()
      const d = r.services.store.read().deployments.find((x) => x.id === id)
      reject(new Error(`timed out; last seen ${JSON.stringify(d && { status: d.status, stage: d.stage, error: d.error })}`))
    }, timeoutMs)
    check()
  })
}

async function activeDesktop(r: Rig, sshKeys?: string[]): Promise<Deployment> {
  const made = await createConstitution(r.services.store, { name: 'Sleepy Desk', body: '# Rest well\n' })
  if (!made.ok) throw new Error(made.error.message)
  r.services.engine.start()
  const created = await r.services.engine.create({ constitutionId: made.value.id, region: 'ams3', size: 's-2vcpu-4gb', ...(sshKeys === undefined ? {} : { sshKeys }) })
  return until(r, created.id, (d) => d.status === 'ACTIVE')
}

describe('hibernate', () => {
  it('stops, snapshots, and only then deletes the droplet; secrets and pin stay', async () => {
    const r = await rig()
    const active = await activeDesktop(r)
    const dropletId = active.dropletId!
    const started = await r.services.hibernation.hibernate(active.id.slice(0, 6))
    expect(started).toMatchObject({ status: 'HIBERNATING', stage: 'stopping' })
    const asleep = await until(r, active.id, (d) => d.status === 'HIBERNATED')
    expect(asleep).toMatchObject({ stage: 'hibernated', percent: 100, dropletId: null, ip: null, snapshotSizeGigabytes: 12.5, hibernation: null, error: null })
    expect(asleep.hibernatedAt).not.toBeNull()
    expect(asleep.certFingerprint).toBe(active.certFingerprint)
    const snapshot = r.cloud.digitalOcean.snapshots.get(Number(asleep.snapshotId))
    expect(snapshot?.name).toMatch(new RegExp(`^dictumal-hibernate-${active.id.slice(0, 8)}-\\d{8}-\\d{4}$`))
    expect(snapshot?.resourceId).toBe(dropletId)
    expect(r.cloud.digitalOcean.droplets.size).toBe(0)
    expect(await r.secrets.getDeploymentSecrets(active.id)).not.toBeNull()
    expect(r.stages.filter((s) => s.startsWith('HIBERNAT'))).toEqual(['HIBERNATING/stopping', 'HIBERNATING/snapshotting', 'HIBERNATING/deleting-droplet', 'HIBERNATED/hibernated'])
    // The delete came after the snapshot was confirmed through GET /v2/snapshots/{id}.
    const order = r.cloud.digitalOcean.requests.map((q) => `${q.method} ${q.path}`)
    expect(order.lastIndexOf(`GET /v2/snapshots/${asleep.snapshotId}`)).toBeLessThan(order.indexOf(`DELETE /v2/droplets/${dropletId}`))
    expect(r.neither).toEqual([])
  })

  it('falls back to power_off when the shutdown hangs', async () => {
    const r = await rig()
    const active = await activeDesktop(r)
    r.cloud.digitalOcean.planAction('shutdown', 'never')
    await r.services.hibernation.hibernate(active.id)
    await until(r, active.id, (d) => d.status === 'HIBERNATED')
    expect([...r.cloud.digitalOcean.actions.values()].map((a) => a.type)).toEqual(['shutdown', 'power_off', 'snapshot'])
  })

  it('an errored snapshot returns the desktop to ACTIVE, powered on, with a note and no snapshot', async () => {
    const r = await rig()
    const active = await activeDesktop(r)
    r.cloud.digitalOcean.planAction('snapshot', 'errored')
    await r.services.hibernation.hibernate(active.id)
    const back = await until(r, active.id, (d) => d.status === 'ACTIVE' && d.hibernation === null)
    expect(back.error).toMatch(/^Hibernation failed: DigitalOcean could not take the snapshot\. The desktop keeps running\.$/)
    expect(back.dropletId).toBe(active.dropletId)
    expect(r.cloud.digitalOcean.droplets.get(active.dropletId!)?.status).toBe('active')
    expect(r.cloud.digitalOcean.snapshots.size).toBe(0)
    expect(r.neither).toEqual([])
  })

  it('refuses what is not ACTIVE with a sentence', async () => {
    const r = await rig()
    const active = await activeDesktop(r)
    await r.services.hibernation.hibernate(active.id)
    await until(r, active.id, (d) => d.status === 'HIBERNATED')
    await expect(r.services.hibernation.resume('nope')).rejects.toMatchObject({ code: 'deployment-not-found' })
    const destroyed = await r.services.engine.destroy(active.id)
    await expect(r.services.hibernation.hibernate(destroyed.id)).rejects.toThrow(/only an active desktop can be hibernated/)
  })
})

describe('resume', () => {
  it('a droplet from the snapshot, same region, secrets and pin; the snapshot goes once ACTIVE', async () => {
    const r = await rig()
    const active = await activeDesktop(r)
    await r.services.hibernation.hibernate(active.id)
    const asleep = await until(r, active.id, (d) => d.status === 'HIBERNATED')
    const stored = await r.secrets.getDeploymentSecrets(active.id)
    const resuming = await r.services.hibernation.resume(active.id)
    expect(resuming).toMatchObject({ status: 'PROVISIONING', stage: 'provisioning-droplet', percent: 22 })
    const awake = await until(r, active.id, (d) => d.status === 'ACTIVE' && d.snapshotId === null)
    expect(awake).toMatchObject({ hibernation: null, hibernatedAt: null, snapshotSizeGigabytes: null, region: 'ams3', certFingerprint: active.certFingerprint })
    expect(awake.dropletId).not.toBe(active.dropletId)
    const droplet = r.cloud.digitalOcean.droplets.get(awake.dropletId!)
    expect(droplet?.fromSnapshot).toBe(Number(asleep.snapshotId))
    expect(droplet?.region).toBe('ams3')
    const userData = readUserData(r.cloud.digitalOcean.userData.get(awake.dropletId!) ?? '')
    expect(JSON.stringify(userData.runcmd)).toContain('personalise')
    // The resumed droplet serves its setup log to the key the keychain already holds.
    expect(stored?.logKey).toMatch(/^[0-9a-f]{64}$/)
    expect(userData.logKey).toBe(stored?.logKey)
    expect(await r.secrets.getDeploymentSecrets(active.id)).toEqual(stored)
    expect(r.cloud.digitalOcean.snapshots.size).toBe(0)
    const resumeStages = r.stages.slice(r.stages.indexOf('HIBERNATED/hibernated'))
    expect(resumeStages).toContain('PROVISIONING/provisioning-droplet')
    expect(resumeStages).toContain('CONFIGURING/installing-packages')
    expect(resumeStages.at(-1)).toBe('ACTIVE/active')
    expect(r.neither).toEqual([])
  })

  it('gives the resumed droplet the keys it was deployed with: none for "None", exactly the chosen ones; Settings\' only for older records', async () => {
    const FINGERPRINT = '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'
    const r = await rig()
    await updateSettings(r.services.store, { sshKeys: ['512189'] })
    const [none, chosen, old] = await Promise.all([activeDesktop(r, []), activeDesktop(r, [FINGERPRINT]), activeDesktop(r)])
    // A record from before the choice was kept: no sshKeys field at all.
    await r.services.store.update((draft) => {
      const record = draft.deployments.find((d) => d.id === old.id)
      if (record) delete record.sshKeys
    })
    const sent = new Map<string, unknown>()
    await Promise.all(
      [none, chosen, old].map(async (d) => {
        await r.services.hibernation.hibernate(d.id)
        await until(r, d.id, (x) => x.status === 'HIBERNATED')
        await r.services.hibernation.resume(d.id)
        const awake = await until(r, d.id, (x) => x.status === 'ACTIVE' && x.snapshotId === null)
        sent.set(d.id, r.cloud.digitalOcean.droplets.get(awake.dropletId!)?.sshKeys)
      }),
    )
    expect(sent.get(none.id)).toEqual([])
    expect(sent.get(chosen.id)).toEqual([FINGERPRINT])
    expect(sent.get(old.id)).toEqual([512189])
    expect(r.neither).toEqual([])
  })

  it('leaves out a key deleted from the account since the deploy, instead of DigitalOcean refusing the resume', async () => {
    const alice = { id: 512189, fingerprint: '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa', public_key: 'ssh-ed25519 AAAA alice', name: 'alice' }
    const bob = { id: 512190, fingerprint: '9c:0a:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee', public_key: 'ssh-ed25519 AAAA bob', name: 'bob' }
    const account = [alice, bob]
    const r = await rig({ digitalOcean: { sshKeys: account } })
    const active = await activeDesktop(r, [alice.fingerprint, String(bob.id)])
    expect(r.cloud.digitalOcean.droplets.get(active.dropletId!)?.sshKeys).toEqual([alice.fingerprint, bob.id])
    await r.services.hibernation.hibernate(active.id)
    await until(r, active.id, (d) => d.status === 'HIBERNATED')
    account.splice(account.indexOf(bob), 1)
    await r.services.hibernation.resume(active.id)
    const awake = await until(r, active.id, (d) => d.status === 'ACTIVE' && d.snapshotId === null)
    expect(r.cloud.digitalOcean.droplets.get(awake.dropletId!)?.sshKeys).toEqual([alice.fingerprint])
    // The record keeps what was chosen: the key is left out of this create only.
    expect(awake.sshKeys).toEqual([alice.fingerprint, String(bob.id)])
  })

  it('leaves out a key made unusable by hand in the data file, instead of refusing to wake the desktop', async () => {
    const r = await rig()
    const active = await activeDesktop(r, ['512189'])
    await r.services.hibernation.hibernate(active.id)
    await until(r, active.id, (d) => d.status === 'HIBERNATED')
    await r.services.store.update((draft) => {
      const record = draft.deployments.find((d) => d.id === active.id)
      if (record) record.sshKeys = ['ssh-ed25519 AAAA pasted by hand', '512189']
    })
    await r.services.hibernation.resume(active.id)
    const awake = await until(r, active.id, (d) => d.status === 'ACTIVE' && d.snapshotId === null)
    expect(r.cloud.digitalOcean.droplets.get(awake.dropletId!)?.sshKeys).toEqual([512189])
  })

  it('a resume that never becomes usable deletes the new droplet and stays HIBERNATED', async () => {
    const r = await rig({ env: { DICTUMAL_CONFIGURING_TIMEOUT_S: '2' } })
    const active = await activeDesktop(r)
    await r.services.hibernation.hibernate(active.id)
    const asleep = await until(r, active.id, (d) => d.status === 'HIBERNATED')
    // The new droplet's gateway never comes up: the engine times the resume out.
    const farmNext = r.cloud.farm.nextDroplet()
    await r.services.hibernation.resume(active.id)
    const fake = await farmNext
    await fake.close()
    const back = await until(r, active.id, (d) => d.status === 'HIBERNATED' && d.error !== null, 20_000)
    expect(back.error).toMatch(/^Resuming failed, so the new droplet was deleted and the desktop is still hibernated: /)
    expect(back.snapshotId).toBe(asleep.snapshotId)
    expect(r.cloud.digitalOcean.droplets.size).toBe(0)
    expect(r.cloud.digitalOcean.snapshots.has(Number(asleep.snapshotId))).toBe(true)
  })
})

describe('destroy', () => {
  it('destroying a HIBERNATED deployment deletes its snapshot and secrets', async () => {
    const r = await rig()
    const active = await activeDesktop(r)
    await r.services.hibernation.hibernate(active.id)
    await until(r, active.id, (d) => d.status === 'HIBERNATED')
    const destroyed = await r.services.engine.destroy(active.id)
    expect(destroyed.status).toBe('DESTROYED')
    expect(r.cloud.digitalOcean.snapshots.size).toBe(0)
    expect(await r.secrets.getDeploymentSecrets(active.id)).toBeNull()
    await until(r, active.id, (d) => d.snapshotId === null && d.hibernation === null)
  })
})

describe('names and cost', () => {
  it('names the snapshot after the deployment and the minute, and prices it at $0.06 per GiB-month', () => {
    expect(hibernationSnapshotName('3f1c2a9e-1111-4222-8333-444455556666', new Date('2026-12-01T17:05:09Z'))).toBe('dictumal-hibernate-3f1c2a9e-20261201-1705')
    expect(snapshotMonthlyCost(12.5)).toBe(0.75)
    expect(snapshotMonthlyCost(0)).toBe(0)
  })
})

describe('idle auto-hibernate, from the beacon to the snapshot', () => {
  it('warns, then hibernates a desktop nobody has had open; one whose droplet does not report activity is kept', async () => {
    let ahead = 0
    const r = await rig({ idle: { clock: { now: () => Date.now() + ahead, sleep: (ms) => new Promise((go) => setTimeout(go, ms)) } }, droplet: (n) => (n === 1 ? { reportsActivity: false } : {}) })
    const reporting = await activeDesktop(r)
    const silent = await activeDesktop(r)
    await updateSettings(r.services.store, { idleHibernateMinutes: 1 })
    const warned: string[] = []
    r.services.idle.onWarning((d) => warned.push(d.id))
    // Just deployed: the engine's own token check was the last activity the droplet saw.
    expect(Object.fromEntries(await r.services.idle.tick())).toEqual({ [reporting.id]: 'keep', [silent.id]: 'keep' })
    ahead = 40_000
    expect(Object.fromEntries(await r.services.idle.tick())).toEqual({ [reporting.id]: 'warn', [silent.id]: 'keep' })
    expect(warned).toEqual([reporting.id])
    ahead = 70_000
    expect((await r.services.idle.tick()).get(reporting.id)).toBe('hibernate')
    const asleep = await until(r, reporting.id, (d) => d.status === 'HIBERNATED')
    expect(asleep.snapshotId).not.toBeNull()
    expect(r.services.engine.find(silent.id).status).toBe('ACTIVE')
    expect(r.neither).toEqual([])
  })
})
