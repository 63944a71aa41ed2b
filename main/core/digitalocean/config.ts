// Where the DigitalOcean settings come from (SPEC §3, §6): token, API URL, image and SSH keys.
// An environment variable always wins over what the app stored.
import { DEFAULT_API_URL } from './client'
import type { DigitalOceanClient } from './client'
import { noTokenError } from './errors'
import type { Image } from './schemas'

export type Env = Readonly<Record<string, string | undefined>>

export const DEFAULT_IMAGE_SLUG = 'ubuntu-24-04-x64'

export type TokenSource = { source: 'env'; token: string } | { source: 'keychain'; token: string } | { source: 'none'; token: null }

export interface TokenSourceInput {
  env: Env
  readKeychainToken: () => Promise<string | null | undefined>
}

/** DIGITALOCEAN_API_TOKEN if set, else the keychain entry, else nothing. */
export async function resolveTokenSource({ env, readKeychainToken }: TokenSourceInput): Promise<TokenSource> {
  const fromEnv = env.DIGITALOCEAN_API_TOKEN?.trim()
  if (fromEnv !== undefined && fromEnv !== '') return { source: 'env', token: fromEnv }
  const stored = (await readKeychainToken())?.trim()
  if (stored !== undefined && stored !== '') return { source: 'keychain', token: stored }
  return { source: 'none', token: null }
}

/** The `token` option for DigitalOceanClient: resolved on every request, failing as `no-token`. */
export function tokenProvider(input: TokenSourceInput): () => Promise<string> {
  return async () => {
    const resolved = await resolveTokenSource(input)
    if (resolved.token === null) throw noTokenError()
    return resolved.token
  }
}

/** A DIGITALOCEAN_API_URL the app will not send the token to; `userMessage` is the sentence to show. */
export class ApiUrlError extends Error {
  readonly code = 'digitalocean/api-url'
  readonly userMessage: string

  constructor(userMessage: string) {
    super(userMessage)
    this.name = 'ApiUrlError'
    this.userMessage = userMessage
  }
}

/** localhost, 127.0.0.0/8 and ::1, as the WHATWG URL parser writes them (it turns `127.1` into `127.0.0.1`). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** Null when the token may be sent to this API base URL, else the sentence saying why not. */
export function apiUrlProblem(raw: string): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return `DIGITALOCEAN_API_URL is not a URL ("${raw}"); leave it unset to use ${DEFAULT_API_URL}.`
  }
  if (url.protocol === 'https:') return null
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return null
  return (
    `DIGITALOCEAN_API_URL must start with https:// ("${url.protocol}//${url.host}${url.pathname}" does not), because the DigitalOcean token goes with every request; ` +
    'plain http is allowed only for a test server on this computer (localhost, 127.0.0.0/8 or ::1).'
  )
}

/** DIGITALOCEAN_API_URL (https, or http on loopback only) or the real API; throws ApiUrlError otherwise. */
export function resolveApiUrl(env: Env): string {
  const raw = env.DIGITALOCEAN_API_URL?.trim()
  if (raw === undefined || raw === '') return DEFAULT_API_URL
  const problem = apiUrlProblem(raw)
  if (problem !== null) throw new ApiUrlError(problem)
  return raw.replace(/\/+$/, '')
}

export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase())
}

/** DIGITALOCEAN_SSH_KEYS: comma-separated ids or fingerprints, trimmed, empties dropped. */
export function parseSshKeys(env: Env): string[] {
  return (env.DIGITALOCEAN_SSH_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '')
}

const SSH_KEY_ID = /^[1-9]\d{0,14}$/
const MD5_FINGERPRINT = /^[0-9a-f]{2}(?::[0-9a-f]{2}){15}$/i

/**
 * Null when DigitalOcean takes this as a key of the account (POST /v2/droplets `ssh_keys`: a numeric id
 * or the MD5 fingerprint it shows, aa:bb:…, 16 pairs), else the sentence saying what to use instead.
 * DigitalOcean documents no other form, so a SHA256 fingerprint or a public key line is refused here
 * rather than by DigitalOcean after the deployment has started.
 */
export function sshKeyProblem(value: string, where: string): string | null {
  const key = value.trim()
  if (SSH_KEY_ID.test(key) || MD5_FINGERPRINT.test(key)) return null
  const shown = key.length > 60 ? `${key.slice(0, 57)}…` : key
  const what = /^(ssh-|ecdsa-|sk-)/.test(key)
    ? 'a public key, not a DigitalOcean key id or fingerprint'
    : /^SHA256:/i.test(key)
      ? 'a SHA256 fingerprint, which DigitalOcean does not take here'
      : 'not a DigitalOcean key id or fingerprint'
  return (
    `The SSH key "${shown}" in ${where} is ${what}; ` +
    "use the key's numeric id or its MD5 fingerprint (like 3b:16:bf:e4:…, as DigitalOcean lists it with the account's SSH keys)."
  )
}

/** An SSH key setting DigitalOcean would refuse; `userMessage` is the sentence to show. */
export class SshKeyError extends Error {
  readonly code = 'ssh-key-invalid'
  readonly userMessage: string

  constructor(userMessage: string) {
    super(userMessage)
    this.name = 'SshKeyError'
    this.userMessage = userMessage
  }
}

/** The most SSH keys one droplet is given (what a deployment record keeps, and what Settings take). */
export const MAX_SSH_KEYS = 50

/** The keys as DigitalOcean takes them (trimmed, fingerprints lower case); throws SshKeyError at the first bad one. */
export function checkedSshKeys(keys: readonly string[], where: string): string[] {
  if (keys.length > MAX_SSH_KEYS) {
    throw new SshKeyError(`${keys.length} SSH keys in ${where} are too many; a desktop takes at most ${MAX_SSH_KEYS}.`)
  }
  return keys.map((raw) => {
    const problem = sshKeyProblem(raw, where)
    if (problem !== null) throw new SshKeyError(problem)
    return raw.trim().toLowerCase()
  })
}

function ubuntuVersion(slug: string): [number, number] | null {
  const match = /^ubuntu-(\d+)-(\d+)-x64$/.exec(slug)
  if (match === null) return null
  return [Number(match[1]), Number(match[2])]
}

/** The newest x64 Ubuntu distribution slug in the list, or null if there is none. */
export function newestUbuntuSlug(images: readonly Image[]): string | null {
  let best: { slug: string; version: [number, number] } | null = null
  for (const image of images) {
    if (image.slug === null || (image.status !== undefined && image.status !== 'available')) continue
    const version = ubuntuVersion(image.slug)
    if (version === null) continue
    if (best === null || version[0] > best.version[0] || (version[0] === best.version[0] && version[1] > best.version[1])) {
      best = { slug: image.slug, version }
    }
  }
  return best?.slug ?? null
}

export interface ImageSlugInput {
  env: Env
  client: Pick<DigitalOceanClient, 'listDistributionImages'>
}

/** SPEC §3: DIGITALOCEAN_IMAGE_SLUG wins; a truthy DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE asks the API. */
export async function resolveImageSlug({ env, client }: ImageSlugInput): Promise<string> {
  const explicit = env.DIGITALOCEAN_IMAGE_SLUG?.trim()
  if (explicit !== undefined && explicit !== '') return explicit
  if (!isTruthy(env.DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE)) return DEFAULT_IMAGE_SLUG
  return newestUbuntuSlug(await client.listDistributionImages()) ?? DEFAULT_IMAGE_SLUG
}
