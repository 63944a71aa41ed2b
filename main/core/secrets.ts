// The OS keychain (via @github/keytar) for the DigitalOcean token and each deployment's secrets.
// No keychain means a typed error with a way out, never a plaintext fallback; errors never carry secrets.
import { randomBytes } from 'node:crypto'
import type { Result, UserError } from '../../preload/contract'
import { SECRET_PATTERNS, type DeploymentSecrets } from './deployment-secrets'

export const KEYCHAIN_SERVICE = 'Dictumal'
export const TOKEN_ACCOUNT = 'digitalocean-token'
export const DEPLOYMENT_ACCOUNT_PREFIX = 'deployment:'
const CHECK_ACCOUNT = 'keychain-check'

/**
 * One keychain entry per deployment. `certFingerprint` is not secret but travels with the secrets so a
 * droplet whose local record was lost can be adopted with its pin (SPEC §8).
 */
export type StoredDeploymentSecrets = DeploymentSecrets & {
  certFingerprint?: string
  /** The gateway's certificate and key, so a desktop resumed from hibernation keeps its pin. */
  certificate?: { certPem: string; keyPem: string }
}

export interface Secrets {
  getToken(): Promise<string | null>
  setToken(token: string): Promise<void>
  /** True when a token was there to delete. */
  deleteToken(): Promise<boolean>
  getDeploymentSecrets(id: string): Promise<StoredDeploymentSecrets | null>
  setDeploymentSecrets(id: string, secrets: StoredDeploymentSecrets): Promise<void>
  deleteDeploymentSecrets(id: string): Promise<boolean>
  /** Deployment ids that have secrets stored (adopting an unmanaged droplet needs them). */
  listDeploymentSecretIds(): Promise<string[]>
  /** Writes, reads back and deletes a probe entry: a locked keyring can answer reads with "nothing". */
  check(): Promise<Result<null>>
}

export type KeychainProblem = 'no-secret-service' | 'locked' | 'refused' | 'no-native-module'

const ENV_WAY_OUT = 'or set DIGITALOCEAN_API_TOKEN for this session.'

const SENTENCES: Record<KeychainProblem, string> = {
  'no-secret-service': `No system keychain is available: on Linux install and unlock a Secret Service such as gnome-keyring (or KWallet), ${ENV_WAY_OUT}`,
  locked: `The system keychain is locked: unlock it (log in to your desktop session or open your keyring app), ${ENV_WAY_OUT}`,
  refused: `The system keychain refused the request: make sure it is unlocked and Dictumal may use it, ${ENV_WAY_OUT}`,
  'no-native-module': `The system keychain module could not be loaded on this system: reinstall Dictumal, ${ENV_WAY_OUT}`,
}

export class KeychainUnavailableError extends Error {
  readonly code = 'keychain-unavailable'
  readonly problem: KeychainProblem
  readonly userMessage: string
  constructor(problem: KeychainProblem, detail: string) {
    super(`${SENTENCES[problem]} (${detail})`)
    this.name = 'KeychainUnavailableError'
    this.problem = problem
    this.userMessage = SENTENCES[problem]
  }
  toUserError(): UserError {
    return { code: this.code, message: this.userMessage }
  }
}

/** A keychain entry exists but is not what Dictumal wrote (edited by hand, or another app's). */
export class KeychainEntryInvalidError extends Error {
  readonly code = 'keychain-entry-invalid'
  readonly userMessage: string
  constructor(account: string) {
    super(`The keychain entry "${account}" is damaged`)
    this.name = 'KeychainEntryInvalidError'
    this.userMessage = `The keychain entry "${account}" (service ${KEYCHAIN_SERVICE}) is damaged; delete it and redeploy, or destroy that deployment.`
  }
}

/** The subset of @github/keytar this module uses: tests may pass their own. */
export interface KeytarBackend {
  getPassword(service: string, account: string): Promise<string | null>
  setPassword(service: string, account: string, password: string): Promise<void>
  deletePassword(service: string, account: string): Promise<boolean>
  findCredentials(service: string): Promise<Array<{ account: string; password: string }>>
}

/** Sorts a keytar/libsecret failure into what the user can do about it. */
export function classifyKeychainError(message: string): KeychainProblem {
  if (/locked|prompt|dismiss|cancel/i.test(message)) return 'locked'
  if (/d-?bus|could not connect|org\.freedesktop\.secrets|not provided by any|serviceunknown|no such (file|interface)/i.test(message)) {
    return 'no-secret-service'
  }
  return 'refused'
}

