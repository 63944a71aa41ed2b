import { execFileSync } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  describeLoadFailure,
  desktopWebPreferences,
  isAllowedNavigation,
  isAllowedPermission,
  isAllowedRequest,
  partitionFor,
  pinDecision,
  VERIFY_ACCEPT,
  VERIFY_REJECT,
} from './pinning'

const IP = '203.0.113.7'
const ORIGIN = { ip: IP, port: 443 }

// Electron's Certificate.fingerprint, computed the way Node can: sha256 over the whole DER.
function electronFingerprint(pem: string): string {
  return `sha256/${createHash('sha256').update(new X509Certificate(pem).raw).digest('base64')}`
}

let dir = ''
let pemA = ''
let pemB = ''

function makeCert(name: string): string {
  const key = join(dir, `${name}.key`)
  const crt = join(dir, `${name}.crt`)
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${IP}`, '-addext', `subjectAltName=IP:${IP}`,
  ], { stdio: 'ignore' })
  return readFileSync(crt, 'utf8')
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dictumal-pinning-'))
  pemA = makeCert('a')
  pemB = makeCert('b')
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('pinDecision', () => {
  it('computes the same fingerprint as the openssl CLI (certificate DER, not the key)', () => {
    const der = execFileSync('openssl', ['x509', '-in', join(dir, 'a.crt'), '-outform', 'DER'])
    const viaCli = `sha256/${createHash('sha256').update(der).digest('base64')}`
    expect(electronFingerprint(pemA)).toBe(viaCli)
    expect(electronFingerprint(pemA)).not.toBe(electronFingerprint(pemB))
  })

  it('accepts only the pinned certificate on the pinned IP', () => {
    const a = electronFingerprint(pemA)
    const b = electronFingerprint(pemB)
    const pin = { ip: IP, fingerprint: a }
    const table: Array<[string, string, number]> = [
      [IP, a, VERIFY_ACCEPT],
      [IP, b, VERIFY_REJECT], // same host, another certificate (a MITM's)
      ['203.0.113.8', a, VERIFY_REJECT], // the right certificate replayed by another host
      ['evil.example', a, VERIFY_REJECT],
      [`${IP}.nip.io`, a, VERIFY_REJECT],
      ['', a, VERIFY_REJECT],
      [IP, '', VERIFY_REJECT],
      [IP, a.toLowerCase(), VERIFY_REJECT],
      [IP, a.replace('sha256/', 'sha1/'), VERIFY_REJECT],
    ]
    for (const [hostname, fingerprint, verdict] of table) {
      expect(pinDecision({ hostname, fingerprint }, pin), `${hostname} ${fingerprint}`).toBe(verdict)
    }
  })

  it('rejects everything when the pin itself is malformed or empty', () => {
    const a = electronFingerprint(pemA)
    expect(pinDecision({ hostname: IP, fingerprint: '' }, { ip: IP, fingerprint: '' })).toBe(VERIFY_REJECT)
    expect(pinDecision({ hostname: '', fingerprint: a }, { ip: '', fingerprint: a })).toBe(VERIFY_REJECT)
    expect(pinDecision({ hostname: IP, fingerprint: 'sha256/x' }, { ip: IP, fingerprint: 'sha256/x' })).toBe(VERIFY_REJECT)
    expect(pinDecision({ hostname: 'evil', fingerprint: a }, { ip: 'evil', fingerprint: a })).toBe(VERIFY_REJECT)
  })
})

describe('isAllowedRequest', () => {
  const allowed = [
    `https://${IP}/guacamole/`,
    `https://${IP}:443/guacamole/?data=abc`,
    `wss://${IP}/guacamole/websocket-tunnel?token=x`,
    `wss://${IP}:443/guacamole/websocket-tunnel`,
    `https://${IP}/guacamole/app.js#frag`,
    `HTTPS://${IP}/guacamole/`, // scheme case is not a different origin
  ]
  const refused = [
    `http://${IP}/guacamole/`, // plaintext
    `ws://${IP}/guacamole/websocket-tunnel`,
    `http://${IP}:443/`,
    `https://${IP}:8443/guacamole/`, // other port
    `https://${IP}:8080/guacamole/`,
    `wss://${IP}:8080/guacamole/websocket-tunnel`,
    `https://203.0.113.8/guacamole/`, // other host
    `https://${IP}.nip.io/`,
    `https://evil.example/`,
    `https://${IP}@evil.example/`, // userinfo tricks
    `https://user:pass@${IP}/`,
    `https://${IP}:443@evil.example/`,
    `https://evil.example/${IP}`,
    `https://evil.example/?u=https://${IP}/`,
    `https://[::ffff:${IP}]/`, // IPv6 forms of the same address
    'https://[::ffff:cb00:7107]/',
    'https://[::1]/',
    `data:text/html,<script>location='https://${IP}/'</script>`,
    `file:///etc/passwd`,
    `ftp://${IP}/`,
    `blob:https://${IP}/0b6e4c5a-0000-4000-8000-000000000000`,
    `javascript:fetch('https://${IP}/')`,
    `chrome://settings`,
    `devtools://devtools/bundled/inspector.html`,
    'about:blank',
    '',
    'not a url',
    `//${IP}/`,
  ]

  it.each(allowed)('allows %s', (url) => {
    expect(isAllowedRequest(url, ORIGIN)).toBe(true)
  })

  it.each(refused)('refuses %s', (url) => {
    expect(isAllowedRequest(url, ORIGIN)).toBe(false)
  })

  it('treats a non-default pinned port as the only port, and 443 then as foreign', () => {
    const pin = { ip: IP, port: 8443 }
    expect(isAllowedRequest(`https://${IP}:8443/`, pin)).toBe(true)
    expect(isAllowedRequest(`wss://${IP}:8443/t`, pin)).toBe(true)
    expect(isAllowedRequest(`https://${IP}/`, pin)).toBe(false)
    expect(isAllowedRequest(`https://${IP}:443/`, pin)).toBe(false)
  })

  it('compares the address Chromium would dial, after IPv4 canonicalisation', () => {
    // 0xcb.0.113.7 and the single-number form are the same address; Chromium connects to it and the
    // certificate pin still applies, so the request is not a way out of the origin.
    expect(isAllowedRequest('https://0xcb.0.113.7/', ORIGIN)).toBe(true)
    expect(isAllowedRequest(`https://${203 * 2 ** 24 + 113 * 256 + 7}/`, ORIGIN)).toBe(true)
    expect(isAllowedRequest('https://0xcb.0.113.8/', ORIGIN)).toBe(false)
  })

  it('refuses everything for an unusable pin', () => {
    for (const pin of [
      { ip: '', port: 443 },
      { ip: 'evil.example', port: 443 },
      { ip: '::1', port: 443 },
      { ip: IP, port: 0 },
      { ip: IP, port: 70000 },
      { ip: IP, port: Number.NaN },
    ]) {
      expect(isAllowedRequest(`https://${pin.ip}/`, pin), JSON.stringify(pin)).toBe(false)
    }
  })
})

