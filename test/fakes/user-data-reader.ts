// Reads back user data made by buildUserData, as the droplet would see it: the fake droplet uses it to
// serve HTTPS with the app's certificate and verify tokens with the deployment's Guacamole key.
import { gunzipSync } from 'node:zlib'
import { parse } from 'yaml'
import { DROPLET_PATHS } from '../../main/core/recipe/paths'
import { SECRET_PATTERNS } from '../../main/core/deployment-secrets'

export interface UserDataContents {
  deploymentId: string
  dropletName: string
  certPem: string
  keyPem: string
  guacamoleKey: string
  vncPassword: string
  /** SHA-512 crypt hash of the desktop user's password (the password itself never travels). */
  userPasswordHash: string
  constitutionBody: string
  /** Public key lines given at build time (not the account keys DigitalOcean adds itself). */
  sshKeys: string[]
  /** The setup log's key (DeploymentSecrets.logKey) when the user data carries one; null for older recipes. */
  logKey: string | null
  /** Every write_files entry by path. */
  files: Map<string, { content: string; permissions: string; owner: string }>
  /** The bootcmd script (`sh -c` body). */
  bootcmd: string
  runcmd: unknown[]
  /** The whole parsed #cloud-config document. */
  config: Record<string, unknown>
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function envFile(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const at = line.indexOf('=')
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 1))
  }
  return out
}

/** write_files content as cloud-init decodes it (`b64`, `gz+b64`, or plain). */
function decode(content: string, encoding: unknown): string {
  if (encoding === undefined) return content
  if (encoding === 'b64') return Buffer.from(content, 'base64').toString('utf8')
  if (encoding === 'gz+b64') return gunzipSync(Buffer.from(content, 'base64')).toString('utf8')
  throw new Error(`unexpected write_files encoding ${String(encoding)}`)
}

export function readUserData(userData: string): UserDataContents {
  if (!userData.startsWith('#cloud-config\n')) throw new Error('user data does not start with #cloud-config')
  const config: unknown = parse(userData)
  if (!isRecord(config)) throw new Error('user data is not a YAML mapping')
  const files = new Map<string, { content: string; permissions: string; owner: string }>()
  for (const entry of Array.isArray(config.write_files) ? config.write_files : []) {
    if (!isRecord(entry) || typeof entry.path !== 'string' || typeof entry.content !== 'string') {
      throw new Error('malformed write_files entry')
    }
    files.set(entry.path, {
      content: decode(entry.content, entry.encoding),
      permissions: typeof entry.permissions === 'string' ? entry.permissions : '',
      owner: typeof entry.owner === 'string' ? entry.owner : '',
    })
  }
  const read = (path: string): string => {
    const found = files.get(path)
    if (!found) throw new Error(`user data has no file ${path}`)
    return found.content
  }
  const need = (env: Map<string, string>, name: string): string => {
    const value = env.get(name)
    if (value === undefined) throw new Error(`user data has no ${name}`)
    return value
  }
  const deployment = envFile(read(DROPLET_PATHS.deploymentFile))
  const secrets = envFile(read(DROPLET_PATHS.secretsEnv))
  const guacamole = envFile(read(DROPLET_PATHS.guacamoleEnv))
  const boot = Array.isArray(config.bootcmd) ? config.bootcmd[0] : undefined
  const bootcmd = Array.isArray(boot) && typeof boot[2] === 'string' ? boot[2] : ''
  const keysFile = files.get(DROPLET_PATHS.authorizedKeys)?.content ?? ''
  return {
    logKey: logKeyIn(files),
    deploymentId: need(deployment, 'DEPLOYMENT_ID'),
    dropletName: need(deployment, 'DROPLET_NAME'),
    certPem: read(DROPLET_PATHS.certPem),
    keyPem: read(DROPLET_PATHS.keyPem),
    guacamoleKey: need(guacamole, 'JSON_SECRET_KEY'),
    vncPassword: need(secrets, 'VNC_PASSWORD'),
    userPasswordHash: need(secrets, 'USER_PASSWORD_HASH'),
    constitutionBody: read(DROPLET_PATHS.constitution),
    sshKeys: keysFile.split('\n').filter((line) => line.trim() !== ''),
    files,
    bootcmd,
    runcmd: Array.isArray(config.runcmd) ? config.runcmd : [],
    config,
  }
}


/** The setup log's key, where the recipe writes it (a root-only file); null when the user data has none. */
function logKeyIn(files: Map<string, { content: string }>): string | null {
  const key = files.get(DROPLET_PATHS.logKey)?.content.trim()
  return key !== undefined && SECRET_PATTERNS.logKey.test(key) ? key : null
}
