// Wires Dictumal's services once, in order: store, keychain, DigitalOcean client, engine. The
// Electron main process, the CLI and the e2e browser host all start from here, so they share one
// engine and one set of rules.
import type {
  AppInfo,
  AuthStatus,
  Catalog,
  Deployment,
  DesktopAction,
  DesktopLayout,
  DesktopMode,
  DesktopState,
  NavigateRequest,
  Settings,
  SshKeyOption,
} from '../../preload/contract'
import { imageChoice, gatewayHost, sshKeys, timeouts } from './config'
import {
  DigitalOceanClient,
  newestUbuntuSlug,
  resolveApiUrl,
  resolveTokenSource,
  tokenProvider,
  DEFAULT_IMAGE_SLUG,
  RateBudget,
  type Env,
} from './digitalocean'
import { Engine, type EngineOptions } from './engine/engine'
import { Hibernation, hibernationOptionsFromEnv, type HibernationOptions } from './hibernation/hibernation'
import { IdleWatcher, type IdleWatcherOptions } from './hibernation/idle'
import { fetchBeacon, pinnedAgent, probeGuacamoleHttps } from './engine/probes'
import { HealthWatch, healthTimingFromEnv, networkHealthProbe } from './engine/health-watch'
import { recordFinishedSteps, setupStepNote, StepTimes } from './engine/setup-progress'
import { join } from 'node:path'
import { imageOptionsFromEnv, ImageService, isExplicitImage, type ImageServiceOptions } from './images/image-builder'
import { recordDeployTimes } from './images/timings'
import { log } from './log'
import { KeytarSecrets, type Secrets } from './secrets'
import { openStore, type Store } from './store'
import { toUserError } from './user-error'

/** What only the host process can do: Electron shows desktops and owns the clipboard. */
export interface ShellPort {
  openDesktop(deployment: Deployment, mode: DesktopMode, launchUrl: () => Promise<string>): Promise<void>
  desktopAction(action: DesktopAction): Promise<void>
  copyText(text: string): void
  /** The deployment whose desktop is embedded in the main window now, if any. */
  currentDesktop?(): string | null
  /** What the main window shows now, including a desktop that is still connecting. */
  desktopState?(): DesktopState
  /** Where the renderer's desktop placeholder is, and whether a dialog of the app covers it. */
  setLayout?(layout: DesktopLayout): void
  /** A navigation the page has not heard yet (asked for before it loaded); taken once. */
  takePendingNavigation?(): NavigateRequest | null
}

export interface AppServicesOptions {
  dataDir: string
  env: Env
  info: Omit<AppInfo, 'notice'>
  secrets?: Secrets
  shell?: ShellPort
  /** Extra engine settings (tests: faster loops, an injected clock). */
  engine?: Partial<Omit<EngineOptions, 'store' | 'secrets' | 'cloud'>>
  /** Image service settings (tests: faster polling, a scripted beacon). */
  images?: Partial<Omit<ImageServiceOptions, 'store' | 'cloud'>>
  /** Client settings (tests: shorter timeouts). */
  client?: { timeoutMs?: number; maxRetries?: number }
  /** Hibernation settings (tests: faster polling, an injected clock). */
  hibernation?: Partial<Omit<HibernationOptions, 'store' | 'secrets' | 'cloud'>>
  /** Idle auto-hibernate settings (tests: an injected clock). */
  idle?: Partial<Pick<IdleWatcherOptions, 'clock' | 'intervalMs'>>
}

export interface AppServices {
  readonly info: AppInfo
  env: Env
  store: Store
  secrets: Secrets
  client: DigitalOceanClient
  engine: Engine
  /** Hibernate and resume (SPEC §10); driven from the engine's rounds. */
  hibernation: Hibernation
  /** Idle auto-hibernate: the app starts it (it warns through OS notifications first). */
  idle: IdleWatcher
  /** Re-checks running desktops (health dot, Not answering, Deleted outside Dictumal); driven from the engine's rounds. */
  health: HealthWatch
  /** Desktop images: build, list, delete, copy, and the deploy's choice between image and fresh. */
  images: ImageService
  shell: ShellPort | null
  authStatus(options?: { refresh?: boolean }): Promise<AuthStatus>
  /** Validates a token with DigitalOcean; returns the account or throws a typed error. */
  validateToken(token: string): Promise<AuthStatus['account']>
  catalog(): Promise<Catalog>
  sshKeyOptions(): Promise<SshKeyOption[]>
  settings(): Settings
  onAuthChange(listener: (status: AuthStatus) => void): () => void
  notifyAuthChanged(): Promise<void>
  close(): Promise<void>
}

const CATALOG_TTL_MS = 5 * 60_000
const ACCOUNT_TTL_MS = 60_000

