// The setup log end to end below the UI: the deploy handler with a per-deploy SSH key choice, the
// deployments:setup-log handler and `dictumal log` against a fake DigitalOcean whose droplets boot as fake
// droplets serving the log (the key only), through a failed step and a destroy.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Deployment } from '../preload/contract'
import { createHandlers, InvalidArgumentError, type Handlers } from '../main/core/api'
import { createAppServices, type AppServices } from '../main/core/app-services'
import { MemorySecrets } from '../main/core/secrets'
import { updateSettings } from '../main/core/store'
import { runCli } from '../main/cli/run'
import { startFakeCloud, type FakeCloud } from './fakes/droplet-farm'

const ALICE = '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'
let cloud: FakeCloud
let services: AppServices
let handlers: Handlers
let dataDir: string
const secrets = new MemorySecrets()
let constitutionId: string

beforeAll(async () => {
  cloud = await startFakeCloud({
    digitalOcean: { activeAfterMs: 30, ipAfterMs: 60 },
    farm: {
      dropletOptions: () => ({
        timeline: { stepMs: 80 },
        faults: { failStep: { step: 'install-packages', exitCode: 100 }, failureOutput: ['E: Unable to locate package xfce4-goodies', '\u001b]52;c;ZXZpbA==\u0007'] },
      }),
    },
  })
  dataDir = await mkdtemp(join(tmpdir(), 'dictumal-setup-log-'))
  await secrets.setToken(cloud.digitalOcean.token)
  services = await createAppServices({
    dataDir,
    env: { DIGITALOCEAN_API_URL: cloud.digitalOcean.url },
    info: { name: 'Dictumal', version: '0.0.0-test', platform: 'linux', dataDir },
    secrets,
    engine: { probeIntervalMs: 60, cloudIntervalMs: { first: 50, max: 150 } },
    client: { timeoutMs: 3000, maxRetries: 0 },
  })
  handlers = createHandlers(services)
  const saved = await handlers['constitutions:save']({ name: 'Log desk', body: '# Hi\n' })
  if (!saved.ok) throw new Error(saved.error.message)
  constitutionId = saved.value.id
  services.engine.start()
})

afterAll(async () => {
  await services?.close()
  await cloud?.close()
  await rm(dataDir, { recursive: true, force: true })
})

async function until(id: string, test: (d: Deployment) => boolean, timeoutMs = 20_000): Promise<Deployment> {
  const t0 = Date.now()
  for (;;) {
    const d = services.engine.find(id)
    if (test(d)) return d
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out; last ${d.status} ${d.stage}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { DICTUMAL_DATA_DIR: dataDir, DIGITALOCEAN_API_URL: cloud.digitalOcean.url },
    secrets,
  })
  return { code, stdout, stderr }
}

