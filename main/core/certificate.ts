// The per-deployment TLS certificate: made in the app before the droplet exists so its fingerprint
// can be pinned from the first request. The private key goes only into that droplet's user data.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { createHash, X509Certificate } from 'node:crypto'

// Node's global WebCrypto (the same object as node:crypto's webcrypto), typed alike under Node and DOM libs.
const webcrypto = globalThis.crypto
x509.cryptoProvider.set(webcrypto)

export interface DeploymentCertificate {
  certPem: string
  /** PKCS#8 PEM. Secret: only for the user data. */
  keyPem: string
  /** Electron's form: 'sha256/' + base64(sha256(certificate DER)). */
  fingerprint: string
  /** base64(sha256(SubjectPublicKeyInfo DER)), as Chromium's --ignore-certificate-errors-spki-list wants. */
  spkiHash: string
}

export interface CertificateOptions {
  /** Only names the certificate (CN); the droplet's IP is unknown, and trust comes from the pin, not the name. */
  deploymentId?: string
  now?: Date
  /** Long by default: a pinned self-signed certificate gains nothing from expiring under a running desktop. */
  validDays?: number
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY_MS = 24 * 60 * 60 * 1000
const DEFAULT_VALID_DAYS = 3650

function pemBlock(label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

export async function generateDeploymentCertificate(options: CertificateOptions = {}): Promise<DeploymentCertificate> {
  const now = options.now ?? new Date()
  const validDays = options.validDays ?? DEFAULT_VALID_DAYS
  const cn = options.deploymentId ? `Dictumal ${options.deploymentId.slice(0, 8)}` : 'Dictumal desktop'
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '7'),
    name: [{ CN: [cn] }, { O: ['Dictumal'] }],
    // A day of slack for clocks that run behind.
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + validDays * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  const certPem = pemBlock('CERTIFICATE', cert.rawData)
  const keyPem = pemBlock('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  return { certPem, keyPem, fingerprint: fingerprintOfPem(certPem), spkiHash: spkiHashOfPem(certPem) }
}

/** 'sha256/' + base64(sha256(DER)): exactly what Electron's Certificate.fingerprint reports. */
export function fingerprintOfPem(pem: string): string {
  const der = new X509Certificate(pem).raw
  return `sha256/${createHash('sha256').update(der).digest('base64')}`
}

/** base64(sha256(SPKI DER)) of the certificate's public key. */
export function spkiHashOfPem(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}