describe('isAllowedNavigation', () => {
  it('allows the pinned https origin in any frame but never wss or plaintext', () => {
    expect(isAllowedNavigation(`https://${IP}/guacamole/#/client/x`, ORIGIN, { isMainFrame: true })).toBe(true)
    expect(isAllowedNavigation(`https://${IP}/guacamole/`, ORIGIN, { isMainFrame: false })).toBe(true)
    expect(isAllowedNavigation(`wss://${IP}/guacamole/`, ORIGIN, { isMainFrame: true })).toBe(false)
    expect(isAllowedNavigation(`http://${IP}/guacamole/`, ORIGIN, { isMainFrame: true })).toBe(false)
    expect(isAllowedNavigation('https://evil.example/', ORIGIN, { isMainFrame: false })).toBe(false)
    expect(isAllowedNavigation(`https://${IP}@evil.example/`, ORIGIN, { isMainFrame: true })).toBe(false)
  })

  it('allows about:blank only inside sub-frames, never as the page itself', () => {
    expect(isAllowedNavigation('about:blank', ORIGIN, { isMainFrame: false })).toBe(true)
    expect(isAllowedNavigation('about:srcdoc', ORIGIN, { isMainFrame: false })).toBe(true)
    expect(isAllowedNavigation('about:blank', ORIGIN, { isMainFrame: true })).toBe(false)
    expect(isAllowedNavigation('about:blank#x', ORIGIN, { isMainFrame: false })).toBe(false)
    expect(isAllowedNavigation('data:text/html,hi', ORIGIN, { isMainFrame: false })).toBe(false)
  })
})

