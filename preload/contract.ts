// The one contract between Dictumal's processes: the domain types every side shares, the invoke
// channels (renderer asks, main answers) and the pushed events (main tells). Types, plus the two
// lists every side orders by (statuses and stages); nothing else runs here.

// ---------- Domain ----------

export const DEPLOYMENT_STATUSES = ['PROVISIONING', 'CONFIGURING', 'ACTIVE', 'HIBERNATING', 'HIBERNATED', 'ERROR', 'DESTROYED'] as const
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number]

/** The lifecycle's stages in order (SPEC §2). */
export const DEPLOYMENT_STAGES = [
  'provisioning-droplet',
  'waiting-for-ip',
  'installing-packages',
  'starting-guacamole',
  'configuring-https',
  'final-health-check',
  'active',
] as const
export type DeployStage = (typeof DEPLOYMENT_STAGES)[number]

/** Hibernation's stages in order (SPEC §10): HIBERNATING runs the first three, HIBERNATED rests in the last. */
export const HIBERNATION_STAGES = ['stopping', 'snapshotting', 'deleting-droplet', 'hibernated'] as const
export type HibernationStage = (typeof HIBERNATION_STAGES)[number]

export type DeploymentStage = DeployStage | HibernationStage

/** Hibernate or resume work in flight, written before every wait so a restarted engine finishes it. */
export interface HibernationProgress {
  op: 'hibernate' | 'resume'
  /** dictumal-hibernate-<id8>-<yyyymmdd-hhmm>: how the snapshot is found again after a crash. */
  snapshotName: string
  /** The DigitalOcean action being waited for, stored before waiting. */
  action: { id: number; type: 'shutdown' | 'power_off' | 'snapshot' | 'power_on'; startedAt: string } | null
  /** When this hibernate or resume began (a resume's provisioning clock starts here). */
  startedAt: string
  /** The process driving a hibernation (one at a time; a dead or silent one is taken over). */
  driver: { pid: number; heartbeatAt: string } | null
}

export interface ReadinessChecks {
  vnc5901: boolean
  http80: boolean
  guacHttp8080: boolean
  guacHttps443: boolean
}

/** A deployment record exactly as SPEC §1 names its fields. Holds no secrets. */
export interface Deployment {
  id: string
  constitutionId: string
  name: string
  region: string
  size: string
  image: string
  dropletId: number | null
  ip: string | null
  status: DeploymentStatus
  stage: DeploymentStage
  percent: number
  checks: ReadinessChecks
  error: string | null
  certFingerprint: string
  createdAt: string
  updatedAt: string
  activeAt: string | null
  destroyedAt: string | null
  /** Deployed from a desktop image (only the personalise half ran). */
  fastStart: boolean
  /** The hibernation snapshot: set while HIBERNATED, and while resuming until ACTIVE again. */
  snapshotId: string | null
  /** Its billable size, for the monthly cost shown while hibernated. */
  snapshotSizeGigabytes: number | null
  /** When the deployment was hibernated; null when it is not. */
  hibernatedAt: string | null
  hibernation: HibernationProgress | null
  /** The name every surface shows (main/core/display-name.ts); renameable. Older records have none. */
  displayName?: string | null
  /**
   * The DigitalOcean SSH keys (ids or fingerprints, never the keys) the droplet was created with; [] is
   * "None". A resume and a redeploy give the same. Older records have none: Settings' keys apply.
   */
  sshKeys?: string[]
}

export interface Constitution {
  id: string
  name: string
  body: string
  createdAt: string
  updatedAt: string
}

/** An expected failure, told to the user in one sentence (plus an optional hint). */
export interface UserError {
  code: string
  message: string
  hint?: string
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: UserError }

export interface AppInfo {
  name: string
  version: string
  platform: string
  dataDir: string
  /** Something the user must be told once, e.g. that an unreadable data file was kept aside. */
  notice: string | null
}

