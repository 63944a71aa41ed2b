// The e2e "browser host": serves the built renderer on loopback, opens it in Chromium, and bridges
// window.dictumal to real main/core handlers running in the test's Node process. It stands in for
// Electron's main process where no Electron binary exists.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { build } from 'rolldown'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { EventChannel, EventChannels } from '../../preload/contract'
import type { Handlers } from '../../main/core/api'
import { APP_ORIGIN, CONTENT_SECURITY_POLICY, mimeTypeFor, resolveAppAsset } from '../../main/core/app-protocol'

const repoRoot = resolve(import.meta.dirname, '../..')
const rendererDir = resolve(repoRoot, 'out/renderer')

/** A browser from DICTUMAL_CHROMIUM, then Debian's /usr/bin/chromium, then Playwright's own download. */
export function chromiumExecutable(): string | undefined {
  const fromEnv = process.env.DICTUMAL_CHROMIUM ?? process.env.CHROMIUM_PATH
  if (fromEnv) return fromEnv
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium'
  return undefined
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const executablePath = chromiumExecutable()
  return chromium.launch({ headless: true, ...(executablePath ? { executablePath } : {}), args: [...CHROMIUM_ARGS, ...extraArgs] })
}

let bridgeScript: Promise<string> | null = null
function bridge(): Promise<string> {
  bridgeScript ??= build({
    input: resolve(import.meta.dirname, 'bridge-entry.ts'),
    write: false,
    output: { format: 'iife' },
    logLevel: 'silent',
  }).then((out) => {
    const chunk = out.output[0]
    if (!chunk || chunk.type !== 'chunk') throw new Error('bridge bundle is empty')
    return chunk.code
  })
  return bridgeScript
}

async function serveRenderer(): Promise<{ server: Server; url: string }> {
  if (!existsSync(resolve(rendererDir, 'index.html'))) {
    throw new Error('The renderer is not built: run "npm run build" before the e2e tests.')
  }
  const server = createServer((req, res) => {
    // The same mapping (and traversal guard) as the app's own app:// protocol.
    const file = resolveAppAsset(rendererDir, `${APP_ORIGIN}${req.url ?? '/'}`)
    if (!file) {
      res.writeHead(404).end()
      return
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': mimeTypeFor(file), 'content-security-policy': CONTENT_SECURITY_POLICY })
        res.end(body)
      },
      () => res.writeHead(404).end('not found'),
    )
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}/` }
}

export interface BrowserHost {
  page: Page
  context: BrowserContext
  url: string
  /** Pushes an event to the page, as main's send() would. */
  emit<C extends EventChannel>(channel: C, payload: EventChannels[C]): Promise<void>
  /** Console errors and page errors seen so far (a healthy UI has none). */
  errors: string[]
  close(): Promise<void>
}

export interface BrowserHostOptions {
  handlers: Handlers
  /** Called once the page exists, with an emitter; returns an unsubscribe function. */
  subscribe?: (emit: <C extends EventChannel>(channel: C, payload: EventChannels[C]) => void) => () => void
  browser?: Browser
  colorScheme?: 'light' | 'dark'
  viewport?: { width: number; height: number }
}

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const { server, url } = await serveRenderer()
  const ownBrowser = !options.browser
  const browser = options.browser ?? (await launchChromium())
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1180, height: 780 },
    colorScheme: options.colorScheme ?? 'light',
  })
  const errors: string[] = []
  await context.exposeBinding('__dictumalInvoke', async (_source, channel: unknown, args: unknown) => {
    if (typeof channel !== 'string' || !(channel in options.handlers) || !Array.isArray(args)) {
      throw new Error(`Unknown channel ${String(channel)}`)
    }
    const handler = options.handlers[channel as keyof Handlers]
    return handler(...(args as unknown[]))
  })
  await context.addInitScript({ content: await bridge() })
  const page = await context.newPage()
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`)
  })

  const emit = async <C extends EventChannel>(channel: C, payload: EventChannels[C]): Promise<void> => {
    if (page.isClosed()) return
    await page.evaluate(
      ([c, p]) => (window as unknown as { __dictumalDispatch(c: string, p: unknown): void }).__dictumalDispatch(c, p),
      [channel, payload] as const,
    )
  }
  const unsubscribe = options.subscribe?.((channel, payload) => {
    emit(channel, payload).catch(() => {})
  })
  await page.goto(url)

  return {
    page,
    context,
    url,
    emit,
    errors,
    close: async () => {
      unsubscribe?.()
      await context.close()
      if (ownBrowser) await browser.close()
      await new Promise<void>((ok) => server.close(() => ok()))
    },
  }
}
