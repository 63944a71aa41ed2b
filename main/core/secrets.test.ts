import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { keyringTestMode, probeKeyring, uniqueTestService } from '../../test/keyring'
import type { DeploymentSecrets } from './deployment-secrets'
import {
  classifyKeychainError,
  KeychainEntryInvalidError,
  KeychainUnavailableError,
  KeytarSecrets,
  MemorySecrets,
  type KeytarBackend,
} from './secrets'
import { repoUrl, runNodeScript } from './store/test-support'

const run = promisify(execFile)
const SAMPLE: DeploymentSecrets = { vncPassword: 'Ab3dEf7h', guacamoleKey: '0123456789abcdef0123456789abcdef', userPassword: 'Pq8rSt2uVw4xYz6aBc9d' }
const TOKEN = 'dop_v1_' + 'f'.repeat(64)

describe('MemorySecrets (for unit tests of other modules)', () => {
  it('round-trips the token and deployment secrets and lists ids', async () => {
    const secrets = new MemorySecrets()
    expect(await secrets.getToken()).toBeNull()
    await secrets.setToken(`  ${TOKEN}\n`)
    expect(await secrets.getToken()).toBe(TOKEN)
    await secrets.setDeploymentSecrets('d2', SAMPLE)
    await secrets.setDeploymentSecrets('d1', { ...SAMPLE, extra: 'dropped' } as DeploymentSecrets)
    expect(await secrets.getDeploymentSecrets('d1')).toEqual(SAMPLE)
    await secrets.setDeploymentSecrets('d3', { ...SAMPLE, certFingerprint: 'sha256/abc=' })
    expect(await secrets.getDeploymentSecrets('d3')).toEqual({ ...SAMPLE, certFingerprint: 'sha256/abc=' })
    // The setup log's key travels with the others; entries without one (older desktops) still read.
    await secrets.setDeploymentSecrets('d4', { ...SAMPLE, logKey: 'c3'.repeat(32) })
    expect(await secrets.getDeploymentSecrets('d4')).toEqual({ ...SAMPLE, logKey: 'c3'.repeat(32) })
    await secrets.deleteDeploymentSecrets('d4')
    expect(await secrets.listDeploymentSecretIds()).toEqual(['d1', 'd2', 'd3'])
    expect(await secrets.deleteDeploymentSecrets('d1')).toBe(true)
    expect(await secrets.deleteDeploymentSecrets('d1')).toBe(false)
    expect(await secrets.deleteToken()).toBe(true)
    expect(await secrets.getToken()).toBeNull()
  })

  it('simulates a missing keychain with the real error and sentence', async () => {
    const secrets = new MemorySecrets({ unavailable: 'no-secret-service' })
    await expect(secrets.getToken()).rejects.toBeInstanceOf(KeychainUnavailableError)
    expect(await secrets.check()).toMatchObject({ ok: false, error: { code: 'keychain-unavailable', message: expect.stringMatching(/No system keychain/) } })
  })
})

describe('classifyKeychainError', () => {
  it.each([
    ['Cannot autolaunch D-Bus without X11 $DISPLAY', 'no-secret-service'],
    ['Could not connect: No such file or directory', 'no-secret-service'],
    ['The name org.freedesktop.secrets was not provided by any .service files', 'no-secret-service'],
    ['Cannot create an item in a locked collection', 'locked'],
    ['User canceled the operation.', 'locked'],
    ['Something else entirely', 'refused'],
  ] as const)('%s → %s', (message, problem) => {
    expect(classifyKeychainError(message)).toBe(problem)
  })
})

