// Builds a deployment's cloud-init user data (`#cloud-config`): bootcmd starts the beacon, write_files
// carries scripts, secrets and the certificate, runcmd runs the setup script. Nothing here logs.
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { stringify } from 'yaml'
import { isDeploymentSecrets, type DeploymentSecrets } from '../deployment-secrets'
import { beaconScript, bootcmdScript } from './beacon'
import { nginxSiteConfig } from './nginx'
import { DROPLET_PATHS } from './paths'
import { setupScript } from './setup-script'
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

interface WriteFile {
  path: string
  content: string
  permissions: string
  owner: string
}

export const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/10-dictumal.conf'

function file(path: string, content: string, permissions: string): WriteFile {
  return { path, content, permissions, owner: 'root:root' }
}

function validate(input: UserDataInput): void {
  assertDeploymentId(input.deploymentId)
  if (typeof input.constitution.body !== 'string') throw new InvalidRecipeInputError('The constitution has no body.')
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
        'An SSH key is not an OpenSSH public key line.',
        'Give keys as "ssh-ed25519 AAAA… comment"; DigitalOcean key ids belong in DIGITALOCEAN_SSH_KEYS.',
      )
    }
  }
}

export function buildUserData(input: UserDataInput): string {
  validate(input)
  const p = DROPLET_PATHS
  const name = dropletNameFor(input.constitution.name, input.deploymentId)
  const { secrets } = input
  const sshKeys = (input.sshKeys ?? []).map((key) => key.trim())

  const writeFiles: WriteFile[] = [
    file(p.deploymentFile, `DEPLOYMENT_ID=${input.deploymentId}\nDROPLET_NAME=${name}\n`, '0644'),
    file(p.secretsEnv, `VNC_PASSWORD=${secrets.vncPassword}\nUSER_PASSWORD=${secrets.userPassword}\n`, '0600'),
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
    file(SSHD_DROP_IN, 'PasswordAuthentication no\nKbdInteractiveAuthentication no\n', '0644'),
    file(p.beaconScript, beaconScript(), '0755'),
    file(p.setupScript, setupScript(), '0700'),
  ]

  const doc = {
    ssh_pwauth: false,
    ...(sshKeys.length > 0 ? { ssh_authorized_keys: sshKeys } : {}),
    bootcmd: [['sh', '-c', bootcmdScript()]],
    write_files: writeFiles,
    runcmd: [[p.setupScript]],
  }
  const header = `#cloud-config\n# Dictumal desktop ${name}. Setup log: ${p.log}\n`
  const userData = header + stringify(doc, { lineWidth: 0, minContentWidth: 0, indentSeq: false })

  const bytes = userDataBytes(userData)
  if (bytes > MAX_USER_DATA_BYTES) {
    throw new UserDataTooLargeError(bytes, userDataBytes(input.constitution.body))
  }
  return userData
}
