// Builds a deployment's cloud-init user data (`#cloud-config`): bootcmd starts the beacon, write_files
// carries scripts, secrets and the certificate, runcmd runs the setup script. Every file travels
// base64-encoded (gzip first where that is smaller), so no text from the user or from DigitalOcean can
// become YAML: PyYAML, cloud-init's loader, reads U+0085/U+2028/U+2029 as line breaks and refuses some
// controls, and a YAML 1.2 writer leaves those raw. The document itself is printable ASCII, checked.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { stringify } from 'yaml'
import type { UserError } from '../../../preload/contract'
import { generateDeploymentSecrets, isDeploymentSecrets, type DeploymentSecrets } from '../deployment-secrets'
import { beaconScript, bootcmdScript } from './beacon'
import { firewallRules, guacamoleEntrypointHook } from './hardening'
import { nginxSiteConfig } from './nginx'
import { sha512Crypt } from './password-hash'
import { DROPLET_PATHS } from './paths'
import { setupScript, type SetupMode } from './setup-script'
import { nginxSetupLogAuth, setupLogServerScript, setupLogServerUnit } from './setup-log-server'
import {
  assertDeploymentId,
  dropletNameFor,
  InvalidRecipeInputError,
  isPublicKeyLine,
  MAX_USER_DATA_BYTES,
  UserDataTooLargeError,
  userDataBytes,
} from './validation'

export interface UserDataInput {
  deploymentId: string
  constitution: { name: string; body: string }
  secrets: DeploymentSecrets
  certificate: { certPem: string; keyPem: string }
  /** OpenSSH public key lines (not DigitalOcean key ids: those go to the create call and land in root's keys). */
  sshKeys?: string[]
}

export interface UserDataOptions {
  /** `full` (a fresh droplet), or `personalise` (a droplet from a desktop image or a hibernation snapshot). */
  mode?: Exclude<SetupMode, 'bake'>
}

interface WriteFile {
  path: string
  encoding: 'b64' | 'gz+b64'
  content: string
  permissions: string
  owner: string
}

export const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/10-dictumal.conf'
const PRINTABLE_ASCII_DOCUMENT = /^[\x20-\x7e\n]*$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function file(path: string, text: string, permissions: string): WriteFile {
  const raw = Buffer.from(text, 'utf8')
  const gz = gzipSync(raw, { level: 9 }).toString('base64')
  const b64 = raw.toString('base64')
  return gz.length < b64.length
    ? { path, encoding: 'gz+b64', content: gz, permissions, owner: 'root:root' }
    : { path, encoding: 'b64', content: b64, permissions, owner: 'root:root' }
}

function validateConstitution({ name, body }: UserDataInput['constitution']): void {
  if (typeof body !== 'string') throw new InvalidRecipeInputError('The constitution has no body.')
  if (typeof name !== 'string') throw new InvalidRecipeInputError('The constitution has no name.')
  if (LONE_SURROGATE.test(name) || LONE_SURROGATE.test(body)) {
    throw new InvalidRecipeInputError(
      'The constitution contains broken characters (a lone UTF-16 surrogate) that cannot be sent as text.',
      'Retype or delete the character shown as a replacement symbol, then deploy again.',
    )
  }
}

function validate(input: UserDataInput): void {
  assertDeploymentId(input.deploymentId)
  validateConstitution(input.constitution)
  if (!isDeploymentSecrets(input.secrets)) {
    throw new InvalidRecipeInputError('The deployment secrets are malformed.', 'Create the deployment again.')
  }
  let cert: X509Certificate
  try {
    cert = new X509Certificate(input.certificate.certPem)
    if (!cert.checkPrivateKey(createPrivateKey(input.certificate.keyPem))) throw new Error('key mismatch')
  } catch {
    throw new InvalidRecipeInputError('The deployment certificate and its key do not belong together.')
  }
  for (const key of input.sshKeys ?? []) {
    if (!isPublicKeyLine(key)) {
      throw new InvalidRecipeInputError(
        'An SSH key is not an OpenSSH public key line in plain ASCII.',
        'Give keys as "ssh-ed25519 AAAA… comment"; DigitalOcean key ids belong in DIGITALOCEAN_SSH_KEYS.',
      )
    }
  }
}

/**
 * The setup log over HTTPS (setup-log-contract.ts): the key for the small server and for Nginx, both
 * root only, and the server. None for a deployment made before log keys: its log is not served.
 */
function setupLogFiles(logKey: string | undefined): WriteFile[] {
  if (logKey === undefined) return []
  const p = DROPLET_PATHS
  return [
    file(p.logKey, `${logKey}\n`, '0600'),
    file(p.nginxSetupLogAuth, nginxSetupLogAuth(logKey), '0600'),
    file(p.setupLogServer, setupLogServerScript(), '0755'),
    file(p.setupLogUnit, setupLogServerUnit(), '0644'),
  ]
}

