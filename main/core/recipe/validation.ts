// Checks on everything the recipe sends to DigitalOcean, done before any request: droplet names,
// ids, secrets, keys and the 64 KiB user-data limit. Failures carry a sentence for the user.
import { gzipSync } from 'node:zlib'
import type { UserError } from '../../../preload/contract'

export const MAX_USER_DATA_BYTES = 64 * 1024
export const DROPLET_NAME_PATTERN = /^[a-zA-Z0-9]?[a-z0-9A-Z.-]*[a-z0-9A-Z]$/
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_SLUG_LENGTH = 40
const PUBLIC_KEY_PATTERN =
  /^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: [\x20-\x7e]*)?$/

/** Base of the recipe's expected failures: `userError` is what the UI and CLI show. */
export class RecipeError extends Error {
  constructor(readonly userError: UserError) {
    super(userError.message)
    this.name = 'RecipeError'
  }
}

export class InvalidRecipeInputError extends RecipeError {
  constructor(message: string, hint?: string) {
    super({ code: 'invalid-recipe-input', message, ...(hint ? { hint } : {}) })
    this.name = 'InvalidRecipeInputError'
  }
}

export class UserDataTooLargeError extends RecipeError {
  constructor(
    readonly bytes: number,
    body: string,
  ) {
    // The body travels compressed and base64-encoded; say how much text *like this one* fits.
    const raw = Buffer.byteLength(body, 'utf8')
    const encoded = Math.max(1, encodedSize(body))
    const room = Math.max(0, encoded - (bytes - MAX_USER_DATA_BYTES))
    const fits = Math.floor((room * raw) / encoded)
    super({
      code: 'user-data-too-large',
      message:
        `The constitution is too large to send to the droplet: it is ${kib(raw)} KiB, ` +
        `and about ${kib(fits)} KiB of text like it fits in DigitalOcean's 64 KiB user data.`,
      hint: 'Shorten the constitution, or copy the long parts onto the desktop after it starts.',
    })
    this.name = 'UserDataTooLargeError'
  }
}

/** Bytes a text takes in the user data: base64 of its gzip, or of itself when that is shorter. */
export function encodedSize(text: string): number {
  const raw = Buffer.from(text, 'utf8')
  return Math.min(Math.ceil(raw.length / 3) * 4, Math.ceil(gzipSync(raw, { level: 9 }).length / 3) * 4)
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1)
}

export function isDeploymentId(id: string): boolean {
  return UUID_PATTERN.test(id)
}

export function assertDeploymentId(id: string): void {
  if (!isDeploymentId(id)) throw new InvalidRecipeInputError('The deployment id is not a UUID.')
}

export function isDropletName(name: string): boolean {
  return name.length <= 255 && DROPLET_NAME_PATTERN.test(name)
}

/** Lower-case ASCII letters, digits and single dashes; accents are folded, everything else becomes a dash. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/-+$/g, '')
  return slug === '' ? 'desktop' : slug
}

/** `dictumal-<slug>-<first 8 of id>`: short enough to be the droplet's host name too. */
export function dropletNameFor(constitutionName: string, deploymentId: string): string {
  assertDeploymentId(deploymentId)
  const name = `dictumal-${slugify(constitutionName)}-${deploymentId.slice(0, 8).toLowerCase()}`
  if (!isDropletName(name)) throw new InvalidRecipeInputError('The droplet name could not be made from this constitution name.')
  return name
}

export function isPublicKeyLine(line: string): boolean {
  return PUBLIC_KEY_PATTERN.test(line.trim())
}

export function userDataBytes(userData: string): number {
  return Buffer.byteLength(userData, 'utf8')
}