export interface Settings {
  defaultRegion: string
  defaultSize: string
  /** An explicit image slug, or null for the default / latest-Ubuntu choice. */
  imageSlug: string | null
  useLatestUbuntu: boolean
  /** SSH key ids or fingerprints added to new droplets. */
  sshKeys: string[]
  /** Preferred launch host; blank means the droplet IP. */
  gatewayHost: string
  /** Whether the remote desktop page may read the local clipboard (Guacamole's clipboard sync). */
  desktopClipboardRead: boolean
  /** Hibernate ACTIVE desktops nobody has had open for this many minutes; null: off (SPEC §10). */
  idleHibernateMinutes: number | null
}

/** Settings plus what the environment overrides (an env var wins over a setting). */
export interface SettingsView {
  settings: Settings
  overrides: {
    imageSlug?: string
    useLatestUbuntu?: boolean
    sshKeys?: string[]
    gatewayHost?: string
  }
}

export interface AuthStatus {
  /** Where the DigitalOcean token comes from. */
  source: 'env' | 'keychain' | 'none'
  keychain: { available: boolean; message?: string }
  /** Filled once the token was validated with GET /v2/account. */
  account: { email: string; dropletLimit: number; status: string } | null
  /** Why the current token does not work, when it does not. */
  problem?: UserError
}

export interface RegionOption {
  slug: string
  name: string
  available: boolean
  sizes: string[]
}

export interface SizeOption {
  slug: string
  description: string
  vcpus: number
  memoryMb: number
  diskGb: number
  priceHourly: number
  priceMonthly: number
  available: boolean
  regions: string[]
}

export interface Catalog {
  regions: RegionOption[]
  sizes: SizeOption[]
  /** The image new deployments will use, and why. */
  image: { slug: string; source: 'env' | 'setting' | 'latest-ubuntu' | 'default' }
  defaults: { region: string; size: string }
}

/** What the running engine knows about a deployment beyond its record (main/core/engine/live-notes.ts). */
export interface LiveNote {
  /** DigitalOcean trouble during a deploy, in one sentence for the card, and since when it lasts. */
  cloud: { message: string; since: string } | null
  /** A running desktop's last re-check (main/core/engine/health-watch.ts). */
  health?: HealthNote | null
  /** While it sets up: the droplet's own step and the time left (main/core/engine/setup-progress.ts). */
  setup?: SetupStepNote | null
}

/** "Step 5 of 9 · Downloading the Guacamole images", from the droplet's beacon. */
export interface SetupStepNote {
  step: string
  /** 1-based, of `total`. */
  index: number
  total: number
  title: string
  /** Estimated time left, from measured step times (or built-in guesses until some are measured). */
  leftMs: number
  /** How many past deployments in this region and size the estimate rests on (0: a guess). */
  measured: number
}

/** How an ACTIVE desktop answered its last re-check (beacon and pinned HTTPS, about every 30 s). */
export interface HealthNote {
  state: 'ok' | 'down'
  /** The pinned HTTPS gateway's round trip, when it answered. */
  roundTripMs: number | null
  checkedAt: string
  /** Set while down: since when it has not answered. */
  downSince: string | null
}

/** What the desktops cost now (main/core/cost.ts); null amounts while DigitalOcean's prices are unknown. */
export interface CostSummary {
  /** Desktops whose droplet is billed by the hour: being set up, running, failed (they bill too), hibernating. */
  billed: number
  failed: number
  hibernated: number
  /** Dollars per hour for the billed droplets. */
  hourly: number | null
  /** Dollars per month: the billed droplets plus the snapshots kept. */
  monthly: number | null
  /** "3 running · $0.108/h · ≈ $78.00 per month", as the page and the tray show it. */
  text: string
}

/** How many droplets the account has against DigitalOcean's droplet limit (deploy is refused at the limit). */
export interface DropletUsage {
  used: number
  limit: number
  atLimit: boolean
}

/** The end of a droplet's setup log, as text safe to show (no control characters but newline and tab). */
export interface SetupLogTail {
  text: string
  /** The log is longer than this; its start (up to a line boundary) is not shown. */
  truncated: boolean
  /** ISO time the droplet answered. */
  fetchedAt: string
}

export interface SshKeyOption {
  id: number
  name: string
  fingerprint: string
}

