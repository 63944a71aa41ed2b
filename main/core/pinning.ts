// Decisions for the embedded desktop's session: trust exactly one certificate on exactly one IP and
// port, and refuse every request, navigation and permission that would leave that origin.
import { isIPv4 } from 'node:net'

/** Electron's setCertificateVerifyProc verdicts: 0 accepts, -2 (net::ERR_FAILED) rejects. */
export const VERIFY_ACCEPT = 0
export const VERIFY_REJECT = -2
export type VerifyVerdict = typeof VERIFY_ACCEPT | typeof VERIFY_REJECT

export interface CertificatePin {
  ip: string
  fingerprint: string
}

export interface OriginPin {
  ip: string
  port: number
}

const FINGERPRINT_PATTERN = /^sha256\/[A-Za-z0-9+/]{43}=$/

/**
 * The verify proc's answer. It must be synchronous: the network service caches the result, and a
 * late answer can be cached as a rejection.
 */
export function pinDecision(
  presented: { hostname: string; fingerprint: string },
  pin: CertificatePin,
): VerifyVerdict {
  // A malformed pin (empty, wrong algorithm) must never match a malformed presented fingerprint.
  if (!isIPv4(pin.ip) || !FINGERPRINT_PATTERN.test(pin.fingerprint)) return VERIFY_REJECT
  return presented.hostname === pin.ip && presented.fingerprint === pin.fingerprint ? VERIFY_ACCEPT : VERIFY_REJECT
}

const DEFAULT_PORT: Record<string, number> = { 'https:': 443, 'wss:': 443 }

function parse(url: string): URL | null {
  try {
    return new URL(url)
  } catch {
    return null
  }
}

function isValidOriginPin(pin: OriginPin): boolean {
  return isIPv4(pin.ip) && Number.isInteger(pin.port) && pin.port > 0 && pin.port < 65536
}

function sameHostAndPort(parsed: URL, pin: OriginPin): boolean {
  // userinfo (https://ip@evil/) is refused outright even when the host would match: nothing the
  // gateway serves needs it, and it is the classic way to make a URL read as something it is not.
  if (parsed.username !== '' || parsed.password !== '') return false
  // WHATWG URL canonicalises IPv4 hosts (0x7f.1 → 127.0.0.1), as Chromium does before connecting,
  // so the comparison is between the addresses actually dialled. IPv6 hosts keep their brackets
  // and can never equal a dotted IPv4 pin.
  if (parsed.hostname !== pin.ip) return false
  const port = parsed.port === '' ? DEFAULT_PORT[parsed.protocol] : Number(parsed.port)
  return port === pin.port
}

/** The session's request filter: only https:/wss: to exactly the pinned host and port. */
export function isAllowedRequest(url: string, pin: OriginPin): boolean {
  if (!isValidOriginPin(pin)) return false
  const parsed = parse(url)
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'wss:')) return false
  return sameHostAndPort(parsed, pin)
}

/**
 * Where a frame of the desktop view may navigate: the pinned https origin, or (sub-frames only)
 * about:blank / about:srcdoc, which inherit the parent's origin and load nothing from the network.
 */
export function isAllowedNavigation(url: string, pin: OriginPin, options: { isMainFrame: boolean }): boolean {
  if (!options.isMainFrame && (url === 'about:blank' || url === 'about:srcdoc')) return true
  if (!isValidOriginPin(pin)) return false
  const parsed = parse(url)
  if (!parsed || parsed.protocol !== 'https:') return false
  return sameHostAndPort(parsed, pin)
}

const PARTITION_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/

/** One in-memory partition per deployment: without `persist:` nothing reaches the disk. */
export function partitionFor(deploymentId: string): string {
  if (!PARTITION_ID.test(deploymentId)) throw new Error('partitionFor: deployment id must be a uuid-like string')
  return `dictumal-desktop-${deploymentId}`
}

/** The subset of Electron's WebPreferences this module decides; structurally assignable to it. */
export interface DesktopWebPreferences {
  partition: string
  sandbox: true
  contextIsolation: true
  nodeIntegration: false
  nodeIntegrationInWorker: false
  nodeIntegrationInSubFrames: false
  webSecurity: true
  allowRunningInsecureContent: false
  webviewTag: false
  experimentalFeatures: false
  navigateOnDragDrop: false
  safeDialogs: true
  spellcheck: false
  /** Middle-click would open links in new windows around setWindowOpenHandler. */
  disableBlinkFeatures: 'Auxclick'
}

/** Remote content gets no preload, no Node and no relaxed web security. */
export function desktopWebPreferences(partition: string): DesktopWebPreferences {
  if (partition.startsWith('persist:')) throw new Error('desktopWebPreferences: the desktop partition must be in-memory')
  return {
    partition,
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    disableBlinkFeatures: 'Auxclick',
  }
}

/** Guacamole's clipboard integration is the only browser permission a remote desktop needs. */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-read', 'clipboard-sanitized-write'])

/** What the user allows the remote page beyond writing to the clipboard (Settings). */
export interface DesktopPermissionSettings {
  /** Guacamole reads the local clipboard to send it to the remote desktop; a user may turn that off. */
  clipboardRead: boolean
}

/** For both the permission request and check handlers; `requestingUrl` may be a full URL or an origin. */
export function isAllowedPermission(permission: string, requestingUrl: string, pin: OriginPin, settings: DesktopPermissionSettings): boolean {
  if (!ALLOWED_PERMISSIONS.has(permission)) return false
  if (permission === 'clipboard-read' && !settings.clipboardRead) return false
  return isAllowedNavigation(requestingUrl, pin, { isMainFrame: true })
}

/**
 * A user-facing sentence for a Chromium net error seen while loading the desktop. Under a verify
 * proc a wrong certificate surfaces as plain ERR_FAILED (-2), so that code names the pin.
 */
export function describeLoadFailure(errorCode: number): string {
  switch (errorCode) {
    case -2:
      return 'The desktop could not be reached securely: its certificate is not the one Dictumal pinned for this deployment, or the connection failed.'
    case -20:
      return 'The desktop page tried to load something from outside its pinned address, and Dictumal blocked it.'
    case -7:
    case -118:
      return 'The desktop did not answer in time. Check that the droplet is running, then reconnect.'
    case -100:
    case -101:
    case -102:
    case -109:
      return 'The desktop gateway refused or dropped the connection. It may still be starting; reconnect in a moment.'
    case -105:
    case -106:
      return 'There is no network connection to the desktop. Check your internet connection, then reconnect.'
    default:
      return `The desktop page did not load (network error ${errorCode}). Reconnect to try again.`
  }
}
