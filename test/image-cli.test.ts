// `dictumal image …`, `deploy --fresh` and reconcile's image clean-up as real child processes against
// the fake DigitalOcean, with builder droplets answering their beacon on loopback; including `kill -9`
// of `image build --wait` in every stage, after which a restart leaves no builder and no half-made snapshot.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { IMAGE_STAGES, type DesktopImage, type Deployment, type ImageStage } from '../preload/contract'
import { RECIPE_VERSION } from '../main/core/recipe'
import { ensureCliBuilt, runCli, secretToolClear, startCli, transcript, type CliResult } from './cli-helpers'
import { startFakeCloud, type FakeCloud } from './fakes/droplet-farm'
import { attachFakeBuilders, type FakeBuilders } from './fakes/fake-builder'
import { keyringTestMode, probeKeyring, uniqueTestService } from './keyring'

const keyring = await probeKeyring()
const keyringMode = keyringTestMode(keyring)
const service = uniqueTestService()

let cloud: FakeCloud
let builders: FakeBuilders
let dataDir: string
const scratch: string[] = []

beforeAll(async () => {
  await ensureCliBuilt()
})

afterAll(async () => {
  if (keyring.usable) await secretToolClear(service)
  for (const dir of scratch) await rm(dir, { recursive: true, force: true })
})

beforeEach(async () => {
  cloud = await startFakeCloud({ digitalOcean: { activeAfterMs: 20, actionMs: 60, token: `dop_v1_${randomBytes(32).toString('hex')}` } })
  builders = attachFakeBuilders(cloud.digitalOcean, { stepMs: 60 })
  dataDir = await mkdtemp(join(tmpdir(), 'dictumal-image-cli-'))
  scratch.push(dataDir)
})

afterEach(async () => {
  await builders.close()
  await cloud.close()
})

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const pick = ['PATH', 'HOME', 'DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR', 'TMPDIR', 'LANG']
  const out: NodeJS.ProcessEnv = {}
  for (const key of pick) if (process.env[key] !== undefined) out[key] = process.env[key]
  return {
    ...out,
    DICTUMAL_DATA_DIR: dataDir,
    DIGITALOCEAN_API_URL: cloud.digitalOcean.url,
    DIGITALOCEAN_API_TOKEN: cloud.digitalOcean.token,
    DICTUMAL_KEYCHAIN_SERVICE: service,
    DICTUMAL_IMAGE_POLL_MS: '20',
    ...extra,
  }
}

function describeResult(r: CliResult): string {
  return `exit ${r.code} (${r.signal ?? 'no signal'})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`
}

function images(stdout: string): DesktopImage[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as DesktopImage)
}

async function storedImages(): Promise<DesktopImage[]> {
  return (JSON.parse(await readFile(join(dataDir, 'dictumal.json'), 'utf8')) as { images: DesktopImage[] }).images
}

function builderDroplets(): number[] {
  return [...cloud.digitalOcean.droplets.values()].filter((d) => d.tags.includes('dictumal-image')).map((d) => d.id)
}