export async function createAppServices(options: AppServicesOptions): Promise<AppServices> {
  const { env } = options
  const store = await openStore(options.dataDir)
  const notices: string[] = []
  if (store.recovered) {
    log.warn('store', store.recovered.userMessage)
    notices.push(store.recovered.userMessage)
  }
  store.onCorrupt((error) => {
    log.warn('store', error.userMessage)
    notices.push(error.userMessage)
  })
  const secrets = options.secrets ?? new KeytarSecrets()
  const readKeychainToken = async (): Promise<string | null> => secrets.getToken()
  const budget = new RateBudget()
  const client = new DigitalOceanClient({
    baseUrl: resolveApiUrl(env),
    token: tokenProvider({ env, readKeychainToken }),
    budget,
    // A create that DigitalOcean answers with 5xx/429 says so on its card while it is retried.
    onRetry: (error, call) => engine.noteCloudRetry(error, call),
    ...(options.client ?? {}),
  })
  // The watch loop asks again a moment later anyway, so its look-ups give up fast instead of waiting.
  const watchClient = new DigitalOceanClient({
    baseUrl: resolveApiUrl(env),
    token: tokenProvider({ env, readKeychainToken }),
    budget,
    timeoutMs: 5000,
    maxRetries: 0,
    maxWaitMs: 5000,
  })

  const settings = (): Settings => {
    const s = store.read().settings
    return { ...s, sshKeys: [...s.sshKeys] }
  }

  let latestUbuntu: { slug: string; at: number } | null = null
  const resolveImage = async (): Promise<{ slug: string; source: Catalog['image']['source'] }> => {
    const choice = imageChoice(env, settings())
    if (choice.kind === 'slug') return { slug: choice.slug, source: choice.source }
    if (!latestUbuntu || Date.now() - latestUbuntu.at > CATALOG_TTL_MS) {
      const slug = newestUbuntuSlug(await client.listDistributionImages()) ?? DEFAULT_IMAGE_SLUG
      latestUbuntu = { slug, at: Date.now() }
    }
    return { slug: latestUbuntu.slug, source: 'latest-ubuntu' }
  }

  const limits = timeouts(env)
  const images = new ImageService({
    store,
    cloud: client,
    baseImage: async () => (await resolveImage()).slug,
    explicitImage: () => isExplicitImage(imageChoice(env, settings())),
    sshKeys: () => sshKeys(env, settings()),
    onStoreChange: (listener) => store.onChange(() => listener()),
    ...imageOptionsFromEnv(env),
    ...(options.images ?? {}),
  })
  const stopTimings = recordDeployTimes(store)

  const hibernation = new Hibernation({
    store,
    secrets,
    cloud: client,
    sshKeys: () => sshKeys(env, settings()),
    ...hibernationOptionsFromEnv(env),
    ...(options.hibernation ?? {}),
  })

  const stepTimes = new StepTimes(join(options.dataDir, 'step-times.json'))
  const stepsSeen = new Set<string>()
  const engine = new Engine({
    store,
    secrets,
    cloud: client,
    onTick: () => {
      // Health re-checks run beside hibernation's round, never holding it up.
      void health.tick()
      return hibernation.tick()
    },
    onBeacon: (d, beacon) => {
      // The card's "Step 5 of 9" with the time left; finished steps join the rolling record.
      const full = store.read().deployments.find((x) => x.id === d.id) ?? d
      if (recordFinishedSteps(full, beacon, stepTimes, stepsSeen)) void stepTimes.save().catch((e: unknown) => log.warn('engine', 'cannot save step times', e))
      engine.live.setSetup(d.id, setupStepNote(full, beacon, stepTimes, Date.now()))
    },
    watchCloud: watchClient,
    imageSlug: async () => (await resolveImage()).slug,
    launchPlan: (input) => images.launchPlan(input),
    sshKeys: () => sshKeys(env, settings()),
    gatewayHost: () => gatewayHost(env, settings()),
    provisioningTimeoutMs: limits.provisioningMs,
    configuringTimeoutMs: limits.configuringMs,
    ...(options.engine ?? {}),
  })

  const health = new HealthWatch(
    {
      clock: { now: () => Date.now() },
      deployments: () => store.read().deployments,
      probe: networkHealthProbe({ pinnedAgent, probeHttps: probeGuacamoleHttps, fetchBeacon }),
      listTaggedIds: async () => new Set((await watchClient.listDropletsByTag('dictumal')).map((d) => d.id)),
      dropletExists: async (id) => (await watchClient.getDroplet(id)) !== null,
      markDeletedElsewhere: async (id) => {
        const now = new Date().toISOString()
        await store.update((draft) => {
          const d = draft.deployments.find((x) => x.id === id)
          if (d && d.status === 'ACTIVE') {
            Object.assign(d, { status: 'DESTROYED', error: 'Deleted outside Dictumal: the droplet is gone from DigitalOcean, so it no longer bills.', destroyedAt: now, updatedAt: now })
          }
        })
        await secrets.deleteDeploymentSecrets(id).catch(() => {})
      },
      report: (id, note) => engine.live.setHealth(id, note),
    },
    healthTimingFromEnv(env),
  )

  const idle = new IdleWatcher({
    deployments: () => store.read().deployments,
    idleMinutes: () => settings().idleHibernateMinutes,
    lastActivity: async (d) => (d.ip === null ? undefined : (await fetchBeacon(d.ip)).beacon?.lastActivityAt),
    hibernate: async (id) => {
      await hibernation.hibernate(id)
      engine.start()
    },
    ...(options.idle ?? {}),
  })

  let account: { value: AuthStatus['account']; token: string; at: number } | null = null
  const authListeners = new Set<(status: AuthStatus) => void>()

  const authStatus = async ({ refresh = false } = {}): Promise<AuthStatus> => {
    const keychain: AuthStatus['keychain'] = { available: true }
    let source: Awaited<ReturnType<typeof resolveTokenSource>>
    try {
      source = await resolveTokenSource({ env, readKeychainToken })
    } catch (error) {
      const problem = toUserError(error)
      keychain.available = false
      keychain.message = problem.message
      source = await resolveTokenSource({ env, readKeychainToken: async () => null })
    }
    if (source.token === null) return { source: 'none', keychain, account: null }
    if (!refresh && account && account.token === source.token && Date.now() - account.at < ACCOUNT_TTL_MS) {
      return { source: source.source, keychain, account: account.value }
    }
    try {
      const a = await client.getAccount()
      const value = { email: a.email, dropletLimit: a.droplet_limit, status: a.status }
      account = { value, token: source.token, at: Date.now() }
      return { source: source.source, keychain, account: value }
    } catch (error) {
      account = null
      return { source: source.source, keychain, account: null, problem: toUserError(error) }
    }
  }

  const validateToken = async (token: string): Promise<AuthStatus['account']> => {
    const probe = new DigitalOceanClient({ baseUrl: resolveApiUrl(env), token: async () => token, ...(options.client ?? {}), maxRetries: 1 })
    const a = await probe.getAccount()
    return { email: a.email, dropletLimit: a.droplet_limit, status: a.status }
  }

  let catalogCache: { value: Omit<Catalog, 'image' | 'defaults'>; at: number } | null = null
  const catalog = async (): Promise<Catalog> => {
    if (!catalogCache || Date.now() - catalogCache.at > CATALOG_TTL_MS) {
      const [regions, sizes] = await Promise.all([client.listRegions(), client.listSizes()])
      catalogCache = {
        at: Date.now(),
        value: {
          regions: regions.map((r) => ({ slug: r.slug, name: r.name, available: r.available, sizes: [...r.sizes] })),
          sizes: sizes.map((s) => ({
            slug: s.slug,
            description: typeof s.description === 'string' ? s.description : s.slug,
            vcpus: s.vcpus,
            memoryMb: s.memory,
            diskGb: s.disk,
            priceHourly: s.price_hourly,
            priceMonthly: s.price_monthly,
            available: s.available,
            regions: [...s.regions],
          })),
        },
      }
    }
    const image = await resolveImage()
    const s = settings()
    return { ...catalogCache.value, image, defaults: { region: s.defaultRegion, size: s.defaultSize } }
  }

  const sshKeyOptions = async (): Promise<SshKeyOption[]> =>
    (await client.listSshKeys()).map((k) => ({ id: k.id, name: k.name, fingerprint: k.fingerprint }))

  const notifyAuthChanged = async (): Promise<void> => {
    if (authListeners.size === 0) return
    const status = await authStatus({ refresh: true })
    for (const listener of authListeners) listener(status)
  }

  return {
    get info(): AppInfo {
      return { ...options.info, notice: notices.length > 0 ? notices.join(' ') : null }
    },
    env,
    store,
    secrets,
    client,
    engine,
    hibernation,
    idle,
    health,
    images,
    shell: options.shell ?? null,
    authStatus,
    validateToken,
    catalog,
    sshKeyOptions,
    settings,
    onAuthChange: (listener) => {
      authListeners.add(listener)
      return () => authListeners.delete(listener)
    },
    notifyAuthChanged,
    close: async () => {
      stopTimings()
      await images.stop()
      await hibernation.stop()
      await engine.stop()
      await store.close()
    },
  }
}
