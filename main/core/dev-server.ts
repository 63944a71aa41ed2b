// `npm run dev`: electron-vite serves the renderer with hot reload and tells main where in
// ELECTRON_RENDERER_URL. That origin is trusted (for the window and for IPC) only in an unpackaged
// build, and only when it is a loopback http address: a packaged app ignores the variable.
import { isTrustedSenderUrl } from './app-protocol'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** The dev server's origin, or null outside development. */
export function devRendererOrigin(env: NodeJS.ProcessEnv, isPackaged: boolean): string | null {
  if (isPackaged) return null
  const raw = env.ELECTRON_RENDERER_URL?.trim()
  if (!raw) return null
  try {
    const url = new URL(raw)
    if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname) || url.username || url.password) return null
    return url.origin
  } catch {
    return null
  }
}

/** The page the main window loads: the dev server in development, app://dictumal otherwise. */
export function rendererEntryUrl(devOrigin: string | null, appEntryUrl: string): string {
  return devOrigin ? `${devOrigin}/` : appEntryUrl
}

/** Whether a frame URL is the app's own page: app://dictumal, or the dev server while developing. */
export function isTrustedRendererUrl(url: string | null | undefined, devOrigin: string | null): boolean {
  if (isTrustedSenderUrl(url)) return true
  if (!devOrigin || !url) return false
  try {
    return new URL(url).origin === devOrigin
  } catch {
    return false
  }
}

/**
 * The renderer's CSP as the dev server must serve it: Vite injects its client, React Refresh's
 * preamble (an inline module script) and styles as <style> tags, and talks to its server over a
 * WebSocket. Production keeps the strict policy; only `npm run dev` gets this one.
 */
export function devContentSecurityPolicy(policy: string): string {
  const directives = policy
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean)
  const extend = (name: string, extra: string[]): void => {
    const index = directives.findIndex((d) => d.split(/\s+/)[0] === name)
    if (index === -1) directives.push([name, "'self'", ...extra].join(' '))
    else directives[index] = [directives[index], ...extra].join(' ')
  }
  extend('script-src', ["'unsafe-inline'"])
  extend('style-src', ["'unsafe-inline'"])
  extend('connect-src', ['ws://localhost:*', 'ws://127.0.0.1:*'])
  return directives.join('; ')
}