async function loadKeytar(): Promise<KeytarBackend> {
  // keytar is CommonJS: Node exposes its exports object as `default`.
  const mod = (await import('@github/keytar')) as Partial<KeytarBackend> & { default?: KeytarBackend }
  const backend = mod.default ?? mod
  if (typeof backend.getPassword !== 'function' || typeof backend.findCredentials !== 'function') {
    throw new Error('@github/keytar has an unexpected shape')
  }
  return backend as KeytarBackend
}

function scrub(message: string, secrets: string[]): string {
  let out = message
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[redacted]')
  return out
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.trim() === '') throw new TypeError('A deployment id is required')
}

function parseDeploymentSecrets(text: string, account: string): StoredDeploymentSecrets {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new KeychainEntryInvalidError(account)
  }
  if (typeof value !== 'object' || value === null) throw new KeychainEntryInvalidError(account)
  const { vncPassword, guacamoleKey, userPassword, certFingerprint, certificate, logKey } = value as Record<string, unknown>
  if (typeof vncPassword !== 'string' || typeof guacamoleKey !== 'string' || typeof userPassword !== 'string') {
    throw new KeychainEntryInvalidError(account)
  }
  if (certFingerprint !== undefined && typeof certFingerprint !== 'string') throw new KeychainEntryInvalidError(account)
  // Entries written before the setup log existed have no log key (DeploymentSecrets.logKey is optional).
  // A damaged one is dropped rather than failing the entry: the desktop, its resume and its passwords
  // keep working, and only the setup log says it cannot be read.
  const usableLogKey = typeof logKey === 'string' && SECRET_PATTERNS.logKey.test(logKey) ? logKey : undefined
  const base = {
    vncPassword,
    guacamoleKey,
    userPassword,
    ...(certFingerprint === undefined ? {} : { certFingerprint }),
    ...(usableLogKey === undefined ? {} : { logKey: usableLogKey }),
  }
  if (certificate === undefined) return base
  const { certPem, keyPem } = (typeof certificate === 'object' && certificate !== null ? certificate : {}) as Record<string, unknown>
  if (typeof certPem !== 'string' || typeof keyPem !== 'string') throw new KeychainEntryInvalidError(account)
  return { ...base, certificate: { certPem, keyPem } }
}

function serializeDeploymentSecrets(secrets: StoredDeploymentSecrets): string {
  // Only the known fields: never whatever else a caller's object happens to carry.
  return JSON.stringify({
    vncPassword: secrets.vncPassword,
    guacamoleKey: secrets.guacamoleKey,
    userPassword: secrets.userPassword,
    ...(typeof secrets.logKey === 'string' ? { logKey: secrets.logKey } : {}),
    ...(typeof secrets.certFingerprint === 'string' ? { certFingerprint: secrets.certFingerprint } : {}),
    ...(secrets.certificate === undefined ? {} : { certificate: { certPem: secrets.certificate.certPem, keyPem: secrets.certificate.keyPem } }),
  })
}

export interface KeytarSecretsOptions {
  /** Keychain service name; tests use a unique one per run. */
  service?: string
  /** Defaults to loading @github/keytar on first use, so a broken native module is a typed error, not a crash. */
  backend?: KeytarBackend | (() => Promise<KeytarBackend>)
}

export class KeytarSecrets implements Secrets {
  readonly service: string
  readonly #load: () => Promise<KeytarBackend>
  #backend: Promise<KeytarBackend> | null = null

  constructor(options: KeytarSecretsOptions = {}) {
    this.service = options.service ?? KEYCHAIN_SERVICE
    const backend = options.backend
    this.#load = backend === undefined ? loadKeytar : typeof backend === 'function' ? backend : () => Promise.resolve(backend)
  }