describe('isAllowedPermission', () => {
  const ON = { clipboardRead: true }
  const OFF = { clipboardRead: false }

  it('grants clipboard-read only while the setting is on; writing stays allowed', () => {
    const origin = `https://${IP}`
    expect(isAllowedPermission('clipboard-read', origin, ORIGIN, OFF)).toBe(false)
    expect(isAllowedPermission('clipboard-sanitized-write', origin, ORIGIN, OFF)).toBe(true)
    expect(isAllowedPermission('clipboard-read', origin, ORIGIN, ON)).toBe(true)
    expect(isAllowedPermission('clipboard-read', 'https://evil.example', ORIGIN, ON)).toBe(false)
  })

  it('grants only clipboard permissions, and only to the pinned origin', () => {
    const origin = `https://${IP}`
    expect(isAllowedPermission('clipboard-read', origin, ORIGIN, ON)).toBe(true)
    expect(isAllowedPermission('clipboard-sanitized-write', `${origin}/guacamole/`, ORIGIN, ON)).toBe(true)
    expect(isAllowedPermission('clipboard-read', 'https://evil.example', ORIGIN, ON)).toBe(false)
    expect(isAllowedPermission('clipboard-read', `http://${IP}`, ORIGIN, ON)).toBe(false)
    expect(isAllowedPermission('clipboard-read', `https://${IP}:8443`, ORIGIN, ON)).toBe(false)
    expect(isAllowedPermission('clipboard-read', '', ORIGIN, ON)).toBe(false)
    for (const permission of [
      'media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'pointerLock', 'keyboardLock',
      'display-capture', 'hid', 'usb', 'serial', 'fileSystem', 'deprecated-sync-clipboard-read', 'unknown',
    ]) {
      expect(isAllowedPermission(permission, origin, ORIGIN, ON), permission).toBe(false)
    }
  })
})

describe('partitionFor and desktopWebPreferences', () => {
  it('gives each deployment its own in-memory partition', () => {
    const a = partitionFor('0b6e4c5a-1111-4000-8000-000000000001')
    const b = partitionFor('0b6e4c5a-1111-4000-8000-000000000002')
    expect(a).not.toBe(b)
    expect(a.startsWith('persist:')).toBe(false)
    expect(a).toBe(partitionFor('0b6e4c5a-1111-4000-8000-000000000001'))
  })

  it('refuses ids that could smuggle a persist: prefix or be empty', () => {
    expect(() => partitionFor('')).toThrow()
    expect(() => partitionFor('persist:x')).toThrow()
    expect(() => partitionFor('../x')).toThrow()
  })

  it('locks the remote page down', () => {
    const prefs = desktopWebPreferences(partitionFor('abc-123'))
    expect(prefs).toMatchObject({
      partition: 'dictumal-desktop-abc-123',
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
    expect(prefs).not.toHaveProperty('preload')
    expect(() => desktopWebPreferences('persist:dictumal')).toThrow()
  })
})

describe('describeLoadFailure', () => {
  it('names the pin when the verify proc refused, and never echoes a URL', () => {
    expect(describeLoadFailure(-2)).toMatch(/certificate/)
    expect(describeLoadFailure(-20)).toMatch(/blocked/)
    expect(describeLoadFailure(-102)).toMatch(/refused/)
    expect(describeLoadFailure(-118)).toMatch(/in time/)
    expect(describeLoadFailure(-999)).toBe('The desktop page did not load (network error -999). Reconnect to try again.')
    for (const code of [-2, -7, -20, -100, -101, -102, -105, -106, -109, -118, -999]) {
      expect(describeLoadFailure(code)).not.toMatch(/https?:|data=/)
    }
  })
})