async function until(test: () => Promise<boolean>, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs
  while (!(await test())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

const SPEC_IMAGE_FIELDS = ['id', 'snapshotId', 'name', 'recipeVersion', 'regions', 'sizeGigabytes', 'status', 'stage', 'percent', 'error', 'createdAt'] as const

describe('dictumal image', { timeout: 120_000 }, () => {
  it('build --wait --json prints the record on every change through the stages to READY; list and delete', async () => {
    const r = await runCli(['image', 'build', '--region', 'ams3', '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
    expect(r.code, describeResult(r)).toBe(0)
    const lines = images(r.stdout)
    for (const line of lines) for (const field of SPEC_IMAGE_FIELDS) expect(line).toHaveProperty(field)
    expect(lines.every((l) => !('driver' in l))).toBe(true)
    const stages = [...new Set(lines.map((l) => l.stage))]
    expect(stages).toEqual(IMAGE_STAGES.filter((s) => stages.includes(s)))
    expect(stages).toEqual(expect.arrayContaining(['installing', 'snapshotting', 'ready']))
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.percent).toBeGreaterThanOrEqual(lines[i - 1]!.percent)
    const final = lines.at(-1)!
    expect(final).toMatchObject({ status: 'READY', regions: ['ams3'], recipeVersion: RECIPE_VERSION, percent: 100 })
    expect(final.name).toMatch(/^dictumal-image-r\d+-\d{8}-\d{4}$/)
    expect(builderDroplets()).toEqual([])
    expect([...cloud.digitalOcean.snapshots.values()].map((s) => s.name)).toEqual([final.name])

    const list = await runCli(['image', 'list', '--json'], { env: env() })
    expect(list.code, describeResult(list)).toBe(0)
    expect(images(list.stdout)).toEqual([expect.objectContaining({ id: final.id, status: 'READY' })])
    const human = await runCli(['image', 'list'], { env: env() })
    expect(human.stdout).toContain(final.id.slice(0, 8))
    expect(human.stdout).toContain('READY')

    const del = await runCli(['image', 'delete', final.id.slice(0, 8)], { env: env() })
    expect(del.code, describeResult(del)).toBe(0)
    expect(del.stdout).toContain('and its snapshot')
    expect(cloud.digitalOcean.snapshots.size).toBe(0)
    expect(await storedImages()).toEqual([])
  })

  it('a failed install exits 1 naming the step; usage errors exit 2, a bad region or ID one sentence', async () => {
    builders.setOptions({ stepMs: 30, failAt: 'pull-images' })
    const r = await runCli(['image', 'build', '--wait'], { env: env(), timeoutMs: 60_000 })
    expect(r.code, describeResult(r)).toBe(1)
    expect(r.stdout).toContain('pull-images')
    expect(builderDroplets()).toEqual([])
    expect(cloud.digitalOcean.snapshots.size).toBe(0)

    for (const args of [['image'], ['image', 'frobnicate'], ['image', 'delete'], ['image', 'build', '--size', 'x'], ['image', 'copy', 'abc']]) {
      const u = await runCli(args, { env: env() })
      expect(u.code, `${args.join(' ')}: ${describeResult(u)}`).toBe(2)
    }
    for (const args of [['image', 'build', '--region', 'Mars 1'], ['image', 'delete', 'ffffffff']]) {
      const e = await runCli(args, { env: env() })
      expect(e.code, describeResult(e)).toBe(1)
      expect(e.stderr.trim().split('\n')).toHaveLength(1)
      expect(e.stderr).not.toMatch(/\n\s+at |Error:/)
    }
  })

  it('build without --wait returns once the builder exists; reconcile then finishes the build', async () => {
    const r = await runCli(['image', 'build', '--json'], { env: env() })
    expect(r.code, describeResult(r)).toBe(0)
    const [started] = images(r.stdout)
    expect(started).toMatchObject({ status: 'BUILDING' })
    expect(started!.builderDropletId).not.toBeNull()
    const rec = await runCli(['reconcile'], { env: env(), timeoutMs: 60_000 })
    expect(rec.code, describeResult(rec)).toBe(0)
    expect(rec.stdout).toContain('image-resumed')
    // A builder is the image service's, never an "unmanaged" droplet to adopt.
    expect(rec.stdout).not.toMatch(/^unmanaged/m)
    expect((await storedImages())[0]).toMatchObject({ status: 'READY' })
    expect(builderDroplets()).toEqual([])
  })

  it('reconcile while build --wait runs in another process leaves the build to it: one shutdown, one snapshot', async () => {
    builders.setOptions({ stepMs: 200 })
    const building = startCli(['image', 'build', '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
    await building.waitForLine((l) => l.startsWith('{') && (JSON.parse(l) as DesktopImage).stage === 'installing', 30_000)
    const rec = await runCli(['reconcile'], { env: env(), timeoutMs: 60_000 })
    const built = await building.done
    expect(built.code, describeResult(built)).toBe(0)
    expect(rec.code, describeResult(rec)).toBe(0)
    expect(rec.stdout).not.toContain('image-resumed')
    const actions = [...cloud.digitalOcean.actions.values()].map((a) => a.type)
    expect(actions.filter((t) => t === 'shutdown')).toHaveLength(1)
    expect(actions.filter((t) => t === 'snapshot')).toHaveLength(1)
    expect(builderDroplets()).toEqual([])
  })

  it('copy --region --wait adds the region', async () => {
    const built = await runCli(['image', 'build', '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
    const id = images(built.stdout).at(-1)!.id
    const r = await runCli(['image', 'copy', id.slice(0, 8), '--region', 'sfo3', '--wait', '--json'], { env: env(), timeoutMs: 30_000 })
    expect(r.code, describeResult(r)).toBe(0)
    expect(images(r.stdout).at(-1)!.regions).toEqual(['nyc3', 'sfo3'])
  })
})

describe('kill -9 of image build --wait, then a restart', { timeout: 120_000 }, () => {
  const stages: ImageStage[] = ['creating-builder', 'waiting-for-ip', 'installing', 'stopping', 'snapshotting', 'deleting-builder']
  for (const stage of stages) {
    it(`killed in ${stage}: reconcile ends with no builder droplet and no half-made snapshot`, async () => {
      // Slow steps where the kill lands, so the process is surely inside that stage.
      if (stage === 'installing') builders.setOptions({ stepMs: 300 })
      // The worst moment to die while creating: DigitalOcean made the builder but its answer never arrived.
      if (stage === 'creating-builder') cloud.digitalOcean.inject({ kind: 'slow', delayMs: 5_000, method: 'POST', path: '/v2/droplets' })
      const child = startCli(['image', 'build', '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
      if (stage === 'creating-builder') {
        await until(async () => builderDroplets().length === 1 && (await storedImages().catch(() => []))[0]?.stage === 'creating-builder')
      } else {
        await child.waitForLine((l) => l.startsWith('{') && (JSON.parse(l) as DesktopImage).stage === stage, 30_000)
      }
      child.child.kill('SIGKILL')
      const killed = await child.done
      expect(killed.signal).toBe('SIGKILL')

      const rec = await runCli(['reconcile'], { env: env(), timeoutMs: 60_000 })
      expect(rec.code, describeResult(rec)).toBe(0)
      const [image] = await storedImages()
      expect(builderDroplets(), `${stage}\n${describeResult(rec)}`).toEqual([])
      const snapshots = [...cloud.digitalOcean.snapshots.values()]
      if (image?.status === 'READY') {
        // Resumed to the end: exactly its one snapshot, nothing half-made beside it.
        expect(snapshots.map((s) => String(s.id))).toEqual([image.snapshotId])
      } else {
        expect(image?.status ?? 'gone').not.toBe('BUILDING')
        expect(snapshots).toEqual([])
      }
      expect(image?.status, describeResult(rec)).toBe('READY')
      // One builder ever: the restart found the first one by its tag instead of creating another.
      expect(cloud.digitalOcean.requests.filter((q) => q.method === 'POST' && q.path === '/v2/droplets')).toHaveLength(1)
      // Nothing in progress is left: a second reconcile finds nothing to do.
      const again = await runCli(['reconcile'], { env: env(), timeoutMs: 30_000 })
      expect(again.stdout).not.toContain('image-resumed')
    })
  }
})

describe.runIf(keyringMode === 'fail')('deploy from an image (keychain)', () => {
  it('needs a usable Secret Service in CI', () => {
    throw new Error(`No usable keychain in CI: ${keyring.usable ? '' : keyring.reason}`)
  })
})

describe.runIf(keyringMode === 'run')('deploy from an image', { timeout: 120_000 }, () => {
  it('deploy uses the newest READY image (fastStart, personalise only); --fresh and an explicit slug do not', async () => {
    const body = join(dataDir, 'body.md')
    await writeFile(body, '# Notes\n')
    const add = await runCli(['constitution', 'add', '--name', 'Notes', '--body-file', body], { env: env() })
    expect(add.code, describeResult(add)).toBe(0)
    const built = await runCli(['image', 'build', '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
    const image = images(built.stdout).at(-1)!
    expect(image.status).toBe('READY')

    const fast = await runCli(['deploy', '--constitution', 'Notes', '--wait', '--json'], { env: env(), timeoutMs: 60_000 })
    expect(fast.code, describeResult(fast)).toBe(0)
    const record = JSON.parse(fast.stdout.trim().split('\n').at(-1)!) as Deployment
    expect(record).toMatchObject({ status: 'ACTIVE', image: image.snapshotId, fastStart: true })
    const droplet = cloud.digitalOcean.droplets.get(record.dropletId!)!
    expect(droplet.fromSnapshot).toBe(Number(image.snapshotId))
    expect(cloud.digitalOcean.userData.get(droplet.id)).toMatch(/runcmd:\n- - \S+\n {2}- personalise/)

    const fresh = await runCli(['deploy', '--constitution', 'Notes', '--fresh', '--json'], { env: env() })
    expect(JSON.parse(fresh.stdout.trim()) as Deployment).toMatchObject({ fastStart: false, image: 'ubuntu-24-04-x64' })
    const explicit = await runCli(['deploy', '--constitution', 'Notes', '--json'], { env: env({ DIGITALOCEAN_IMAGE_SLUG: 'ubuntu-22-04-x64' }) })
    expect(JSON.parse(explicit.stdout.trim()) as Deployment).toMatchObject({ fastStart: false, image: 'ubuntu-22-04-x64' })

    // Measured: one build and one from-image deploy in the rolling record.
    const data = JSON.parse(await readFile(join(dataDir, 'dictumal.json'), 'utf8')) as { timings: { kind: string }[] }
    expect(data.timings.map((t) => t.kind).sort()).toEqual(['build', 'image'])
    expect(transcript.join('')).not.toContain(cloud.digitalOcean.token)
  })
})
