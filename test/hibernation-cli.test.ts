// Hibernation's crash and fault tests, as a user would meet them: the built `dictumal` CLI as real child
// processes, killed with SIGKILL at every step of hibernate and of resume, then restarted; DigitalOcean
// answering 5xx, 429, an errored snapshot and a snapshot action that never ends. The fake DigitalOcean
// (behind Prism when available) and fake droplets run in this process, so a sampler can check all along
// that the droplet or the snapshot exists, and at the end that nothing is lost and nothing left billing.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Deployment } from '../preload/contract'
import { ensureCliBuilt, records, runCli, secretToolClear, secretToolLookup, startCli, type CliResult } from './cli-helpers'
import { contractAvailable, releaseFromPrism, unexplainedViolations, viaPrism } from './contract/via-prism'
import { startFakeCloud, type FakeCloud } from './fakes/droplet-farm'
import { keyringTestMode, probeKeyring, uniqueTestService } from './keyring'

const keyring = await probeKeyring()
const mode = keyringTestMode(keyring)
if (!keyring.usable && mode === 'skip') console.warn(`test/hibernation-cli.test.ts: skipped (set CI to make this a failure): ${keyring.reason}`)
const prismAvailable = contractAvailable()

const TOKEN = `dop_v1_${randomBytes(32).toString('hex')}`
const service = uniqueTestService()
let cloud: FakeCloud
let apiUrl: string
let dataDir: string
let scratch: string
let id: string
/** Moments when the deployment had neither a droplet nor a snapshot at DigitalOcean. */
const neither: string[] = []
let sampler: NodeJS.Timeout | undefined

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const key of ['PATH', 'HOME', 'DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR', 'TMPDIR', 'LANG']) if (process.env[key] !== undefined) out[key] = process.env[key]
  return {
    ...out,
    DICTUMAL_DATA_DIR: dataDir,
    DIGITALOCEAN_API_URL: apiUrl,
    DICTUMAL_KEYCHAIN_SERVICE: service,
    DICTUMAL_HIBERNATE_POLL_MS: '60',
    DICTUMAL_POWER_OFF_AFTER_MS: '1500',
    ...extra,
  }
}

const show = (r: CliResult): string => `exit ${r.code} (${r.signal ?? '-'})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`

const tagged = (): number[] => [...cloud.digitalOcean.droplets.values()].filter((d) => d.tags.includes(`dictumal-${id}`)).map((d) => d.id)
const snapshots = (): number[] => [...cloud.digitalOcean.snapshots.values()].filter((s) => s.name.startsWith(`dictumal-hibernate-${id.slice(0, 8)}-`)).map((s) => s.id)

async function stored(): Promise<Deployment> {
  const data = JSON.parse(await readFile(join(dataDir, 'dictumal.json'), 'utf8')) as { deployments: Deployment[] }
  const d = data.deployments.find((x) => x.id === id)
  if (!d) throw new Error('the record is gone')
  return d
}

/** Nothing lost (secrets kept; the desktop is in its droplet or its snapshot) and nothing extra billing. */
async function expectSettled(status: 'ACTIVE' | 'HIBERNATED'): Promise<Deployment> {
  const d = await stored()
  expect(d.status).toBe(status)
  expect(d.hibernation).toBeNull()
  expect(await secretToolLookup(service, `deployment:${id}`)).not.toBeNull()
  if (status === 'HIBERNATED') {
    expect(tagged()).toEqual([])
    expect(snapshots()).toEqual([Number(d.snapshotId)])
    expect(d.dropletId).toBeNull()
  } else {
    expect(tagged()).toEqual([d.dropletId])
    expect(cloud.digitalOcean.droplets.get(d.dropletId!)?.status ?? 'active').toBe('active')
    expect(snapshots()).toEqual([])
  }
  expect(neither).toEqual([])
  return d
}

/** Starts `args`, SIGKILLs it at the first --json record that passes `at`, and returns that record. */
async function killAt(args: string[], at: (d: Deployment) => boolean, extraEnv: NodeJS.ProcessEnv = {}): Promise<Deployment> {
  const cli = startCli([...args, '--json'], { env: env(extraEnv), timeoutMs: 60_000 })
  const line = await cli.waitForLine((l) => {
    try {
      return at(JSON.parse(l) as Deployment)
    } catch {
      return false
    }
  }, 40_000)
  cli.child.kill('SIGKILL')
  const r = await cli.done
  expect(r.signal, show(r)).toBe('SIGKILL')
  return JSON.parse(line) as Deployment
}

