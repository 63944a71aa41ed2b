// Property test: whatever a constitution holds, cloud-init reads back exactly the files we wrote and the
// constitution byte for byte — or the app refused it with a sentence. Checked with cloud-init's own
// loader (Python, PyYAML), which reads U+0085/U+2028/U+2029 as line breaks where a YAML 1.2 writer does not.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { generateDeploymentCertificate, type DeploymentCertificate } from '../certificate'
import { generateDeploymentSecrets } from '../deployment-secrets'
import { DROPLET_PATHS } from './paths'
import { buildBakeUserData, buildUserData, SSHD_DROP_IN, type UserDataInput } from './user-data'
import { RecipeError } from './validation'

const ID = '5d0c9a7e-1b2c-4d3e-8f40-1a2b3c4d5e6f'
const PYTHON = '/usr/bin/python3'
const READER = join(import.meta.dirname, 'testing', 'cloud-init-read.py')
const p = DROPLET_PATHS
const EXPECTED_PATHS = [
  p.deploymentFile,
  p.secretsEnv,
  p.guacamoleEnv,
  p.certPem,
  p.keyPem,
  p.nginxSite,
  p.constitution,
  p.logKey,
  p.nginxSetupLogAuth,
  p.setupLogServer,
  p.setupLogUnit,
  SSHD_DROP_IN,
  p.firewallRules,
  p.guacamoleHook,
  p.activityUnit,
  p.beaconScript,
  p.setupScript,
].sort()

interface CloudInitView {
  ok: boolean
  error?: string
  keys?: string[]
  files?: { path: string; owner: string | null; permissions: string | null; append: boolean; content: string }[]
  sshKeys?: string[] | null
  runcmd?: unknown
}

function cloudInitAvailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`
  const probe = spawnSync(PYTHON, ['-c', 'import cloudinit.util, cloudinit.config.cc_write_files'], { encoding: 'utf8' })
  return probe.status === 0 ? null : "cloud-init's Python modules are missing: apt-get install cloud-init"
}

/** Every user data through one Python process, as cloud-init would read each. */
function readAsCloudInit(userDatas: string[]): CloudInitView[] {
  const result = spawnSync(PYTHON, [READER], {
    input: userDatas.map((u) => JSON.stringify(u)).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  })
  if (result.status !== 0) throw new Error(`cloud-init reader failed: ${result.stderr}`)
  return result.stdout.trim().split('\n').map((line) => JSON.parse(line) as CloudInitView)
}

// Characters that break YAML 1.1 or terminals, mixed in far more often than chance would.
const NASTY = [
  '\u0085', '\u2028', '\u2029', '\t', '\x7f', '\x00', '\x1b', '\r', '\n', '\r\n', '\ufeff', '\ud800', '\udfff',
  '\u009b', '\u0080', '\u009f', '\u00a0', '\u200b', '\u202e', '\ufffe', '\uffff', '"', "'", ':', '- ', '#', '|', '>',
  '&a', '*a', '!!binary ', '%YAML', '---', '...', '{', '}', '[', ']', '$(id)', '`id`', '\\', '😀', '憲法',
  '- path: /root/.ssh/authorized_keys', '  append: true', "  content: 'ssh-ed25519 AAAA attacker'",
]
const anyChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 5, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) },
)
const text = (maxLength: number) => fc.array(anyChar, { maxLength }).map((parts) => parts.join(''))
const longLine = fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.integer({ min: 1000, max: 40_000 }))
  .map(([chunk, times]) => chunk.repeat(times))

let cert: DeploymentCertificate
let base: Omit<UserDataInput, 'constitution'>

beforeAll(async () => {
  cert = await generateDeploymentCertificate({ deploymentId: ID })
  base = { deploymentId: ID, secrets: generateDeploymentSecrets(), certificate: { certPem: cert.certPem, keyPem: cert.keyPem } }
})

type Outcome = { kind: 'refused'; message: string } | { kind: 'built'; userData: string; body: string }

function attempt(name: string, body: string): Outcome {
  try {
    return { kind: 'built', userData: buildUserData({ ...base, constitution: { name, body } }), body }
  } catch (error) {
    if (error instanceof RecipeError) return { kind: 'refused', message: error.userError.message }
    throw error
  }
}

function expectIntact(view: CloudInitView, body: string): void {
  expect(view.error).toBeUndefined()
  expect(view.ok).toBe(true)
  expect(view.keys).toEqual(['bootcmd', 'runcmd', 'ssh_pwauth', 'write_files'])
  const files = view.files ?? []
  expect(files.map((f) => f.path).sort()).toEqual(EXPECTED_PATHS)
  expect(files.every((f) => f.owner === 'root:root' && !f.append)).toBe(true)
  const constitution = files.find((f) => f.path === p.constitution)
  expect(Buffer.from(constitution?.content ?? '', 'base64').equals(Buffer.from(body, 'utf8'))).toBe(true)
  expect(view.runcmd).toEqual([[p.setupScript, 'full']])
}

function expectSentence(message: string): void {
  expect(message).toMatch(/^[A-Z].*\.$/)
  expect(message).not.toMatch(/\n/)
}

describe('user data as cloud-init reads it', () => {
  it('holds exactly the expected files and the constitution byte for byte, for any name and body (or refuses)', (ctx) => {
    const missing = cloudInitAvailable()
    if (missing) return process.env.CI ? expect.fail(missing) : ctx.skip(missing)
    const seed = Number(process.env.DICTUMAL_PROPERTY_SEED ?? Date.now() % 2 ** 31)
    console.log(`property seed ${seed} (rerun with DICTUMAL_PROPERTY_SEED=${seed})`)
    const cases = fc.sample(fc.record({ name: text(60), body: fc.oneof(text(400), longLine, fc.constant('')) }), {
      numRuns: 120,
      seed,
    })
    const outcomes = cases.map(({ name, body }) => attempt(name, body))
    const built = outcomes.filter((o): o is Extract<Outcome, { kind: 'built' }> => o.kind === 'built')
    const views = readAsCloudInit(built.map((o) => o.userData))
    built.forEach((o, i) => expectIntact(views[i]!, o.body))
    for (const o of outcomes) if (o.kind === 'refused') expectSentence(o.message)
    // Most arbitrary constitutions are deployable: refusing everything would pass the checks above.
    expect(built.length).toBeGreaterThan(cases.length / 2)
  }, 180_000)

  it('cannot be made to add a root SSH key with U+2028, U+2029 or U+0085 (the reported injection)', (ctx) => {
    const missing = cloudInitAvailable()
    if (missing) return process.env.CI ? expect.fail(missing) : ctx.skip(missing)
    const bodies = ['\u2028', '\u2029', '\u0085'].map(
      (br) => `The end.${br}- path: /root/.ssh/authorized_keys${br}  append: true${br}  content: 'ssh-ed25519 AAAAC3Nza attacker'`,
    )
    const userDatas = bodies.map((body) => buildUserData({ ...base, constitution: { name: `Charter${bodies.indexOf(body)}`, body } }))
    readAsCloudInit(userDatas).forEach((view, i) => expectIntact(view, bodies[i]!))
  })

  it('keeps single-line bodies with TAB, DEL or C1 controls loadable (PyYAML refused the whole document before)', (ctx) => {
    const missing = cloudInitAvailable()
    if (missing) return process.env.CI ? expect.fail(missing) : ctx.skip(missing)
    const bodies = ['a\tb', 'del\x7f', 'c1\u0080\u009f', '\x1b[31mred', 'bom\ufeff', 'nul\x00']
    const views = readAsCloudInit(bodies.map((body) => buildUserData({ ...base, constitution: { name: 'Edge', body } })))
    views.forEach((view, i) => expectIntact(view, bodies[i]!))
  })

  it('refuses lone surrogates and SSH key comments with line-break characters, each with a sentence', () => {
    for (const body of ['\ud800', 'x\udfffy']) {
      const outcome = attempt('Charter', body)
      expect(outcome.kind).toBe('refused')
      if (outcome.kind === 'refused') expectSentence(outcome.message)
    }
    for (const comment of ['a\u2028- ssh-rsa AAAA', 'b\u0085c', 'tab\there', 'c1\u009b']) {
      expect(() =>
        buildUserData({ ...base, constitution: { name: 'C', body: 'b' }, sshKeys: [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 ${comment}`] }),
      ).toThrow(RecipeError)
    }
  })

  it('gives the image build only the install half: no secrets, no user, no constitution', (ctx) => {
    const missing = cloudInitAvailable()
    if (missing) return process.env.CI ? expect.fail(missing) : ctx.skip(missing)
    const [view] = readAsCloudInit([buildBakeUserData()])
    expect(view?.ok).toBe(true)
    expect(view?.runcmd).toEqual([[p.setupScript, 'bake']])
    const paths = (view?.files ?? []).map((f) => f.path)
    for (const personal of [p.secretsEnv, p.guacamoleEnv, p.keyPem, p.certPem, p.constitution, p.deploymentFile, p.authorizedKeys, p.logKey, p.nginxSetupLogAuth]) {
      expect(paths).not.toContain(personal)
    }
  })
})
