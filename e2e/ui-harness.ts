// The UI e2e harness: the built renderer in Chromium (browser host) wired to the REAL core
// (createAppServices) over a loopback fake DigitalOcean whose droplets boot as fake droplets on 127.0.0.N.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import type { Deployment, DesktopAction, DesktopMode } from '../preload/contract'
import { createHandlers, subscribeEvents } from '../main/core/api'
import { createAppServices, type AppServices, type ShellPort } from '../main/core/app-services'
import { MemorySecrets } from '../main/core/secrets'
import { startFakeCloud, type FakeCloud } from '../test/fakes/droplet-farm'
import type { FakeDropletOptions } from '../test/fakes/fake-droplet'
import type { FakeDigitalOceanOptions } from '../test/fakes/fake-digitalocean'
import { startBrowserHost, type BrowserHost } from './host/browser-host'

export interface UiAppOptions {
  colorScheme?: 'light' | 'dark'
  /** 'keychain': a valid token is already stored; 'env': DIGITALOCEAN_API_TOKEN is set; 'none': first run. */
  token?: 'none' | 'keychain' | 'env'
  env?: Record<string, string>
  /** Per fake droplet: its timeline and faults. */
  droplet?: (dropletId: number, ip: string) => Omit<FakeDropletOptions, 'ip' | 'userData'>
  keychainUnavailable?: boolean
  viewport?: { width: number; height: number }
  /** Replaces parts of the recorded Electron shell (pending navigation, layout reports, failures). */
  shell?: Partial<ShellPort>
  /** Options of the fake DigitalOcean (its account's SSH keys, …). */
  digitalOcean?: Omit<FakeDigitalOceanOptions, 'allocateIp'>
}

export interface ShellCall {
  kind: 'open' | 'action' | 'copy'
  detail: string
}

export interface UiApp {
  host: BrowserHost
  page: Page
  cloud: FakeCloud
  services: AppServices
  secrets: MemorySecrets
  /** What the page asked the (fake) Electron shell to do. */
  shellCalls: ShellCall[]
  close(): Promise<void>
}

const info = { name: 'Dictumal', version: '0.1.0', platform: 'linux', dataDir: '/tmp/dictumal-e2e' }

export async function startUiApp(options: UiAppOptions = {}): Promise<UiApp> {
  const secrets = new MemorySecrets(options.keychainUnavailable ? { unavailable: 'no-secret-service' } : {})
  const dropletOptions = options.droplet ?? (() => ({ timeline: { stepMs: 250 } }))
  const cloud = await startFakeCloud({
    digitalOcean: { activeAfterMs: 600, ipAfterMs: 1200, ...options.digitalOcean },
    farm: {
      dropletOptions: (dropletId, ip) => dropletOptions(dropletId, ip),
    },
  })
  const dataDir = await mkdtemp(join(tmpdir(), 'dictumal-ui-'))
  const token = options.token ?? 'keychain'
  if (token === 'keychain') await secrets.setToken(cloud.digitalOcean.token)
  const env: Record<string, string> = { DIGITALOCEAN_API_URL: cloud.digitalOcean.url, ...options.env }
  if (token === 'env') env.DIGITALOCEAN_API_TOKEN = cloud.digitalOcean.token

  // Electron's part (the embedded view, the clipboard) is played by this recorder; it tells the page
  // which desktop is showing exactly as main/desktop-view.ts does, through desktop:changed.
  const shellCalls: ShellCall[] = []
  let host: BrowserHost | null = null
  const shell: ShellPort = {
    async openDesktop(deployment: Deployment, mode: DesktopMode, launchUrl: () => Promise<string>) {
      const url = await launchUrl()
      shellCalls.push({ kind: 'open', detail: `${mode} ${deployment.id} ${new URL(url).host}` })
      if (mode === 'embedded') await host?.emit('desktop:changed', { deploymentId: deployment.id })
    },
    async desktopAction(action: DesktopAction) {
      shellCalls.push({ kind: 'action', detail: action })
      if (action === 'back') await host?.emit('desktop:changed', { deploymentId: null })
    },
    copyText(text: string) {
      shellCalls.push({ kind: 'copy', detail: text })
    },
    ...options.shell,
  }

  const services = await createAppServices({
    dataDir,
    env,
    info,
    secrets,
    shell,
    engine: { probeIntervalMs: 100, cloudIntervalMs: { first: 100, max: 300 } },
    client: { timeoutMs: 5000, maxRetries: 2 },
  })
  services.engine.start()
  host = await startBrowserHost({
    handlers: createHandlers(services),
    subscribe: (emit) => subscribeEvents(services, emit),
    colorScheme: options.colorScheme ?? 'light',
    ...(options.viewport ? { viewport: options.viewport } : {}),
  })
  const started = host
  return {
    host: started,
    page: started.page,
    cloud,
    services,
    secrets,
    shellCalls,
    async close() {
      await started.close()
      await services.close()
      await cloud.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** Writes and saves a constitution through the UI (Constitutions › New), optionally with a body. */
export async function addConstitution(page: Page, name: string, body?: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Constitutions' }).click()
  await page.getByRole('button', { name: /New constitution|Write your first constitution/ }).first().click()
  await page.getByLabel('Name').fill(name)
  if (body !== undefined) await page.getByLabel('Body (markdown)').fill(body)
  await page.getByRole('button', { name: 'Save' }).click()
}

/** Records every (status, stage, percent) a deployment card shows, from before it exists. */
export async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = []
    ;(window as unknown as { __progress: string[] }).__progress = seen
    const note = (el: Element) => {
      const entry = `${el.getAttribute('data-status')}|${el.getAttribute('data-stage')}|${el.getAttribute('data-percent')}`
      if (seen.at(-1) !== entry) seen.push(entry)
    }
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        const targets = m.type === 'attributes' ? [m.target] : [...m.addedNodes]
        for (const t of targets) {
          if (!(t instanceof Element)) continue
          if (t.matches('[data-deployment-id]')) note(t)
          t.querySelectorAll('[data-deployment-id]').forEach(note)
        }
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status', 'data-stage', 'data-percent'] })
  })
}

export async function progressSeen(page: Page): Promise<{ status: string; stage: string; percent: number }[]> {
  const raw = await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress)
  return raw.map((entry) => {
    const [status = '', stage = '', percent = '0'] = entry.split('|')
    return { status, stage, percent: Number(percent) }
  })
}
