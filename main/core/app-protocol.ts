// The app's own origin (app://dictumal/) and the pure rules behind serving it: which file a URL maps
// to, the Content Security Policy, and which IPC senders count as our own renderer.
import { extname, normalize, resolve, sep } from 'node:path'

export const APP_SCHEME = 'app'
export const APP_HOST = 'dictumal'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
}

export function mimeTypeFor(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * Maps an app:// URL to a file under `root`, or null when the URL is not ours or would escape the
 * root (`..`, encoded separators, another host).
 */
export function resolveAppAsset(root: string, rawUrl: string): string | null {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return null
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null
  let pathname: string
  try {
    pathname = decodeURIComponent(url.pathname)
  } catch {
    return null
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null
  const relative = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '')
  const base = resolve(root)
  const target = resolve(base, normalize(relative))
  if (target !== base && !target.startsWith(base + sep)) return null
  return target
}

/** An IPC message is trusted only when it comes from a frame showing our own origin. */
export function isTrustedSenderUrl(url: string | undefined | null): boolean {
  if (!url) return false
  try {
    const parsed = new URL(url)
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST
  } catch {
    return false
  }
}

/** Navigation inside the app window may only stay on the app's own origin. */
export function isAllowedAppNavigation(url: string): boolean {
  return isTrustedSenderUrl(url)
}

/** The only pages the app may hand to the system browser: DigitalOcean's token and docs pages. */
const EXTERNAL_ORIGINS = new Set(['https://cloud.digitalocean.com', 'https://docs.digitalocean.com'])

export function isAllowedExternalUrl(url: string): boolean {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' && parsed.username === '' && parsed.password === '' && EXTERNAL_ORIGINS.has(parsed.origin)
  } catch {
    return false
  }
}
