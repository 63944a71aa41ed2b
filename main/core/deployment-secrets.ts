// Per-deployment secrets, made with the OS's CSPRNG. They live in the keychain and the droplet's
// user data only; alphanumeric so they travel through shell env files and YAML without quoting.
import { randomBytes, randomInt } from 'node:crypto'

export interface DeploymentSecrets {
  /** VNC auth only looks at the first 8 characters, so it is exactly 8. */
  vncPassword: string
  /** Guacamole `json-secret-key`: 16 bytes as 32 lowercase hex characters. */
  guacamoleKey: string
  /** Password of the desktop user `dictumal` (sudo, screen unlock). */
  userPassword: string
  /**
   * Opens the droplet's setup log (SPEC §6 "Setup log", issue 13): sent as `Authorization: Bearer` over
   * the pinned HTTPS only. 32 bytes as 64 lowercase hex. Desktops deployed before it existed have none.
   */
  logKey?: string
}

const ALPHANUMERIC = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'
export const USER_PASSWORD_LENGTH = 20

export const SECRET_PATTERNS = {
  vncPassword: /^[A-Za-z0-9]{8}$/,
  guacamoleKey: /^[0-9a-f]{32}$/,
  userPassword: /^[A-Za-z0-9]{16,64}$/,
  logKey: /^[0-9a-f]{64}$/,
} as const

/** Fields a keychain entry written by an older version may lack. */
const OPTIONAL_SECRETS: ReadonlySet<keyof DeploymentSecrets> = new Set(['logKey'])

/** Unbiased: randomInt rejects out-of-range draws instead of taking a modulo. */
function randomString(length: number): string {
  let out = ''
  for (let i = 0; i < length; i += 1) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]
  return out
}

export function generateDeploymentSecrets(): DeploymentSecrets {
  return {
    vncPassword: randomString(8),
    guacamoleKey: randomBytes(16).toString('hex'),
    userPassword: randomString(USER_PASSWORD_LENGTH),
    logKey: randomBytes(32).toString('hex'),
  }
}

/** True when every field has the shape the droplet recipe relies on (e.g. secrets read back from the keychain). */
export function isDeploymentSecrets(value: unknown): value is DeploymentSecrets {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Record<string, unknown>
  return (Object.keys(SECRET_PATTERNS) as (keyof DeploymentSecrets)[]).every((name) => {
    const field = record[name]
    if (field === undefined && OPTIONAL_SECRETS.has(name)) return true
    return typeof field === 'string' && SECRET_PATTERNS[name].test(field)
  })
}