describe('KeytarSecrets error handling (injected backend)', () => {
  const failing = (message: string): KeytarBackend => ({
    getPassword: () => Promise.reject(new Error(message)),
    setPassword: () => Promise.reject(new Error(message)),
    deletePassword: () => Promise.reject(new Error(message)),
    findCredentials: () => Promise.reject(new Error(message)),
  })

  it('never puts the secret being stored into the error', async () => {
    const secrets = new KeytarSecrets({ backend: failing(`rejected value ${TOKEN} for ${SAMPLE.userPassword}`) })
    const tokenError = await secrets.setToken(TOKEN).catch((e: unknown) => e)
    expect(tokenError).toBeInstanceOf(KeychainUnavailableError)
    expect(String((tokenError as Error).message)).not.toContain(TOKEN)
    const depError = await secrets.setDeploymentSecrets('d1', SAMPLE).catch((e: unknown) => e)
    expect((depError as Error).message).not.toContain(SAMPLE.userPassword)
    expect((depError as Error).message).toContain('[redacted]')
    // The setup log key and the certificate's private key are scrubbed as well.
    const logKey = 'e7'.repeat(32)
    // Made here, never committed.
    const keyPem = String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
    const keyBody = keyPem.split('\n')[1] ?? ''
    expect(keyBody.length).toBeGreaterThan(16)
    const echoing = new KeytarSecrets({ backend: failing(`refused ${logKey} and ${keyPem}`) })
    const keyError = await echoing
      .setDeploymentSecrets('d1', { ...SAMPLE, logKey, certificate: { certPem: 'CERT', keyPem } })
      .catch((e: unknown) => e)
    expect(keyError).toBeInstanceOf(KeychainUnavailableError)
    expect((keyError as Error).message).not.toContain(logKey)
    expect((keyError as Error).message).not.toContain(keyBody)
    expect((keyError as Error).message).toContain('refused [redacted]')
  })

  it('drops a damaged setup log key and keeps the rest of the entry usable', async () => {
    const stored = (logKey: unknown): KeytarBackend => ({ ...failing('x'), getPassword: () => Promise.resolve(JSON.stringify({ ...SAMPLE, logKey })) })
    for (const damaged of ['zz'.repeat(32), 'AB'.repeat(32), 'ab', 42, null]) {
      expect(await new KeytarSecrets({ backend: stored(damaged) }).getDeploymentSecrets('d1')).toEqual(SAMPLE)
    }
    const good = 'ab'.repeat(32)
    expect(await new KeytarSecrets({ backend: stored(good) }).getDeploymentSecrets('d1')).toEqual({ ...SAMPLE, logKey: good })
  })

  it('turns a native module that will not load into a typed error instead of a crash', async () => {
    const secrets = new KeytarSecrets({ backend: () => Promise.reject(new Error('Failed to load keytar native addon')) })
    const error = await secrets.getToken().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeychainUnavailableError)
    expect((error as KeychainUnavailableError).problem).toBe('no-native-module')
    expect(await secrets.check()).toMatchObject({ ok: false, error: { code: 'keychain-unavailable' } })
  })

  it('reports a damaged deployment entry without echoing its content', async () => {
    const backend: KeytarBackend = { ...failing('x'), getPassword: () => Promise.resolve('{"vncPassword":"leak-me"') }
    const error = await new KeytarSecrets({ backend }).getDeploymentSecrets('d1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeychainEntryInvalidError)
    expect((error as Error).message).not.toContain('leak-me')
  })
})