/** A droplet tagged `dictumal` that no local record owns (found by reconcile). */
export interface UnmanagedDroplet {
  dropletId: number
  name: string
  ip: string | null
  region: string
  size: string
  createdAt: string
  /** The deployment id from its `dictumal-<id>` tag, when it has one. */
  deploymentId: string | null
  /** True when that deployment's secrets are still in the keychain, so it can be adopted. */
  canAdopt: boolean
}

// ---------- Desktop images (SPEC §10) ----------

export const IMAGE_STATUSES = ['BUILDING', 'READY', 'ERROR'] as const
export type ImageStatus = (typeof IMAGE_STATUSES)[number]

/** An image build's stages in order, each with its percent (main/core/images). */
export const IMAGE_STAGES = ['creating-builder', 'waiting-for-ip', 'installing', 'stopping', 'snapshotting', 'deleting-builder', 'ready'] as const
export type ImageStage = (typeof IMAGE_STAGES)[number]

/** A desktop image: a snapshot of a droplet on which only the install half of the recipe ran. */
export interface DesktopImage {
  id: string
  /** DigitalOcean's snapshot id, once the snapshot exists. */
  snapshotId: string | null
  /** The snapshot's name: dictumal-image-r<recipeVersion>-<yyyymmdd-hhmm>. */
  name: string
  recipeVersion: number
  /** Regions the snapshot is available in (a transfer adds one). */
  regions: string[]
  sizeGigabytes: number | null
  status: ImageStatus
  stage: ImageStage
  percent: number
  error: string | null
  createdAt: string
  updatedAt: string
  /** The region and size the builder droplet runs in. */
  region: string
  size: string
  /** The builder droplet, kept until it is deleted, so a restarted engine finishes or cleans up. */
  builderDropletId: number | null
  builderIp: string | null
  /** The shutdown, power_off or snapshot action being waited for (stored before waiting). */
  pendingAction: { id: number; type: 'shutdown' | 'power_off' | 'snapshot'; startedAt: string } | null
  /** Transfers to other regions still in progress. */
  transfers: { region: string; actionId: number }[]
  /** The process driving the build (one at a time; a dead or silent one is taken over). */
  driver: { pid: number; heartbeatAt: string } | null
}

/** How long a deploy or a build took, measured (main/core/images/timings.ts). */
export interface TimingSample {
  kind: 'fresh' | 'image' | 'build'
  /** The deployment or image it measured (one sample each). */
  subjectId: string
  totalMs: number
  /** Milliseconds spent in each stage, as far as a running engine saw them. */
  steps: Record<string, number>
  at: string
}

/** What the deploy dialog shows: the path a deploy will take and how long each path takes. */
export interface DeployPlanView {
  path: 'image' | 'fresh'
  /** Why: an explicit image (env or setting) always deploys fresh. */
  reason: 'newest-ready-image' | 'no-ready-image' | 'explicit-image' | 'fresh-requested'
  image: { id: string; name: string; snapshotId: string } | null
  /** An image of the current recipe version that is READY in another region (it can be copied here). */
  elsewhere: { id: string; name: string; regions: string[] } | null
  /** Whether any image of the current recipe version exists or is building (offer to build one if not). */
  anyImage: boolean
  estimates: {
    fresh: { ms: number; measured: number }
    image: { ms: number; measured: number }
    build: { ms: number; measured: number }
  }
}

export type DesktopMode = 'embedded' | 'window'
export type DesktopAction = 'back' | 'reconnect' | 'fullscreen' | 'open-separately'

/** Which desktop the main window is showing (null: the app's own pages). */
export interface DesktopState {
  deploymentId: string | null
  /** True while the desktop is still loading (the toolbar offers Cancel). */
  connecting?: boolean
}

/**
 * Where the renderer's desktop placeholder sits in the window (CSS pixels of the main window's
 * content area), and whether something of the app's own (a dialog, a message) must show over it.
 */
export interface DesktopLayout {
  x: number
  y: number
  width: number
  height: number
  covered: boolean
}

/** A page the tray (or another part of main) asks the window to show, or an app-menu command (main/core/app-menu.ts). */
export interface NavigateRequest {
  view: 'new-deployment' | 'deployments' | 'new-constitution' | 'constitutions' | 'settings' | 'open-selected' | 'shortcuts'
}