describe('setup log', () => {
  let id: string

  it('refuses an SSH key DigitalOcean would not take, in a sentence, and creates nothing', async () => {
    const refused = await handlers['deployments:create']({ constitutionId, region: 'nyc3', size: 's-1vcpu-1gb', fresh: true, sshKeys: ['ssh-ed25519 AAAA'] })
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.error.message).toMatch(/^The SSH key "ssh-ed25519 AAAA" in this deploy is a public key, not a DigitalOcean key id or fingerprint;/)
    expect(cloud.digitalOcean.droplets.size).toBe(0)
  })

  it('deploys with the keys chosen for this deploy (not Settings\')', async () => {
    const created = await handlers['deployments:create']({ constitutionId, region: 'nyc3', size: 's-1vcpu-1gb', fresh: true, sshKeys: [ALICE.toUpperCase()] })
    if (!created.ok) throw new Error(created.error.message)
    id = created.value.id
    const droplet = [...cloud.digitalOcean.droplets.values()][0]
    expect(droplet?.sshKeys).toEqual([ALICE])
  })

  it('reads the log while the droplet sets up, and it grows', async () => {
    await until(id, (d) => d.ip !== null)
    let first = await handlers['deployments:setup-log'](id)
    for (let i = 0; i < 100 && !(first.ok && first.value.text.includes('step boot')); i += 1) {
      await new Promise((r) => setTimeout(r, 50))
      first = await handlers['deployments:setup-log'](id)
    }
    if (!first.ok) throw new Error(first.error.message)
    expect(first.value.text).toMatch(/^==> \S+ step boot$/m)
    await until(id, (d) => d.status === 'ERROR')
    const last = await handlers['deployments:setup-log'](id)
    if (!last.ok) throw new Error(last.error.message)
    expect(last.value.text.length).toBeGreaterThan(first.value.text.length)
    expect(last.value.text).toContain('Reading package lists... Done\nProgress: [100%]\n')
    expect(last.value.text).toContain('E: Unable to locate package xfce4-goodies\n')
    expect(last.value.text).toMatch(/step install-packages failed with exit code 100/)
    for (const control of ['\u001b', '\u0007', '\r']) expect(last.value.text).not.toContain(control)
    const stored = await secrets.getDeploymentSecrets(id)
    expect(JSON.stringify(last)).not.toContain(stored?.logKey)
  })

  it('checks its argument like every channel, and copies only where there is an app window', async () => {
    await expect(handlers['deployments:setup-log'](42)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(handlers['deployments:setup-log'](id, 'more')).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(await handlers['deployments:setup-log']('ffffffff-none')).toMatchObject({ ok: false })
    expect(await handlers['deployments:copy-setup-log'](id)).toMatchObject({ ok: false, error: { code: 'no-shell' } })
  })

  it('prints the same tail with `dictumal log ID`', async () => {
    const out = await cli(['log', id.slice(0, 8)])
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('E: Unable to locate package xfce4-goodies\n')
    expect(out.stdout).toMatch(/step install-packages failed with exit code 100 \(line \d+\)\n$/)
    expect(out.stdout).not.toContain('\u001b')
    expect(out.stdout).not.toContain('\\u001b')
    const json = await cli(['log', id, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({ truncated: false, text: expect.stringContaining('step boot') })
    expect((await cli(['log'])).code).toBe(2)
  })

  it('says what happened once the desktop is destroyed, in the app and in the CLI', async () => {
    const destroyed = await handlers['deployments:destroy'](id)
    expect(destroyed.ok).toBe(true)
    const after = await handlers['deployments:setup-log'](id)
    expect(after).toEqual({ ok: false, error: { code: 'setup-log-destroyed', message: 'This desktop was destroyed, and its setup log went with its droplet.' } })
    const out = await cli(['log', id])
    expect(out.code).toBe(1)
    expect(out.stderr).toBe('This desktop was destroyed, and its setup log went with its droplet.\n')
  })
})

describe('dictumal deploy --ssh-keys / --no-ssh-keys', () => {
  const dropletOf = (stdout: string) => {
    const { id } = JSON.parse(stdout) as { id: string }
    return [...cloud.digitalOcean.droplets.values()].find((d) => d.tags.includes(`dictumal-${id}`))
  }

  it('sends exactly the keys given for this deploy, none with --no-ssh-keys, and Settings\' without either', async () => {
    await updateSettings(services.store, { sshKeys: ['512189'] })
    const given = await cli(['deploy', '--constitution', constitutionId, '--fresh', '--json', '--ssh-keys', ` ${ALICE.toUpperCase()} ,`])
    expect(given.stderr).toBe('')
    expect(dropletOf(given.stdout)?.sshKeys).toEqual([ALICE])
    const none = await cli(['deploy', '--constitution', constitutionId, '--fresh', '--json', '--no-ssh-keys'])
    expect(dropletOf(none.stdout)?.sshKeys).toEqual([])
    const settings = await cli(['deploy', '--constitution', constitutionId, '--fresh', '--json'])
    expect(dropletOf(settings.stdout)?.sshKeys).toEqual([512189])
  })

  it('refuses both flags, an empty list and a public key line, creating nothing', async () => {
    const before = cloud.digitalOcean.droplets.size
    const both = await cli(['deploy', '--constitution', constitutionId, '--ssh-keys', ALICE, '--no-ssh-keys'])
    expect(both).toMatchObject({ code: 2, stderr: expect.stringContaining('Use either --ssh-keys or --no-ssh-keys, not both.') })
    expect((await cli(['deploy', '--constitution', constitutionId, '--ssh-keys', ' , '])).code).toBe(2)
    const ids = (await secrets.listDeploymentSecretIds()).length
    const many = await cli(['deploy', '--constitution', constitutionId, '--ssh-keys', Array.from({ length: 51 }, (_, i) => String(1000 + i)).join(',')])
    expect(many).toMatchObject({ code: 1, stderr: '51 SSH keys in this deploy are too many; a desktop takes at most 50.\n' })
    // Refused before anything was stored: no keychain entry left behind.
    expect(await secrets.listDeploymentSecretIds()).toHaveLength(ids)
    const line = await cli(['deploy', '--constitution', constitutionId, '--ssh-keys', 'ssh-ed25519 AAAA'])
    expect(line.code).toBe(1)
    expect(line.stderr).toMatch(/^The SSH key "ssh-ed25519 AAAA" in this deploy is a public key, not a DigitalOcean key id or fingerprint;/)
    expect(cloud.digitalOcean.droplets.size).toBe(before)
  })
})