/** The files both halves share: the scripts, the firewall rules, the activity service. */
function recipeFiles(): WriteFile[] {
  const p = DROPLET_PATHS
  return [
    file(p.firewallRules, firewallRules(), '0644'),
    file(p.guacamoleHook, guacamoleEntrypointHook(), '0644'),
    file(
      p.activityUnit,
      `[Unit]\nDescription=Dictumal desktop activity for the beacon\n\n[Service]\nExecStart=${p.beaconScript} activity\nRestart=always\nRestartSec=10\n\n[Install]\nWantedBy=multi-user.target\n`,
      '0644',
    ),
    file(p.beaconScript, beaconScript(), '0755'),
    file(p.setupScript, setupScript(), '0700'),
  ]
}

function render(header: string, doc: Record<string, unknown>): string {
  const userData = header + stringify(doc, { lineWidth: 0, minContentWidth: 0, indentSeq: false })
  // Everything variable is base64 by now; anything else here would be a recipe bug, not user input.
  if (!PRINTABLE_ASCII_DOCUMENT.test(userData)) throw new Error('user data must be printable ASCII')
  return userData
}

export function buildUserData(input: UserDataInput, options: UserDataOptions = {}): string {
  validate(input)
  const userData = assemble(input, options.mode ?? 'full')
  const bytes = userDataBytes(userData)
  if (bytes > MAX_USER_DATA_BYTES) throw new UserDataTooLargeError(bytes, input.constitution.body)
  return userData
}

function assemble(input: UserDataInput, mode: Exclude<SetupMode, 'bake'>): string {
  const p = DROPLET_PATHS
  const name = dropletNameFor(input.constitution.name, input.deploymentId)
  const { secrets } = input
  const sshKeys = (input.sshKeys ?? []).map((key) => key.trim())

  const writeFiles: WriteFile[] = [
    file(p.deploymentFile, `DEPLOYMENT_ID=${input.deploymentId}\nDROPLET_NAME=${name}\n`, '0644'),
    file(p.secretsEnv, `VNC_PASSWORD=${secrets.vncPassword}\nUSER_PASSWORD_HASH=${sha512Crypt(secrets.userPassword)}\n`, '0600'),
    file(
      p.guacamoleEnv,
      [
        `JSON_SECRET_KEY=${secrets.guacamoleKey}`,
        'GUACD_HOSTNAME=127.0.0.1',
        'GUACD_PORT=4822',
        'WEBAPP_CONTEXT=guacamole',
        // Behind Nginx every client would otherwise share the proxy's IP and trip the failed-login ban together.
        'REMOTE_IP_VALVE_ENABLED=true',
        '',
      ].join('\n'),
      '0600',
    ),
    file(p.certPem, input.certificate.certPem, '0644'),
    file(p.keyPem, input.certificate.keyPem, '0600'),
    file(p.nginxSite, nginxSiteConfig(), '0644'),
    file(p.constitution, input.constitution.body, '0644'),
    ...(sshKeys.length > 0 ? [file(p.authorizedKeys, `${sshKeys.join('\n')}\n`, '0644')] : []),
    ...setupLogFiles(secrets.logKey),
    file(SSHD_DROP_IN, 'PasswordAuthentication no\nKbdInteractiveAuthentication no\n', '0644'),
    ...recipeFiles(),
  ]

  const doc = {
    ssh_pwauth: false,
    ...(sshKeys.length > 0 ? { ssh_authorized_keys: sshKeys } : {}),
    bootcmd: [['sh', '-c', bootcmdScript(input.deploymentId.toLowerCase())]],
    write_files: writeFiles,
    runcmd: [[p.setupScript, mode]],
  }
  return render(`#cloud-config\n# Dictumal desktop ${name}. Setup log: ${p.log}\n`, doc)
}

/** The install half only, for an image builder droplet: no user, no secrets, no constitution. */
export function buildBakeUserData(): string {
  const p = DROPLET_PATHS
  return render(`#cloud-config\n# Dictumal desktop image build. Setup log: ${p.log}\n`, {
    ssh_pwauth: false,
    bootcmd: [['sh', '-c', bootcmdScript('bake')]],
    write_files: [file(SSHD_DROP_IN, 'PasswordAuthentication no\nKbdInteractiveAuthentication no\n', '0644'), ...recipeFiles()],
    runcmd: [[p.setupScript, 'bake']],
  })
}

/** Random base64 in PEM lines, the size of a real P-256 certificate or key: incompressible, as they are. */
function pemOfSize(label: string, derBytes: number): string {
  const lines = randomBytes(derBytes).toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/**
 * Whether a constitution fits in the user data, checked by rendering the real thing with stand-in
 * secrets and a stand-in certificate of the real sizes. Null when it fits; otherwise the sentence to show.
 */
export function constitutionFitError(constitution: { name: string; body: string }): UserError | null {
  try {
    validateConstitution(constitution)
    const userData = assemble(
      {
        deploymentId: '00000000-0000-4000-8000-000000000000',
        constitution,
        secrets: generateDeploymentSecrets(),
        certificate: { certPem: pemOfSize('CERTIFICATE', 420), keyPem: pemOfSize('PRIVATE KEY', 138) },
      },
      'full',
    )
    const bytes = userDataBytes(userData)
    if (bytes > MAX_USER_DATA_BYTES) throw new UserDataTooLargeError(bytes, constitution.body)
    return null
  } catch (error) {
    if (error instanceof UserDataTooLargeError || error instanceof InvalidRecipeInputError) return error.userError
    throw error
  }
}