describe.skipIf(process.platform !== 'linux')('no Secret Service reachable (real keytar, child process)', () => {
  it('every call throws KeychainUnavailableError with the fix in its sentence, and no secret', async () => {
    const script = `
      const { KeytarSecrets } = await import(${JSON.stringify(repoUrl('main/core/secrets.ts'))})
      const secrets = new KeytarSecrets({ service: 'Dictumal-unavailable-test' })
      const out = {}
      for (const [name, call] of Object.entries({
        getToken: () => secrets.getToken(),
        setToken: () => secrets.setToken(${JSON.stringify(TOKEN)}),
        setDeploymentSecrets: () => secrets.setDeploymentSecrets('d1', ${JSON.stringify(SAMPLE)}),
        listDeploymentSecretIds: () => secrets.listDeploymentSecretIds(),
      })) {
        try { await call(); out[name] = 'no error' } catch (e) { out[name] = { name: e.name, code: e.code, userMessage: e.userMessage, message: e.message } }
      }
      out.check = await secrets.check()
      console.log(JSON.stringify(out))
    `
    const env: NodeJS.ProcessEnv = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/dictumal-test-bus' }
    delete env.DISPLAY
    const result = await runNodeScript(script, { env })
    expect(result.stderr).toBe('')
    const out = JSON.parse(result.stdout) as Record<string, { name?: string; userMessage?: string; message?: string; ok?: boolean; error?: { message: string } }>
    for (const name of ['getToken', 'setToken', 'setDeploymentSecrets', 'listDeploymentSecretIds']) {
      expect(out[name]?.name).toBe('KeychainUnavailableError')
      expect(out[name]?.userMessage).toMatch(/^No system keychain is available: on Linux install and unlock a Secret Service such as gnome-keyring.*set DIGITALOCEAN_API_TOKEN for this session\.$/)
    }
    expect(result.stdout).not.toContain(TOKEN)
    expect(result.stdout).not.toContain(SAMPLE.userPassword)
    expect(out.check).toMatchObject({ ok: false, error: { message: expect.stringMatching(/No system keychain/) } })
  })
})

const status = await probeKeyring()
const mode = keyringTestMode(status)
const service = uniqueTestService()

async function secretTool(account: string): Promise<string | null> {
  try {
    const { stdout } = await run('secret-tool', ['lookup', 'service', service, 'account', account])
    return stdout
  } catch {
    return null // secret-tool exits 1 when nothing matches
  }
}

describe('KeytarSecrets against the real keychain', () => {
  if (mode === 'fail') {
    it('needs a usable keychain in CI', () => {
      expect.fail(status.usable ? '' : status.reason)
    })
    return
  }
  if (mode === 'skip') {
    it.skip(`skipped: ${status.usable ? '' : status.reason}`, () => {})
    return
  }
  const secrets = new KeytarSecrets({ service })

  afterAll(async () => {
    const keytar = (await import('@github/keytar')) as unknown as { default: KeytarBackend }
    for (const { account } of await keytar.default.findCredentials(service)) await keytar.default.deletePassword(service, account)
  })

  it('check() proves the keychain can store and return a value', async () => {
    expect(await secrets.check()).toEqual({ ok: true, value: null })
  })

  it('stores the token under service/account digitalocean-token, as secret-tool sees it', async () => {
    expect(await secrets.getToken()).toBeNull()
    await secrets.setToken(TOKEN)
    expect(await secrets.getToken()).toBe(TOKEN)
    if (process.platform === 'linux') expect(await secretTool('digitalocean-token')).toBe(TOKEN)
    expect(await secrets.deleteToken()).toBe(true)
    expect(await secrets.getToken()).toBeNull()
    if (process.platform === 'linux') expect(await secretTool('digitalocean-token')).toBeNull()
  })

  it('stores one JSON entry per deployment under deployment:<id> and lists the ids', async () => {
    await secrets.setDeploymentSecrets('11111111-aaaa', SAMPLE)
    await secrets.setDeploymentSecrets('22222222-bbbb', { ...SAMPLE, vncPassword: 'Zz9yXx8w', certFingerprint: 'sha256/pin=' })
    expect(await secrets.getDeploymentSecrets('22222222-bbbb')).toMatchObject({ vncPassword: 'Zz9yXx8w', certFingerprint: 'sha256/pin=' })
    expect(await secrets.getDeploymentSecrets('11111111-aaaa')).toEqual(SAMPLE)
    if (process.platform === 'linux') {
      expect(JSON.parse((await secretTool('deployment:11111111-aaaa')) ?? 'null')).toEqual(SAMPLE)
    }
    expect(await secrets.listDeploymentSecretIds()).toEqual(['11111111-aaaa', '22222222-bbbb'])
    expect(await secrets.deleteDeploymentSecrets('11111111-aaaa')).toBe(true)
    expect(await secrets.getDeploymentSecrets('11111111-aaaa')).toBeNull()
    expect(await secrets.listDeploymentSecretIds()).toEqual(['22222222-bbbb'])
  })
})
