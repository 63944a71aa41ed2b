import { execFileSync } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createServer } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintOfPem, generateDeploymentCertificate, spkiHashOfPem, type DeploymentCertificate } from './certificate'
import { requireTool } from './recipe/testing/require-tool'

let cert: DeploymentCertificate
let dir: string
const NOW = new Date('2026-11-27T10:00:00Z')

beforeAll(async () => {
  cert = await generateDeploymentCertificate({ deploymentId: '3f2a9c1e-0000-4000-8000-000000000000', now: NOW })
  dir = mkdtempSync(join(tmpdir(), 'dictumal-cert-'))
  writeFileSync(join(dir, 'cert.pem'), cert.certPem)
  writeFileSync(join(dir, 'key.pem'), cert.keyPem)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const openssl = (...args: string[]): Buffer => execFileSync('openssl', args)

describe('generateDeploymentCertificate', () => {
  it('makes a self-signed ECDSA P-256 server certificate valid from a day ago for ten years', () => {
    const parsed = new X509Certificate(cert.certPem)
    expect(parsed.subject).toContain('CN=Dictumal 3f2a9c1e')
    expect(parsed.issuer).toBe(parsed.subject)
    expect(parsed.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(parsed.verify(parsed.publicKey)).toBe(true)
    expect(parsed.ca).toBe(false)
    expect(new Date(parsed.validFrom).getTime()).toBe(NOW.getTime() - 86_400_000)
    expect(new Date(parsed.validTo).getTime()).toBe(NOW.getTime() + 3650 * 86_400_000)
  })

  it('pairs the key with the certificate and agrees with openssl on both hashes', (ctx) => {
    requireTool('openssl', (note) => ctx.skip(note))
    const certPub = openssl('x509', '-in', join(dir, 'cert.pem'), '-noout', '-pubkey').toString()
    const keyPub = openssl('pkey', '-in', join(dir, 'key.pem'), '-pubout').toString()
    expect(keyPub).toBe(certPub)
    const hexFingerprint = openssl('x509', '-in', join(dir, 'cert.pem'), '-noout', '-fingerprint', '-sha256')
      .toString()
      .split('=')[1]
      ?.trim()
      .replaceAll(':', '')
    expect(cert.fingerprint).toBe(`sha256/${Buffer.from(hexFingerprint ?? '', 'hex').toString('base64')}`)
    writeFileSync(join(dir, 'pub.pem'), certPub)
    const spkiDer = openssl('pkey', '-pubin', '-in', join(dir, 'pub.pem'), '-outform', 'DER')
    expect(cert.spkiHash).toBe(createHash('sha256').update(spkiDer).digest('base64'))
  })

  it('is the certificate a TLS client sees, so the pin matches what Electron will report', async () => {
    const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (socket) => socket.end())
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const { port } = server.address() as AddressInfo
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      await once(socket, 'secureConnect')
      const peer = socket.getPeerCertificate()
      socket.destroy()
      expect(`sha256/${createHash('sha256').update(peer.raw).digest('base64')}`).toBe(cert.fingerprint)
    } finally {
      server.close()
    }
  })

  it('makes a fresh key pair for every deployment', async () => {
    const other = await generateDeploymentCertificate()
    expect(other.fingerprint).not.toBe(cert.fingerprint)
    expect(other.spkiHash).not.toBe(cert.spkiHash)
    expect(other.keyPem).not.toBe(cert.keyPem)
    expect(fingerprintOfPem(other.certPem)).toBe(other.fingerprint)
    expect(spkiHashOfPem(other.certPem)).toBe(other.spkiHash)
  })

  it('refuses something that is not a certificate', () => {
    expect(() => fingerprintOfPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow()
  })
})