// ---------- Channels ----------

/** Invoke channels: renderer → main, each answered once. Arguments are validated in main. */
export interface InvokeChannels {
  'app:info': () => AppInfo
  'auth:status': () => AuthStatus
  /** Validates the token with DigitalOcean, then stores it in the keychain. */
  'auth:set-token': (token: string) => Result<AuthStatus>
  'auth:remove-token': () => Result<AuthStatus>
  'constitutions:list': () => Constitution[]
  'constitutions:save': (input: { id?: string; name: string; body: string }) => Result<Constitution>
  'constitutions:delete': (id: string) => Result<null>
  'catalog:get': () => Result<Catalog>
  /** Round trip from this computer to each region (TCP handshake, ms; null where none was measured). */
  'catalog:latency': (regions: string[]) => Record<string, number | null>
  'account:ssh-keys': () => Result<SshKeyOption[]>
  /** Droplets in use and the account's limit (GET /v2/account and one page of /v2/droplets). */
  'account:droplets': () => Result<DropletUsage>
  'deployments:list': () => Deployment[]
  /** What the desktops cost now, with DigitalOcean's current prices. */
  'deployments:cost': () => CostSummary
  /** The engine's live notes per deployment id (a reloaded page asks once, then follows deployments:live-changed). */
  'deployments:live': () => Record<string, LiveNote>
  /** Reconnect: re-checks a running desktop now (the answer follows in deployments:live-changed). */
  'deployments:recheck': (id: string) => null
  /** `fresh`: a full install even when a desktop image is ready in the region. */
  'deployments:create': (input: { constitutionId: string; region: string; size: string; fresh?: boolean; sshKeys?: string[] }) => Result<Deployment>
  /** The tail of the droplet's setup log, fetched by main with the deployment's log key (never sent here). */
  'deployments:setup-log': (id: string) => Result<SetupLogTail>
  /** Copies the setup log's tail to the clipboard in main (the app window has no clipboard permission). */
  'deployments:copy-setup-log': (id: string) => Result<{ lines: number }>
  'deployments:destroy': (id: string) => Result<Deployment>
  /** Gives a desktop a new display name (the droplet's name stays). */
  'deployments:rename': (input: { id: string; name: string }) => Result<Deployment>
  /** ACTIVE → HIBERNATING: resolves once stored; the steps run on in main (SPEC §10). */
  'deployments:hibernate': (id: string) => Result<Deployment>
  /** HIBERNATED → PROVISIONING from the snapshot. */
  'deployments:resume': (id: string) => Result<Deployment>
  'deployments:open': (input: { id: string; mode: DesktopMode }) => Result<null>
  'deployments:copy-ip': (id: string) => Result<string>
  'desktop:action': (action: DesktopAction) => Result<null>
  /** Which desktop is showing now (a reloaded page asks once, then follows desktop:changed). */
  'desktop:state': () => DesktopState
  /** The renderer's desktop placeholder moved, resized, or was covered/uncovered by a dialog. */
  'desktop:layout': (layout: DesktopLayout) => null
  /** A navigation asked for before the page could hear it (taken once, on mount). */
  'navigate:pending': () => NavigateRequest | null
  'unmanaged:list': () => UnmanagedDroplet[]
  'unmanaged:adopt': (dropletId: number) => Result<Deployment>
  'unmanaged:destroy': (dropletId: number) => Result<null>
  'settings:get': () => SettingsView
  'settings:update': (patch: Partial<Settings>) => Result<SettingsView>
  'images:list': () => DesktopImage[]
  /** Starts a build (resolves once the builder droplet is asked for; progress follows in images:changed). */
  'images:build': (input: { region: string }) => Result<DesktopImage>
  /** Deletes an image and its snapshot; a build in progress is stopped and cleaned up. */
  'images:delete': (id: string) => Result<null>
  'images:copy': (input: { id: string; region: string }) => Result<DesktopImage>
  /** Which path a deploy in this region takes (image or fresh) and how long each takes. */
  'images:plan': (input: { region: string; fresh: boolean }) => DeployPlanView
}

