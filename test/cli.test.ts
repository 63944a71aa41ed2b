// The built `dictumal` CLI end to end, as a user runs it: real child processes, the real keychain
// (Secret Service), the fake DigitalOcean behind Prism's contract check, and fake droplets on loopback.
import { randomBytes, randomUUID } from 'node:crypto'
import { request } from 'node:https'
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEPLOYMENT_STAGES, type Deployment, type DeploymentStage } from '../preload/contract'
import { createConstitution, openStore, upsertDeployment } from '../main/core/store'
import { sampleDeployment } from './fixtures/deployment'
import { constitutionFitError } from '../main/core/recipe'
import {
  ensureCliBuilt,
  FINDING_FIELDS,
  findings,
  readAllFiles,
  records,
  runCli,
  secretToolClear,
  secretToolLookup,
  SPEC_FIELDS,
  startCli,
  transcript,
  type CliResult,
} from './cli-helpers'
import { contractAvailable, releaseFromPrism, unexplainedViolations, viaPrism } from './contract/via-prism'
import { startFakeCloud, type FakeCloud } from './fakes/droplet-farm'
import type { FakeDropletOptions } from './fakes/fake-droplet'
import { keyringTestMode, probeKeyring, uniqueTestService } from './keyring'

const keyring = await probeKeyring()
const mode = keyringTestMode(keyring)
if (!keyring.usable && mode === 'skip') {
  console.warn(`test/cli.test.ts: the keychain tests are skipped (set CI to make this a failure): ${keyring.reason}`)
}
const prismAvailable = contractAvailable()

const STAGE_ORDER: readonly DeploymentStage[] = DEPLOYMENT_STAGES

// A realistic-looking token, so a leak anywhere would be the real thing.
const TOKEN = `dop_v1_${randomBytes(32).toString('hex')}`
const service = uniqueTestService()

let cloud: FakeCloud
let apiUrl: string
let dataDir: string
const scratch: string[] = []
/** What the next fake droplet the farm boots should do; tests set it just before deploying. */
let nextDroplet: Omit<FakeDropletOptions, 'ip' | 'userData'> = {}
/** Every deployment's keychain entry, read while it existed, for the secrets grep. */
const deploymentSecrets = new Map<string, { vncPassword: string; guacamoleKey: string; userPassword: string }>()
/** Other secret values the CLI was handed (e.g. a wrong token in the environment), for the secrets grep. */
const otherSecrets: Array<{ what: string; value: string }> = []

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  scratch.push(dir)
  return dir
}

/** Only what the CLI needs: nothing like DIGITALOCEAN_API_TOKEN leaks in from the developer's shell. */
function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const pick = ['PATH', 'HOME', 'DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR', 'TMPDIR', 'LANG']
  const env: NodeJS.ProcessEnv = {}
  for (const key of pick) if (process.env[key] !== undefined) env[key] = process.env[key]
  return {
    ...env,
    DICTUMAL_DATA_DIR: dataDir,
    DIGITALOCEAN_API_URL: apiUrl,
    DICTUMAL_KEYCHAIN_SERVICE: service,
    ...extra,
  }
}

/** Debug logging on: the secrets grep then covers the logs too. */
const debugEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => cliEnv({ DICTUMAL_LOG_LEVEL: 'debug', ...extra })

function oneSentence(stderr: string): void {
  const text = stderr.trim()
  expect(text).not.toBe('')
  // One readable sentence: a single line (a hint may follow on a second line), no stack trace.
  expect(text.split('\n').length).toBeLessThanOrEqual(2)
  expect(text).not.toMatch(/\n\s+at |Error:/)
}

function describeResult(r: CliResult): string {
  return `exit ${r.code} (${r.signal ?? 'no signal'})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`
}

async function rememberSecrets(id: string): Promise<void> {
  const raw = await secretToolLookup(service, `deployment:${id}`)
  expect(raw, `keychain entry deployment:${id}`).not.toBeNull()
  const parsed = JSON.parse(raw ?? '{}') as { vncPassword: string; guacamoleKey: string; userPassword: string }
  expect(parsed.vncPassword).toHaveLength(8)
  expect(parsed.guacamoleKey).toMatch(/^[0-9a-f]{32}$/i)
  deploymentSecrets.set(id, parsed)
}

let loggedIn = false
async function ensureLoggedIn(): Promise<void> {
  if (loggedIn) return
  const r = await runCli(['login', '--token-stdin'], { env: cliEnv(), input: `${TOKEN}\n` })
  expect(r.code, describeResult(r)).toBe(0)
  loggedIn = true
}

let constitutionAdded = false
async function ensureConstitution(): Promise<void> {
  if (constitutionAdded) return
  const body = await tempDir('dictumal-body-')
  await writeFile(join(body, 'notes.md'), '# Research notes\n\nBe kind. Write things down.\n')
  const r = await runCli(['constitution', 'add', '--name', 'Research notes', '--body-file', join(body, 'notes.md')], { env: cliEnv() })
  expect(r.code, describeResult(r)).toBe(0)
  constitutionAdded = true
}