  /** Runs one keychain call; every failure becomes KeychainUnavailableError without the secrets involved. */
  async #call<T>(secrets: string[], fn: (keytar: KeytarBackend) => Promise<T>): Promise<T> {
    this.#backend ??= this.#load()
    let keytar: KeytarBackend
    try {
      keytar = await this.#backend
    } catch (error) {
      this.#backend = null
      throw new KeychainUnavailableError('no-native-module', scrub(error instanceof Error ? error.message : String(error), secrets))
    }
    try {
      return await fn(keytar)
    } catch (error) {
      const message = scrub(error instanceof Error ? error.message : String(error), secrets)
      throw new KeychainUnavailableError(classifyKeychainError(message), message)
    }
  }

  getToken(): Promise<string | null> {
    return this.#call([], (k) => k.getPassword(this.service, TOKEN_ACCOUNT))
  }

  async setToken(token: string): Promise<void> {
    const value = typeof token === 'string' ? token.trim() : ''
    if (value === '') throw new TypeError('The token is empty')
    await this.#call([token, value], (k) => k.setPassword(this.service, TOKEN_ACCOUNT, value))
  }

  deleteToken(): Promise<boolean> {
    return this.#call([], (k) => k.deletePassword(this.service, TOKEN_ACCOUNT))
  }

  async getDeploymentSecrets(id: string): Promise<StoredDeploymentSecrets | null> {
    checkId(id)
    const account = DEPLOYMENT_ACCOUNT_PREFIX + id
    const text = await this.#call([], (k) => k.getPassword(this.service, account))
    return text === null ? null : parseDeploymentSecrets(text, account)
  }

  async setDeploymentSecrets(id: string, secrets: StoredDeploymentSecrets): Promise<void> {
    checkId(id)
    const text = serializeDeploymentSecrets(secrets)
    const values = [text, secrets.vncPassword, secrets.guacamoleKey, secrets.userPassword, secrets.logKey ?? '', secrets.certificate?.keyPem ?? '']
    await this.#call(values, (k) => k.setPassword(this.service, DEPLOYMENT_ACCOUNT_PREFIX + id, text))
  }

  deleteDeploymentSecrets(id: string): Promise<boolean> {
    checkId(id)
    return this.#call([], (k) => k.deletePassword(this.service, DEPLOYMENT_ACCOUNT_PREFIX + id))
  }

  async listDeploymentSecretIds(): Promise<string[]> {
    const credentials = await this.#call([], (k) => k.findCredentials(this.service))
    return credentials
      .map((c) => c.account)
      .filter((account) => account.startsWith(DEPLOYMENT_ACCOUNT_PREFIX))
      .map((account) => account.slice(DEPLOYMENT_ACCOUNT_PREFIX.length))
      .sort()
  }

  async check(): Promise<Result<null>> {
    const probe = randomBytes(8).toString('hex')
    try {
      await this.#call([probe], async (k) => {
        await k.setPassword(this.service, CHECK_ACCOUNT, probe)
        const back = await k.getPassword(this.service, CHECK_ACCOUNT)
        await k.deletePassword(this.service, CHECK_ACCOUNT)
        if (back !== probe) throw new Error('the keychain did not return what was stored (locked?)')
      })
      return { ok: true, value: null }
    } catch (error) {
      if (error instanceof KeychainUnavailableError) return { ok: false, error: error.toUserError() }
      throw error
    }
  }
}

export interface MemorySecretsOptions {
  /** Simulates a machine without a keychain: every call throws KeychainUnavailableError. */
  unavailable?: KeychainProblem
}

/** For pure unit tests only: the app and the CLI always use the real keychain. */
export class MemorySecrets implements Secrets {
  readonly entries = new Map<string, string>()
  readonly #unavailable: KeychainProblem | undefined

  constructor(options: MemorySecretsOptions = {}) {
    this.#unavailable = options.unavailable
  }

  #guard(): void {
    if (this.#unavailable !== undefined) throw new KeychainUnavailableError(this.#unavailable, 'simulated')
  }

  async getToken(): Promise<string | null> {
    this.#guard()
    return this.entries.get(TOKEN_ACCOUNT) ?? null
  }

  async setToken(token: string): Promise<void> {
    this.#guard()
    const value = token.trim()
    if (value === '') throw new TypeError('The token is empty')
    this.entries.set(TOKEN_ACCOUNT, value)
  }

  async deleteToken(): Promise<boolean> {
    this.#guard()
    return this.entries.delete(TOKEN_ACCOUNT)
  }

  async getDeploymentSecrets(id: string): Promise<StoredDeploymentSecrets | null> {
    this.#guard()
    checkId(id)
    const account = DEPLOYMENT_ACCOUNT_PREFIX + id
    const text = this.entries.get(account)
    return text === undefined ? null : parseDeploymentSecrets(text, account)
  }

  async setDeploymentSecrets(id: string, secrets: StoredDeploymentSecrets): Promise<void> {
    this.#guard()
    checkId(id)
    this.entries.set(DEPLOYMENT_ACCOUNT_PREFIX + id, serializeDeploymentSecrets(secrets))
  }

  async deleteDeploymentSecrets(id: string): Promise<boolean> {
    this.#guard()
    checkId(id)
    return this.entries.delete(DEPLOYMENT_ACCOUNT_PREFIX + id)
  }

  async listDeploymentSecretIds(): Promise<string[]> {
    this.#guard()
    return [...this.entries.keys()]
      .filter((account) => account.startsWith(DEPLOYMENT_ACCOUNT_PREFIX))
      .map((account) => account.slice(DEPLOYMENT_ACCOUNT_PREFIX.length))
      .sort()
  }

  async check(): Promise<Result<null>> {
    if (this.#unavailable === undefined) return { ok: true, value: null }
    return { ok: false, error: new KeychainUnavailableError(this.#unavailable, 'simulated').toUserError() }
  }
}
