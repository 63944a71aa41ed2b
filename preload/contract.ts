// The one contract between Dictumal's processes: the domain types every side shares, the invoke
// channels (renderer asks, main answers) and the pushed events (main tells). Types only: no runtime.

// ---------- Domain ----------

export type DeploymentStatus = 'PROVISIONING' | 'CONFIGURING' | 'ACTIVE' | 'ERROR' | 'DESTROYED'

export type DeploymentStage =
  | 'provisioning-droplet'
  | 'waiting-for-ip'
  | 'installing-packages'
  | 'starting-guacamole'
  | 'configuring-https'
  | 'final-health-check'
  | 'active'

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
}

// ---------- Channels ----------

/** Invoke channels: renderer → main, each answered once. Arguments are validated in main. */
export interface InvokeChannels {
  'app:info': () => AppInfo
}

/** Pushed events: main → renderer. */
export interface EventChannels {
  'deployments:changed': Deployment[]
}

export type InvokeChannel = keyof InvokeChannels
export type EventChannel = keyof EventChannels
export type InvokeArgs<C extends InvokeChannel> = Parameters<InvokeChannels[C]>
export type InvokeResult<C extends InvokeChannel> = Awaited<ReturnType<InvokeChannels[C]>>

/** What the preload exposes as `window.dictumal`: a domain API, never ipcRenderer itself. */
export interface DictumalApi {
  app: {
    info(): Promise<AppInfo>
  }
  deployments: {
    /** Subscribe to every change; returns the unsubscribe function. */
    onChanged(listener: (deployments: Deployment[]) => void): () => void
  }
}