function postsToCreate(): number {
  return cloud.digitalOcean.requests.filter((q) => q.method === 'POST' && q.path === '/v2/droplets').length
}

function dropletsTagged(id: string): number {
  return [...cloud.digitalOcean.droplets.values()].filter((d) => d.tags.includes(`dictumal-${id}`)).length
}

/** A droplet made at DigitalOcean without Dictumal (another tool, a colleague): straight to the fake, past Prism. */
async function createDropletElsewhere(name: string, tags: string[]): Promise<number> {
  const res = await fetch(`${cloud.digitalOcean.url}/v2/droplets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, region: 'nyc3', size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', tags }),
  })
  const body = (await res.json()) as { droplet?: { id: number } }
  expect(res.status, JSON.stringify(body)).toBe(202)
  return body.droplet!.id
}

/** The record as the data file holds it now (the file is replaced atomically, so a read never sees half a write). */
async function storedDeployment(id: string): Promise<Deployment | undefined> {
  const data = JSON.parse(await readFile(join(dataDir, 'dictumal.json'), 'utf8')) as { deployments: Deployment[] }
  return data.deployments.find((d) => d.id === id)
}

async function untilStored(id: string, test: (d: Deployment) => boolean, timeoutMs = 20_000): Promise<Deployment> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const d = await storedDeployment(id)
    if (d && test(d)) return d
    if (Date.now() > deadline) throw new Error(`deployment ${id} did not reach the expected state; last seen: ${JSON.stringify(d)}`)
    await delay(50)
  }
}

function postToken(url: string): Promise<{ status: number; body: string }> {
  const launch = new URL(url)
  const data = launch.searchParams.get('data') ?? ''
  const form = new URLSearchParams({ data }).toString()
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: launch.hostname,
        port: 443,
        method: 'POST',
        path: '/guacamole/api/tokens',
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.end(form)
  })
}

beforeAll(async () => {
  await ensureCliBuilt()
  dataDir = await tempDir('dictumal-cli-data-')
  cloud = await startFakeCloud({
    // Active at once but no IP for 1.6 s: the engine's first look (right after the create) sees
    // `waiting-for-ip`; its second look (2 s later, by its back-off) finds the IP.
    digitalOcean: { token: TOKEN, activeAfterMs: 0, ipAfterMs: 1600, dropletLimit: 30 },
    farm: { dropletOptions: () => nextDroplet },
  })
  apiUrl = prismAvailable ? await viaPrism(cloud.digitalOcean) : cloud.digitalOcean.url
}, 60_000)

afterAll(async () => {
  if (prismAvailable && cloud) await releaseFromPrism(cloud.digitalOcean).catch(() => undefined)
  await cloud?.close()
  if (keyring.usable) await secretToolClear(service)
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('dictumal CLI: usage, data file', () => {
  it('exits 2 with one sentence for an unknown command, a missing --constitution and an unknown flag', async () => {
    const unknown = await runCli(['frobnicate'], { env: cliEnv() })
    expect(unknown.code, describeResult(unknown)).toBe(2)
    expect(unknown.stderr).toContain('Unknown command "frobnicate"')
    oneSentence(unknown.stderr)

    const noConstitution = await runCli(['deploy', '--region', 'nyc3'], { env: cliEnv() })
    expect(noConstitution.code, describeResult(noConstitution)).toBe(2)
    expect(noConstitution.stderr).toContain('--constitution')
    oneSentence(noConstitution.stderr)

    const badFlag = await runCli(['list', '--colour'], { env: cliEnv() })
    expect(badFlag.code, describeResult(badFlag)).toBe(2)
    expect(badFlag.stderr).toContain('--colour')
    oneSentence(badFlag.stderr)

    const extra = await runCli(['status'], { env: cliEnv() })
    expect(extra.code, describeResult(extra)).toBe(2)
    expect(extra.stdout).toBe('')
  })

  it('keeps a corrupt data file aside, says so in one sentence, and still lists', async () => {
    const dir = await tempDir('dictumal-cli-corrupt-')
    const garbage = `{"schemaVersion": 1, "constitutions": [ this is not json ${randomBytes(4).toString('hex')}`
    await writeFile(join(dir, 'dictumal.json'), garbage)
    const r = await runCli(['list'], { env: cliEnv({ DICTUMAL_DATA_DIR: dir }) })
    expect(r.code, describeResult(r)).toBe(0)
    expect(r.stderr).toMatch(/kept aside at .*dictumal\.json\.corrupt-/)
    oneSentence(r.stderr)
    const kept = (await readdir(dir)).filter((f) => f.startsWith('dictumal.json.corrupt-'))
    expect(kept).toHaveLength(1)
    expect(await readFile(join(dir, kept[0] ?? ''), 'utf8')).toBe(garbage)
    // The next run starts clean and has nothing to report.
    const again = await runCli(['list'], { env: cliEnv({ DICTUMAL_DATA_DIR: dir }) })
    expect(again.code).toBe(0)
    expect(again.stderr).toBe('')
  })

  it('loses no write when the app and five CLI processes add constitutions at once', async () => {
    const dir = await tempDir('dictumal-cli-concurrent-')
    const store = await openStore(dir)
    try {
      const app = Promise.all(
        Array.from({ length: 50 }, (_, i) => createConstitution(store, { name: `app ${i}`, body: `from the app, number ${i}` })),
      )
      const clis = Promise.all(
        Array.from({ length: 5 }, async (_, p) => {
          const results: CliResult[] = []
          for (let i = 0; i < 3; i++) {
            results.push(await runCli(['constitution', 'add', '--name', `cli ${p}-${i}`], { env: cliEnv({ DICTUMAL_DATA_DIR: dir }) }))
          }
          return results
        }),
      )
      const [fromApp, fromCli] = await Promise.all([app, clis])
      expect(fromApp.every((r) => r.ok)).toBe(true)
      for (const r of fromCli.flat()) expect(r.code, describeResult(r)).toBe(0)

      const listed = await runCli(['constitution', 'list', '--json'], { env: cliEnv({ DICTUMAL_DATA_DIR: dir }) })
      expect(listed.code).toBe(0)
      const names = listed.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { name: string }).name)
      expect(names).toHaveLength(65)
      expect(new Set(names).size).toBe(65)
      for (let p = 0; p < 5; p++) for (let i = 0; i < 3; i++) expect(names).toContain(`cli ${p}-${i}`)
      const onDisk = JSON.parse(await readFile(join(dir, 'dictumal.json'), 'utf8')) as { constitutions: unknown[] }
      expect(onDisk.constitutions).toHaveLength(65)
    } finally {
      await store.close()
    }
  }, 60_000)
})

// Text from the data file (edited by hand, or by another program) and from DigitalOcean must not drive the terminal.
// eslint-disable-next-line no-control-regex -- the characters a terminal would act on
const TERMINAL_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/
const HOSTILE_NAME = 'Evil\u001b]0;owned\u0007\u001b[2J\u009b31m\u202Egnp.exe\u2066x\u2069\u2028\rFAKE\u0085end'
const HOSTILE_ERROR = 'Setup failed\u001b]52;c;aGk=\u0007\nFAIL  forged line\u001b]8;;https://evil.example\u001b\\link'

describe('dictumal CLI: hostile text and configuration', () => {
  it('prints names and errors from the data file without terminal controls, human and --json alike', async () => {
    const dir = await tempDir('dictumal-cli-hostile-')
    const store = await openStore(dir)
    try {
      await store.update((draft) => {
        draft.constitutions.push({ id: 'c0ffee00-0000-4000-8000-000000000001', name: HOSTILE_NAME, body: '# body\n', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' })
      })
      await upsertDeployment(store, sampleDeployment({ id: 'bad0bad0-0000-4000-8000-000000000001', name: HOSTILE_NAME, status: 'ERROR', stage: 'installing-packages', error: HOSTILE_ERROR }))
    } finally {
      await store.close()
    }
    const env = cliEnv({ DICTUMAL_DATA_DIR: dir })
    const runs = {
      constitutions: await runCli(['constitution', 'list'], { env }),
      constitutionsJson: await runCli(['constitution', 'list', '--json'], { env }),
      list: await runCli(['list'], { env }),
      listJson: await runCli(['list', '--json'], { env }),
      status: await runCli(['status', 'bad0bad0'], { env }),
      statusJson: await runCli(['status', 'bad0bad0', '--json'], { env }),
      missing: await runCli(['deploy', '--constitution', HOSTILE_NAME.slice(0, 13)], { env }),
    }
    for (const [what, r] of Object.entries(runs)) {
      expect(r.stdout + r.stderr, what).not.toMatch(TERMINAL_CONTROL)
      expect(r.code, `${what}: ${describeResult(r)}`).toBe(what === 'missing' ? 1 : 0)
    }
    // Human output: each value stays on its own line, its controls shown as \uXXXX.
    expect(runs.constitutions.stdout).toBe('c0ffee00  Evil\\u001b]0;owned\\u0007\\u001b[2J\\u009b31m\\u202egnp.exe\\u2066x\\u2069\\u2028\\u000dFAKE\\u0085end\n')
    expect(runs.list.stdout.trimEnd().split('\n')).toHaveLength(2)
    expect(runs.list.stdout).toContain('Setup failed\\u001b]52;c;aGk=\\u0007\\u000aFAIL  forged line')
    expect(runs.status.stdout).toBe(runs.list.stdout)
    oneSentence(runs.missing.stderr)
    expect(runs.missing.stderr).toContain('\\u001b]0;owned')
    // JSON output: the records parse back to exactly what is stored.
    expect(JSON.parse(runs.constitutionsJson.stdout)).toMatchObject({ name: HOSTILE_NAME })
    for (const r of [runs.listJson, runs.statusJson]) expect(records(r.stdout)).toEqual([expect.objectContaining({ name: HOSTILE_NAME, error: HOSTILE_ERROR })])
  }, 60_000)

  it('constitution add --body-file refuses bodies that would not fit, in the same sentence as the app, and stores nothing', async () => {
    const dir = await tempDir('dictumal-cli-body-')
    const env = cliEnv({ DICTUMAL_DATA_DIR: dir })
    // 30 MB: refused from its size, before it is read.
    const huge = join(dir, 'huge.md')
    await writeFile(huge, '')
    await truncate(huge, 30_000_000)
    const big = await runCli(['constitution', 'add', '--name', 'Huge', '--body-file', huge], { env })
    expect(big.code, describeResult(big)).toBe(1)
    oneSentence(big.stderr)
    expect(big.stderr).toContain(`The body file "${huge}" is 30.0 MB, too large for a constitution`)
    // 300 KB of random text: read, and refused by the recipe's own measure.
    const body = randomBytes(225_000).toString('base64')
    await writeFile(join(dir, 'random.md'), body)
    const random = await runCli(['constitution', 'add', '--name', 'Random', '--body-file', join(dir, 'random.md')], { env })
    expect(random.code, describeResult(random)).toBe(1)
    oneSentence(random.stderr)
    const sentence = constitutionFitError({ name: 'Random', body })
    expect(sentence?.message).toMatch(/^The constitution is too large to send to the droplet: it is 29\d\.\d KiB, and about [1-9]\d*\.\d KiB/)
    expect(random.stderr).toBe(`${sentence?.message}\n${sentence?.hint}\n`)
    // Prose well over 64 KiB still fits compressed, and is kept byte for byte.
    const prose = Array.from({ length: 2000 }, (_, i) => `${i}. Be kind, write things down, and leave the desk tidier than you found it.\n`).join('')
    expect(Buffer.byteLength(prose)).toBeGreaterThan(150_000)
    await writeFile(join(dir, 'prose.md'), prose)
    const fits = await runCli(['constitution', 'add', '--name', 'Prose', '--body-file', join(dir, 'prose.md'), '--json'], { env })
    expect(fits.code, describeResult(fits)).toBe(0)
    const listed = await runCli(['constitution', 'list', '--json'], { env })
    expect(listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; body: string })).toEqual([expect.objectContaining({ name: 'Prose', body: prose })])
  }, 60_000)

  it('refuses a DIGITALOCEAN_API_URL that is plain http off loopback, in one sentence', async () => {
    const dir = await tempDir('dictumal-cli-api-url-')
    for (const url of ['http://203.0.113.9:4010', 'http://api.digitalocean.com']) {
      const r = await runCli(['list'], { env: cliEnv({ DICTUMAL_DATA_DIR: dir, DIGITALOCEAN_API_URL: url }) })
      expect(r.code, describeResult(r)).toBe(1)
      expect(r.stdout).toBe('')
      oneSentence(r.stderr)
      expect(r.stderr).toContain('DIGITALOCEAN_API_URL must start with https://')
    }
    const loopback = await runCli(['list'], { env: cliEnv({ DICTUMAL_DATA_DIR: dir, DIGITALOCEAN_API_URL: 'http://localhost:9' }) })
    expect(loopback.code, describeResult(loopback)).toBe(0)
  }, 30_000)
})

describe.runIf(mode === 'fail')('dictumal CLI keychain', () => {
  it('needs a usable Secret Service in CI', () => {
    throw new Error(`No usable keychain in CI: ${keyring.usable ? '' : keyring.reason}`)
  })
})

describe.runIf(mode === 'run')('dictumal CLI with the real keychain', () => {
  let active: Deployment
  let resumed: Deployment
  let broken: Deployment

  it('login --token-stdin refuses a wrong token and stores the right one in the keychain', async () => {
    const wrong = await runCli(['login', '--token-stdin'], { env: cliEnv(), input: 'dop_v1_not-the-right-token\n' })
    expect(wrong.code, describeResult(wrong)).toBe(1)
    oneSentence(wrong.stderr)
    expect(wrong.stderr).not.toContain('not-the-right-token')
    expect(await secretToolLookup(service, 'digitalocean-token')).toBeNull()

    const right = await runCli(['login', '--token-stdin'], { env: cliEnv(), input: `${TOKEN}\n` })
    expect(right.code, describeResult(right)).toBe(0)
    expect(right.stdout).toContain('keychain')
    expect(await secretToolLookup(service, 'digitalocean-token')).toBe(TOKEN)
    loggedIn = true
  })

  it('constitution add --body-file, then constitution list --json', async () => {
    await ensureConstitution()
    const r = await runCli(['constitution', 'list', '--json'], { env: cliEnv() })
    expect(r.code, describeResult(r)).toBe(0)
    const listed = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; name: string; body: string })
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({ name: 'Research notes', body: '# Research notes\n\nBe kind. Write things down.\n' })
    expect(listed[0]?.id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('deploy --wait --json goes through the stages in order to ACTIVE; launch-url opens a session', async () => {
    await ensureLoggedIn()
    await ensureConstitution()
    // The droplet boots only when the test says so: every stage is then seen, whatever the timing.
    nextDroplet = { timeline: { paused: true } }
    const cli = startCli(['deploy', '--constitution', 'Research notes', '--region', 'nyc3', '--size', 's-2vcpu-4gb', '--wait', '--json'], {
      env: debugEnv(),
      timeoutMs: 40_000,
    })
    const drive = new Map<DeploymentStage, string>([
      ['installing-packages', 'start-guacamole'], // start-vnc done: VNC listens
      ['starting-guacamole', 'configure-https'], // start-guacamole done: 8080 answers
      ['configuring-https', 'done'], // configure-https done: Nginx serves 443
    ])
    cli.onLine((line) => {
      const d = JSON.parse(line) as Deployment
      const step = drive.get(d.stage)
      if (step === undefined || d.dropletId === null) return
      drive.delete(d.stage)
      void cloud.farm.whenStarted(d.dropletId).then((droplet) => droplet.controls.goTo(step))
    })
    const result = await cli.done
    expect(result.code, describeResult(result)).toBe(0)

    const lines = records(result.stdout)
    for (const d of lines) expect(Object.keys(d).sort()).toEqual([...SPEC_FIELDS].sort())
    const [first] = lines
    const last = lines.at(-1)
    expect(first).toMatchObject({ status: 'PROVISIONING', stage: 'provisioning-droplet', percent: 22, region: 'nyc3', size: 's-2vcpu-4gb' })
    expect(last).toMatchObject({ status: 'ACTIVE', stage: 'active', percent: 100, error: null })
    expect(last?.ip).toMatch(/^127\./)
    expect(last?.activeAt).not.toBeNull()
    expect(last?.certFingerprint).toMatch(/^sha256\/[A-Za-z0-9+/]{43}=$/)
    expect(new Set(lines.map((d) => d.id)).size).toBe(1)

    for (let i = 1; i < lines.length; i++) {
      expect(lines[i]!.percent).toBeGreaterThanOrEqual(lines[i - 1]!.percent)
      expect(STAGE_ORDER.indexOf(lines[i]!.stage)).toBeGreaterThanOrEqual(STAGE_ORDER.indexOf(lines[i - 1]!.stage))
    }
    const stages = [...new Set(lines.map((d) => d.stage))]
    expect(stages).toEqual([...DEPLOYMENT_STAGES])
    expect(lines.map((d) => d.status)).toEqual(expect.arrayContaining(['PROVISIONING', 'CONFIGURING', 'ACTIVE']))
    active = last!
    await rememberSecrets(active.id)

    const droplet = await cloud.farm.whenStarted(active.dropletId!)
    const sessionsBefore = droplet.record.sessionsCreated.length
    const url = await runCli(['launch-url', active.id.slice(0, 8)], { env: cliEnv() })
    expect(url.code, describeResult(url)).toBe(0)
    const launch = url.stdout.trim()
    expect(launch).toMatch(new RegExp(`^https://${active.ip!.replace(/\./g, '\\.')}/guacamole/\\?data=[^&\\s]+$`))
    const reply = await postToken(launch)
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body)).toMatchObject({ username: expect.any(String), authToken: expect.any(String) })
    expect(droplet.record.sessionsCreated.length).toBe(sessionsBefore + 1)
  }, 60_000)

  it('a SIGKILLed deploy is resumed by status --watch: one POST, one droplet, ACTIVE', async () => {
    await ensureLoggedIn()
    await ensureConstitution()
    nextDroplet = { timeline: { stepMs: 400 } }
    const postsBefore = postsToCreate()
    const cli = startCli(['deploy', '--constitution', 'Research notes', '--wait', '--json'], { env: debugEnv() })
    const line = await cli.waitForLine((l) => (JSON.parse(l) as Deployment).status === 'CONFIGURING', 30_000)
    cli.child.kill('SIGKILL')
    const killed = await cli.done
    expect(killed.signal).toBe('SIGKILL')
    const id = (JSON.parse(line) as Deployment).id
    await rememberSecrets(id)

    const watch = await runCli(['status', id.slice(0, 10), '--watch', '--json'], { env: debugEnv(), timeoutMs: 45_000 })
    expect(watch.code, describeResult(watch)).toBe(0)
    const lines = records(watch.stdout)
    expect(lines[0]?.status).toBe('CONFIGURING')
    expect(lines.at(-1)).toMatchObject({ id, status: 'ACTIVE', percent: 100 })
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.percent).toBeGreaterThanOrEqual(lines[i - 1]!.percent)

    expect(postsToCreate() - postsBefore).toBe(1)
    expect(dropletsTagged(id)).toBe(1)
    resumed = lines.at(-1)!
  }, 60_000)

  it('a droplet whose setup step fails makes deploy --wait exit 1 within seconds, naming the step', async () => {
    await ensureLoggedIn()
    await ensureConstitution()
    nextDroplet = { timeline: { stepMs: 60 }, faults: { failStep: { step: 'pull-images', exitCode: 100 } } }
    const started = Date.now()
    const r = await runCli(['deploy', '--constitution', 'Research notes', '--wait', '--json'], { env: debugEnv(), timeoutMs: 30_000 })
    const elapsed = Date.now() - started
    expect(r.code, describeResult(r)).toBe(1)
    // The IP alone takes ~2 s (DigitalOcean look-ups back off); the failure itself must be seen at once.
    expect(elapsed).toBeLessThan(10_000)
    const last = records(r.stdout).at(-1)
    expect(last?.status).toBe('ERROR')
    expect(last?.error).toContain('Downloading the Guacamole images failed on the droplet (exit code')
    expect(last?.error).toContain('/var/log/dictumal-init.log')
    broken = last!
    await rememberSecrets(broken.id)
  }, 30_000)

  it('deploy with DIGITALOCEAN_SSH_KEYS (an id and a fingerprint) hands them to DigitalOcean and reaches ACTIVE; a bad key is one sentence', async () => {
    await ensureLoggedIn()
    await ensureConstitution()
    const fingerprint = '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'
    nextDroplet = { timeline: { stepMs: 30 } }
    const r = await runCli(['deploy', '--constitution', 'Research notes', '--wait', '--json'], {
      env: debugEnv({ DIGITALOCEAN_SSH_KEYS: `12345,${fingerprint}` }),
      timeoutMs: 40_000,
    })
    nextDroplet = {}
    expect(r.code, describeResult(r)).toBe(0)
    const last = records(r.stdout).at(-1)!
    expect(last).toMatchObject({ status: 'ACTIVE', error: null })
    await rememberSecrets(last.id)
    expect(cloud.digitalOcean.droplets.get(last.dropletId!)?.sshKeys).toEqual([12345, fingerprint])
    expect(cloud.digitalOcean.userData.get(last.dropletId!) ?? '').not.toContain(fingerprint)

    const creates = postsToCreate()
    const bad = await runCli(['deploy', '--constitution', 'Research notes'], {
      env: cliEnv({ DIGITALOCEAN_SSH_KEYS: '12345,SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8' }),
    })
    expect(bad.code, describeResult(bad)).toBe(1)
    oneSentence(bad.stderr)
    expect(bad.stderr).toMatch(/^The SSH key "SHA256:.+" in DIGITALOCEAN_SSH_KEYS is a SHA256 fingerprint, which DigitalOcean does not take here; /)
    expect(postsToCreate()).toBe(creates)

    const gone = await runCli(['destroy', last.id, '--yes'], { env: cliEnv() })
    expect(gone.code, describeResult(gone)).toBe(0)
  }, 60_000)

  it('destroy needs --yes without a terminal (exit 2), and removes droplet and secrets from ACTIVE and from ERROR', async () => {
    expect(active, 'the deploy test ran').toBeDefined()
    expect(broken, 'the failing-droplet test ran').toBeDefined()

    const refused = await runCli(['destroy', active.id.slice(0, 8)], { env: cliEnv() })
    expect(refused.code, describeResult(refused)).toBe(2)
    expect(refused.stderr).toContain('--yes')
    expect(cloud.digitalOcean.droplets.has(active.dropletId!)).toBe(true)

    for (const d of [active, broken]) {
      const r = await runCli(['destroy', d.id.slice(0, 8), '--yes'], { env: debugEnv() })
      expect(r.code, describeResult(r)).toBe(0)
      expect(cloud.digitalOcean.droplets.has(d.dropletId!)).toBe(false)
      expect(await secretToolLookup(service, `deployment:${d.id}`)).toBeNull()
    }
    const listed = await runCli(['list', '--json'], { env: cliEnv() })
    expect(listed.code).toBe(0)
    const byId = new Map(records(listed.stdout).map((d) => [d.id, d]))
    for (const d of [active, broken]) {
      expect(byId.get(d.id)).toMatchObject({ status: 'DESTROYED' })
      expect(byId.get(d.id)?.destroyedAt).not.toBeNull()
    }
    if (resumed) {
      const r = await runCli(['destroy', resumed.id, '--yes'], { env: cliEnv() })
      expect(r.code, describeResult(r)).toBe(0)
      expect(dropletsTagged(resumed.id)).toBe(0)
    }
  }, 60_000)

  it('reconcile --json reports a droplet deleted elsewhere and an unmanaged droplet, in exactly the SPEC §7 form', async () => {
    await ensureLoggedIn()
    await ensureConstitution()
    nextDroplet = { timeline: { stepMs: 40 } }
    const deployed = await runCli(['deploy', '--constitution', 'Research notes', '--wait', '--json'], { env: debugEnv(), timeoutMs: 30_000 })
    expect(deployed.code, describeResult(deployed)).toBe(0)
    const gone = records(deployed.stdout).at(-1)!
    expect(gone).toMatchObject({ status: 'ACTIVE' })
    await rememberSecrets(gone.id)
    expect(cloud.digitalOcean.deleteBehindBack(gone.dropletId!)).toBe(true)

    const strayDeploymentId = randomUUID()
    const strayId = await createDropletElsewhere('stray-droplet', ['dictumal', `dictumal-${strayDeploymentId}`])
    try {
      const r = await runCli(['reconcile', '--json'], { env: debugEnv(), timeoutMs: 30_000 })
      expect(r.code, describeResult(r)).toBe(0)
      const found = findings(r.stdout)
      for (const f of found) expect(Object.keys(f).sort()).toEqual([...FINDING_FIELDS].sort())
      expect(found).toEqual([
        { kind: 'destroyed-elsewhere', deploymentId: gone.id, dropletId: gone.dropletId, name: gone.name },
        { kind: 'unmanaged', deploymentId: strayDeploymentId, dropletId: strayId, name: 'stray-droplet' },
      ])

      const listed = await runCli(['list', '--json'], { env: cliEnv() })
      expect(listed.code, describeResult(listed)).toBe(0)
      const record = records(listed.stdout).find((d) => d.id === gone.id)
      expect(record).toMatchObject({ status: 'DESTROYED', error: expect.stringContaining('deleted outside Dictumal') })
      expect(record?.destroyedAt).not.toBeNull()
      expect(await secretToolLookup(service, `deployment:${gone.id}`)).toBeNull()
      // Reconcile only reports a droplet it does not own; deleting it is the user's call.
      expect(cloud.digitalOcean.droplets.has(strayId)).toBe(true)

      // Settled: the deletion is not reported twice, the stray droplet still is.
      const again = await runCli(['reconcile', '--json'], { env: cliEnv(), timeoutMs: 30_000 })
      expect(again.code, describeResult(again)).toBe(0)
      expect(findings(again.stdout)).toEqual([{ kind: 'unmanaged', deploymentId: strayDeploymentId, dropletId: strayId, name: 'stray-droplet' }])
    } finally {
      cloud.digitalOcean.deleteBehindBack(strayId)
    }
  }, 60_000)

  it('reconcile --json resumes a deployment in progress and exits 0 only once it is ACTIVE', async () => {
    await ensureLoggedIn()
    await ensureConstitution()
    // The droplet's boot waits for the test: the reconcile has something to wait for, for as long as needed.
    nextDroplet = { timeline: { paused: true, stepMs: 40 } }
    const created = await runCli(['deploy', '--constitution', 'Research notes', '--json'], { env: debugEnv(), timeoutMs: 30_000 })
    expect(created.code, describeResult(created)).toBe(0)
    const [record] = records(created.stdout)
    expect(record).toMatchObject({ status: 'PROVISIONING' })
    expect(record?.dropletId).not.toBeNull()
    const pending = record!
    await rememberSecrets(pending.id)

    const cli = startCli(['reconcile', '--json'], { env: debugEnv(), timeoutMs: 40_000 })
    const line = await cli.waitForLine((l) => (JSON.parse(l) as { kind: string }).kind === 'resumed')
    expect(JSON.parse(line)).toEqual({ kind: 'resumed', deploymentId: pending.id, dropletId: pending.dropletId, name: pending.name })

    // Only the reconcile process drives it now: it reaches the droplet, finds the boot under way, and keeps waiting.
    const droplet = await cloud.farm.whenStarted(pending.dropletId!)
    await untilStored(pending.id, (d) => d.status === 'CONFIGURING')
    await delay(300)
    expect(cli.child.exitCode, 'reconcile exited while the deployment was still configuring').toBeNull()
    expect(cli.child.signalCode).toBeNull()

    droplet.controls.resume()
    const result = await cli.done
    expect(result.code, describeResult(result)).toBe(0)
    expect(findings(result.stdout)).toHaveLength(1)
    expect(await storedDeployment(pending.id)).toMatchObject({ status: 'ACTIVE', stage: 'active', percent: 100 })

    const status = await runCli(['status', pending.id.slice(0, 8), '--json'], { env: cliEnv() })
    expect(status.code, describeResult(status)).toBe(0)
    expect(records(status.stdout)).toEqual([expect.objectContaining({ id: pending.id, status: 'ACTIVE' })])

    const destroyed = await runCli(['destroy', pending.id, '--yes'], { env: cliEnv() })
    expect(destroyed.code, describeResult(destroyed)).toBe(0)
  }, 60_000)

  it('status with an unknown or an ambiguous id prefix exits 1 with one sentence', async () => {
    const unknown = await runCli(['status', 'zz9'], { env: cliEnv() })
    expect(unknown.code, describeResult(unknown)).toBe(1)
    expect(unknown.stdout).toBe('')
    expect(unknown.stderr).toContain('"zz9"')
    oneSentence(unknown.stderr)

    // Two records whose ids share a prefix; random UUIDs would not share one reliably.
    const listed = await runCli(['list', '--json'], { env: cliEnv() })
    const template = records(listed.stdout)[0]
    expect(template, 'an earlier test left a deployment record').toBeDefined()
    const dir = await tempDir('dictumal-cli-ambiguous-')
    const store = await openStore(dir)
    try {
      for (const n of [1, 2]) await upsertDeployment(store, { ...template!, id: `abcdef0${n}-0000-4000-8000-00000000000${n}`, status: 'DESTROYED' })
    } finally {
      await store.close()
    }
    const ambiguous = await runCli(['status', 'ABCDEF0'], { env: cliEnv({ DICTUMAL_DATA_DIR: dir }) })
    expect(ambiguous.code, describeResult(ambiguous)).toBe(1)
    expect(ambiguous.stdout).toBe('')
    expect(ambiguous.stderr).toMatch(/"abcdef0" matches 2 deployments/)
    oneSentence(ambiguous.stderr)
    // One more character makes it unique.
    const unique = await runCli(['status', 'abcdef02', '--json'], { env: cliEnv({ DICTUMAL_DATA_DIR: dir }) })
    expect(unique.code, describeResult(unique)).toBe(0)
    expect(records(unique.stdout).map((d) => d.id)).toEqual(['abcdef02-0000-4000-8000-000000000002'])
  })

  it('doctor says ok for data folder, keychain, token and API; a wrong DIGITALOCEAN_API_TOKEN is a FAIL that never shows the token', async () => {
    await ensureLoggedIn()
    const good = await runCli(['doctor'], { env: debugEnv() })
    expect(good.code, describeResult(good)).toBe(0)
    const lines = good.stdout.trim().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^ok\s+data folder /)
    expect(lines[0]).toContain(dataDir)
    expect(lines[1]).toMatch(/^ok\s+system keychain is available/)
    expect(lines[2]).toMatch(/^ok\s+DigitalOcean token from the keychain/)
    expect(lines[3]).toMatch(/^ok\s+DigitalOcean API reachable/)

    const wrong = `dop_v1_${randomBytes(32).toString('hex')}`
    otherSecrets.push({ what: 'the wrong token given to doctor', value: wrong })
    const bad = await runCli(['doctor'], { env: debugEnv({ DIGITALOCEAN_API_TOKEN: wrong }) })
    expect(bad.code, describeResult(bad)).toBe(1)
    const badLines = bad.stdout.trim().split('\n')
    expect(badLines).toContainEqual(expect.stringMatching(/^ok\s+DigitalOcean token from DIGITALOCEAN_API_TOKEN/))
    const fails = badLines.filter((l) => l.startsWith('FAIL'))
    expect(fails).toEqual([expect.stringMatching(/^FAIL\s+DigitalOcean rejected the API token: it is invalid, expired or revoked\.$/)])
    expect(bad.stdout + bad.stderr).not.toContain(wrong)
    expect(bad.stdout + bad.stderr).not.toContain(TOKEN)
  }, 30_000)

  it('logout removes the token from the keychain, says when there was none, and warns that DIGITALOCEAN_API_TOKEN still applies', async () => {
    await ensureLoggedIn()
    expect(await secretToolLookup(service, 'digitalocean-token')).toBe(TOKEN)
    const first = await runCli(['logout'], { env: debugEnv() })
    expect(first.code, describeResult(first)).toBe(0)
    loggedIn = false
    expect(first.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^Removed the DigitalOcean token from the keychain\.$/)])
    expect(await secretToolLookup(service, 'digitalocean-token')).toBeNull()

    const second = await runCli(['logout'], { env: cliEnv() })
    expect(second.code, describeResult(second)).toBe(0)
    expect(second.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^No DigitalOcean token was stored\.$/)])

    await ensureLoggedIn()
    const withEnv = await runCli(['logout'], { env: debugEnv({ DIGITALOCEAN_API_TOKEN: TOKEN }) })
    expect(withEnv.code, describeResult(withEnv)).toBe(0)
    loggedIn = false
    expect(withEnv.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^Removed the DigitalOcean token from the keychain\.$/),
      expect.stringMatching(/DIGITALOCEAN_API_TOKEN is still set .*will still be used\.$/),
    ])
    expect(await secretToolLookup(service, 'digitalocean-token')).toBeNull()
  }, 30_000)

  it('no secret appears in any CLI output or any file in the data folder', async () => {
    expect(deploymentSecrets.size).toBeGreaterThanOrEqual(5)
    const haystacks = [...transcript.map((text, i) => ({ path: `cli output #${i}`, text })), ...(await readAllFiles(dataDir))]
    expect(haystacks.some((h) => h.path.endsWith('dictumal.json'))).toBe(true)
    const needles: Array<{ what: string; value: string }> = [{ what: 'DigitalOcean token', value: TOKEN }, ...otherSecrets]
    for (const [id, s] of deploymentSecrets) {
      needles.push({ what: `VNC password of ${id}`, value: s.vncPassword })
      needles.push({ what: `Guacamole key of ${id}`, value: s.guacamoleKey })
      needles.push({ what: `user password of ${id}`, value: s.userPassword })
    }
    const hits: string[] = []
    for (const h of haystacks) for (const n of needles) if (h.text.includes(n.value)) hits.push(`${n.what} in ${h.path}`)
    expect(hits).toEqual([])
  })

  it.runIf(prismAvailable)('every DigitalOcean call the CLI made passed the OpenAPI contract (Prism)', async () => {
    expect(cloud.digitalOcean.requests.length).toBeGreaterThan(5)
    expect(await unexplainedViolations(cloud.digitalOcean)).toEqual([])
  })
})