async function watch(command: 'status' | 'reconcile' = 'status'): Promise<CliResult> {
  const args = command === 'status' ? ['status', id, '--watch', '--json'] : ['reconcile', '--json']
  return runCli(args, { env: env(), timeoutMs: 60_000 })
}

async function hibernate(): Promise<CliResult> {
  return runCli(['hibernate', id.slice(0, 8), '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
}

async function resume(): Promise<CliResult> {
  return runCli(['resume', id.slice(0, 8), '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
}

describe.skipIf(!keyring.usable && mode === 'skip')('dictumal hibernate / resume (real CLI processes, kill -9, faults)', () => {
  beforeAll(async () => {
    if (!keyring.usable) throw new Error(`no usable keychain: ${keyring.reason}`)
    await ensureCliBuilt()
    scratch = await mkdtemp(join(tmpdir(), 'dictumal-hib-cli-'))
    dataDir = join(scratch, 'data')
    cloud = await startFakeCloud({
      digitalOcean: { token: TOKEN, activeAfterMs: 0, ipAfterMs: 200, actionMs: 700, snapshotSizeGigabytes: 9 },
      farm: { dropletOptions: () => ({ timeline: { stepMs: 30 } }) },
    })
    apiUrl = prismAvailable ? await viaPrism(cloud.digitalOcean) : cloud.digitalOcean.url
    expect((await runCli(['login', '--token-stdin'], { env: env(), input: `${TOKEN}\n` })).code).toBe(0)
    await writeFile(join(scratch, 'body.md'), '# Sleep well\n')
    expect((await runCli(['constitution', 'add', '--name', 'Sleeper', '--body-file', join(scratch, 'body.md')], { env: env() })).code).toBe(0)
    const deployed = await runCli(['deploy', '--constitution', 'Sleeper', '--region', 'sfo3', '--wait', '--json'], { env: env(), timeoutMs: 90_000 })
    expect(deployed.code, show(deployed)).toBe(0)
    id = records(deployed.stdout).at(-1)!.id
    sampler = setInterval(() => {
      if (tagged().length === 0 && snapshots().length === 0) neither.push(new Date().toISOString())
    }, 3)
  }, 180_000)

  afterAll(async () => {
    if (sampler) clearInterval(sampler)
    if (prismAvailable && cloud) await releaseFromPrism(cloud.digitalOcean).catch(() => undefined)
    await cloud?.close()
    if (keyring.usable) await secretToolClear(service)
    if (scratch) await rm(scratch, { recursive: true, force: true })
  })

  it('hibernate --wait and resume --wait: exit 0 at HIBERNATED and at ACTIVE, records carry the new fields', async () => {
    const h = await hibernate()
    expect(h.code, show(h)).toBe(0)
    const trail = records(h.stdout)
    expect(trail.map((d) => d.stage).filter((s, i, a) => a.indexOf(s) === i)).toEqual(['stopping', 'snapshotting', 'deleting-droplet', 'hibernated'])
    const asleep = trail.at(-1)!
    expect(asleep).toMatchObject({ status: 'HIBERNATED', dropletId: null, ip: null, fastStart: false, snapshotSizeGigabytes: 9 })
    expect(asleep.snapshotId).toMatch(/^\d+$/)
    expect(asleep.hibernatedAt).not.toBeNull()
    await expectSettled('HIBERNATED')
    const r = await resume()
    expect(r.code, show(r)).toBe(0)
    const awake = records(r.stdout)
    expect(awake.map((d) => d.status)).toContain('CONFIGURING')
    expect(awake.at(-1)).toMatchObject({ status: 'ACTIVE', snapshotId: null, hibernatedAt: null, region: 'sfo3', certFingerprint: asleep.certFingerprint })
    await expectSettled('ACTIVE')
  }, 120_000)

  for (const stage of ['stopping', 'snapshotting', 'deleting-droplet'] as const) {
    it(`kill -9 while hibernating at ${stage}: a restarted status --watch finishes it`, async () => {
      const before = await stored()
      const killed = await killAt(['hibernate', id, '--wait'], (d) => d.stage === stage && (stage === 'deleting-droplet' || d.hibernation?.action !== null))
      expect(killed.status).toBe('HIBERNATING')
      const w = await watch()
      expect(w.code, show(w)).toBe(0)
      const asleep = await expectSettled('HIBERNATED')
      // The droplet the snapshot came from is the one that was running.
      expect(cloud.digitalOcean.snapshots.get(Number(asleep.snapshotId))?.resourceId).toBe(before.dropletId)
      const r = await resume()
      expect(r.code, show(r)).toBe(0)
      await expectSettled('ACTIVE')
    }, 120_000)
  }

  it('kill -9 while resuming, at provisioning-droplet and at CONFIGURING: reconcile and status --watch finish it', async () => {
    expect((await hibernate()).code).toBe(0)
    await killAt(['resume', id, '--wait'], (d) => d.stage === 'provisioning-droplet' && d.dropletId !== null)
    const rec = await watch('reconcile')
    expect(rec.code, show(rec)).toBe(0)
    await expectSettled('ACTIVE')
    expect((await hibernate()).code).toBe(0)
    await killAt(['resume', id, '--wait'], (d) => d.status === 'CONFIGURING')
    const w = await watch()
    expect(w.code, show(w)).toBe(0)
    await expectSettled('ACTIVE')
  }, 150_000)

  it('5xx and 429 from DigitalOcean on the way: hibernate and resume still finish, with one droplet and one snapshot at a time', async () => {
    const d = await stored()
    const fake = cloud.digitalOcean
    fake.inject({ kind: 'server-error', status: 503, method: 'POST', path: `/v2/droplets/${d.dropletId}/actions`, times: 2 })
    fake.inject({ kind: 'rate-limit', retryAfterS: 1, path: /^\/v2\/actions\//, times: 2 })
    fake.inject({ kind: 'server-error', path: /^\/v2\/snapshots\/\d+$/, method: 'GET', times: 2 })
    fake.inject({ kind: 'server-error', status: 502, method: 'DELETE', path: `/v2/droplets/${d.dropletId}` })
    const h = await hibernate()
    expect(h.code, show(h)).toBe(0)
    await expectSettled('HIBERNATED')
    // The resume's create answers 500 after making the droplet: found again by its tag, not made twice.
    fake.inject({ kind: 'create-then-500', method: 'POST', path: '/v2/droplets' })
    fake.inject({ kind: 'rate-limit', retryAfterS: 1, method: 'DELETE', path: /^\/v2\/snapshots\// })
    const r = await resume()
    expect(r.code, show(r)).toBe(0)
    await expectSettled('ACTIVE')
  }, 120_000)

  it('an errored snapshot: hibernate --wait exits 1, the desktop is ACTIVE again with a note, no snapshot left', async () => {
    cloud.digitalOcean.planAction('snapshot', 'errored')
    const h = await hibernate()
    expect(h.code, show(h)).toBe(1)
    const d = await expectSettled('ACTIVE')
    expect(d.error).toBe('Hibernation failed: DigitalOcean could not take the snapshot. The desktop keeps running.')
  }, 60_000)

  it('a snapshot action that never ends, and kill -9: the restart gives up, waits for DigitalOcean, powers the droplet on', async () => {
    cloud.digitalOcean.planAction('snapshot', 'never')
    const killed = await killAt(['hibernate', id, '--wait'], (d) => d.stage === 'snapshotting' && d.hibernation?.action?.type === 'snapshot')
    const actionId = killed.hibernation!.action!.id
    const w = startCli(['status', id, '--watch', '--json'], { env: env({ DICTUMAL_SNAPSHOT_TIMEOUT_MS: '1500' }), timeoutMs: 60_000 })
    await w.waitForLine((l) => (JSON.parse(l) as Deployment).error !== null, 30_000)
    // Rolling back: the droplet cannot power on while DigitalOcean still runs the snapshot.
    await delay(500)
    expect((await stored()).status).toBe('HIBERNATING')
    expect(tagged()).toHaveLength(1)
    cloud.digitalOcean.completeAction(actionId, 'errored')
    const r = await w.done
    expect(r.code, show(r)).toBe(0)
    const d = await expectSettled('ACTIVE')
    expect(d.error).toMatch(/^Hibernation failed: DigitalOcean did not finish the snapshot within/)
  }, 90_000)

  it('destroying a hibernated desktop deletes its snapshot and its secrets; the DigitalOcean calls all matched the contract', async () => {
    expect((await hibernate()).code).toBe(0)
    if (sampler) clearInterval(sampler)
    const r = await runCli(['destroy', id, '--yes'], { env: env() })
    expect(r.code, show(r)).toBe(0)
    expect(snapshots()).toEqual([])
    expect(tagged()).toEqual([])
    expect(await secretToolLookup(service, `deployment:${id}`)).toBeNull()
    expect((await stored()).status).toBe('DESTROYED')
    if (prismAvailable) expect(await unexplainedViolations(cloud.digitalOcean)).toEqual([])
  }, 60_000)
})