/** Pushed events: main → renderer. */
export interface EventChannels {
  'deployments:changed': Deployment[]
  'deployments:live-changed': Record<string, LiveNote>
  'unmanaged:changed': UnmanagedDroplet[]
  'images:changed': DesktopImage[]
  'auth:changed': AuthStatus
  'desktop:changed': DesktopState
  /** The tray asked the window to show a page. */
  'navigate': NavigateRequest
}

export type InvokeChannel = keyof InvokeChannels
export type EventChannel = keyof EventChannels
export type InvokeArgs<C extends InvokeChannel> = Parameters<InvokeChannels[C]>
export type InvokeResult<C extends InvokeChannel> = Awaited<ReturnType<InvokeChannels[C]>>

type Promised<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never
type Listener<C extends EventChannel> = (listener: (payload: EventChannels[C]) => void) => () => void

/** What the preload exposes as `window.dictumal`: a domain API, never ipcRenderer itself. */
export interface DictumalApi {
  app: { info: Promised<InvokeChannels['app:info']> }
  auth: {
    status: Promised<InvokeChannels['auth:status']>
    setToken: Promised<InvokeChannels['auth:set-token']>
    removeToken: Promised<InvokeChannels['auth:remove-token']>
    onChanged: Listener<'auth:changed'>
  }
  constitutions: {
    list: Promised<InvokeChannels['constitutions:list']>
    save: Promised<InvokeChannels['constitutions:save']>
    remove: Promised<InvokeChannels['constitutions:delete']>
  }
  catalog: {
    get: Promised<InvokeChannels['catalog:get']>
    latency: Promised<InvokeChannels['catalog:latency']>
    sshKeys: Promised<InvokeChannels['account:ssh-keys']>
    dropletUsage: Promised<InvokeChannels['account:droplets']>
  }
  deployments: {
    list: Promised<InvokeChannels['deployments:list']>
    cost: Promised<InvokeChannels['deployments:cost']>
    live: Promised<InvokeChannels['deployments:live']>
    onLive: Listener<'deployments:live-changed'>
    recheck: Promised<InvokeChannels['deployments:recheck']>
    create: Promised<InvokeChannels['deployments:create']>
    setupLog: Promised<InvokeChannels['deployments:setup-log']>
    copySetupLog: Promised<InvokeChannels['deployments:copy-setup-log']>
    destroy: Promised<InvokeChannels['deployments:destroy']>
    rename: Promised<InvokeChannels['deployments:rename']>
    hibernate: Promised<InvokeChannels['deployments:hibernate']>
    resume: Promised<InvokeChannels['deployments:resume']>
    open: Promised<InvokeChannels['deployments:open']>
    copyIp: Promised<InvokeChannels['deployments:copy-ip']>
    /** Subscribe to every change; returns the unsubscribe function. */
    onChanged: Listener<'deployments:changed'>
  }
  desktop: {
    action: Promised<InvokeChannels['desktop:action']>
    state: Promised<InvokeChannels['desktop:state']>
    layout: Promised<InvokeChannels['desktop:layout']>
    onChanged: Listener<'desktop:changed'>
  }
  unmanaged: {
    list: Promised<InvokeChannels['unmanaged:list']>
    adopt: Promised<InvokeChannels['unmanaged:adopt']>
    destroy: Promised<InvokeChannels['unmanaged:destroy']>
    onChanged: Listener<'unmanaged:changed'>
  }
  settings: {
    get: Promised<InvokeChannels['settings:get']>
    update: Promised<InvokeChannels['settings:update']>
  }
  images: {
    list: Promised<InvokeChannels['images:list']>
    build: Promised<InvokeChannels['images:build']>
    remove: Promised<InvokeChannels['images:delete']>
    copy: Promised<InvokeChannels['images:copy']>
    plan: Promised<InvokeChannels['images:plan']>
    onChanged: Listener<'images:changed'>
  }
  onNavigate: Listener<'navigate'>
  pendingNavigation: Promised<InvokeChannels['navigate:pending']>
}
