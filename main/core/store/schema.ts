// The shape of dictumal.json (schemaVersion 1) and its validation: whatever is on disk is `unknown`
// until it passes here, because the user, the CLI or a newer app version may have written it.
import { z } from 'zod'
import { DEPLOYMENT_STAGES, DEPLOYMENT_STATUSES, HIBERNATION_STAGES, type Constitution, type Deployment, type Settings } from '../../../preload/contract'
import { imageSchema, timingSchema, type DesktopImage, type TimingSample } from '../images/image-schema'

export const SCHEMA_VERSION = 1

export type { Settings }

export interface StoreData {
  schemaVersion: typeof SCHEMA_VERSION
  constitutions: Constitution[]
  deployments: Deployment[]
  settings: Settings
  /** Desktop images (SPEC §10); files from before images load with none. */
  images: DesktopImage[]
  /** Measured deploy and build times, a short rolling record per kind. */
  timings: TimingSample[]
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  defaultRegion: 'nyc3',
  defaultSize: 's-2vcpu-4gb',
  imageSlug: null,
  useLatestUbuntu: false,
  sshKeys: [],
  gatewayHost: '',
  desktopClipboardRead: true,
  idleHibernateMinutes: null,
})

export function emptyStoreData(): StoreData {
  return {
    schemaVersion: SCHEMA_VERSION,
    constitutions: [],
    deployments: [],
    settings: { ...DEFAULT_SETTINGS, sshKeys: [] },
    images: [],
    timings: [],
  }
}

const isoTime = z.string().min(1)

const deploymentSchema = z.object({
  id: z.string().min(1),
  constitutionId: z.string(),
  name: z.string(),
  region: z.string(),
  size: z.string(),
  image: z.string(),
  dropletId: z.number().int().nullable(),
  ip: z.string().nullable(),
  status: z.enum(DEPLOYMENT_STATUSES),
  stage: z.enum([...DEPLOYMENT_STAGES, ...HIBERNATION_STAGES]),
  percent: z.number().min(0).max(100),
  checks: z.object({
    vnc5901: z.boolean(),
    http80: z.boolean(),
    guacHttp8080: z.boolean(),
    guacHttps443: z.boolean(),
  }),
  error: z.string().nullable(),
  certFingerprint: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
  activeAt: isoTime.nullable(),
  destroyedAt: isoTime.nullable(),
  // Hibernation and desktop images (SPEC §10): files from before them load with these defaults.
  fastStart: z.boolean().default(false),
  snapshotId: z.string().min(1).nullable().default(null),
  snapshotSizeGigabytes: z.number().nonnegative().nullable().default(null),
  hibernatedAt: isoTime.nullable().default(null),
  hibernation: z
    .object({
      op: z.enum(['hibernate', 'resume']),
      snapshotName: z.string().min(1),
      action: z.object({ id: z.number().int(), type: z.enum(['shutdown', 'power_off', 'snapshot', 'power_on']), startedAt: isoTime }).nullable(),
      startedAt: isoTime,
      driver: z.object({ pid: z.number().int(), heartbeatAt: isoTime }).nullable().default(null),
    })
    .nullable()
    .default(null),
  displayName: z.string().max(200).nullable().optional(),
  // The deploy's SSH key choice (ids or fingerprints); files from before it keep none, and Settings' keys apply.
  sshKeys: z.array(z.string().min(1)).max(50).optional(),
})

export const CONSTITUTION_NAME_MAX = 80
/** Idle auto-hibernate: at most a week. */
export const IDLE_MINUTES_MAX = 7 * 24 * 60

const constitutionSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  body: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
})

// Settings are forgiving (a missing field takes its default): they are the part users hand-edit.
export const settingsSchema = z.object({
  defaultRegion: z.string().min(1).default(DEFAULT_SETTINGS.defaultRegion),
  defaultSize: z.string().min(1).default(DEFAULT_SETTINGS.defaultSize),
  imageSlug: z.string().min(1).nullable().default(null),
  useLatestUbuntu: z.boolean().default(false),
  sshKeys: z.array(z.string().min(1)).default(() => []),
  gatewayHost: z.string().default(''),
  desktopClipboardRead: z.boolean().default(true),
  idleHibernateMinutes: z.number().int().min(1).max(IDLE_MINUTES_MAX).nullable().default(null),
})

/** A settings change from the UI or CLI: every field optional, no defaults filled in. */
export const settingsPatchSchema = z
  .object({
    defaultRegion: z.string().min(1),
    defaultSize: z.string().min(1),
    imageSlug: z.string().min(1).nullable(),
    useLatestUbuntu: z.boolean(),
    sshKeys: z.array(z.string().min(1)),
    gatewayHost: z.string(),
    desktopClipboardRead: z.boolean(),
    idleHibernateMinutes: z.number().int().min(1).max(IDLE_MINUTES_MAX).nullable(),
  })
  .partial()
  .strict()

const storeSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  constitutions: z.array(constitutionSchema),
  deployments: z.array(deploymentSchema),
  settings: settingsSchema.default(() => ({ ...DEFAULT_SETTINGS, sshKeys: [] })),
  images: z.array(imageSchema).default(() => []),
  timings: z.array(timingSchema).default(() => []),
})

// Compile-time guard: the schemas must produce exactly the contract's types.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
const _deploymentMatches: Exact<z.infer<typeof deploymentSchema>, Deployment> = true
const _constitutionMatches: Exact<z.infer<typeof constitutionSchema>, Constitution> = true
const _settingsMatch: Exact<z.infer<typeof settingsSchema>, Settings> = true
void [_deploymentMatches, _constitutionMatches, _settingsMatch]

export type ParseOutcome =
  | { ok: true; data: StoreData }
  | { ok: false; reason: 'bad-json' | 'wrong-shape' | 'future-version'; detail: string }

/** Parses the file's text; never throws. Duplicate ids count as a wrong shape: lookups rely on them. */
export function parseStoreText(text: string): ParseOutcome {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    return { ok: false, reason: 'bad-json', detail: error instanceof Error ? error.message : String(error) }
  }
  if (typeof raw === 'object' && raw !== null && 'schemaVersion' in raw) {
    const version = raw.schemaVersion
    if (typeof version === 'number' && version > SCHEMA_VERSION) {
      return { ok: false, reason: 'future-version', detail: `schemaVersion ${version} is newer than ${SCHEMA_VERSION}` }
    }
  }
  const result = validateStoreData(raw)
  return result.ok ? { ok: true, data: result.data } : { ok: false, reason: 'wrong-shape', detail: result.detail }
}

export function validateStoreData(raw: unknown): { ok: true; data: StoreData } | { ok: false; detail: string } {
  const parsed = storeSchema.safeParse(raw)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    const where = first !== undefined && first.path.length > 0 ? ` at ${first.path.join('.')}` : ''
    return { ok: false, detail: `${first?.message ?? 'invalid'}${where}` }
  }
  const data: StoreData = parsed.data
  const duplicate =
    firstDuplicate(data.deployments.map((d) => d.id)) ?? firstDuplicate(data.constitutions.map((c) => c.id)) ?? firstDuplicate(data.images.map((i) => i.id))
  if (duplicate !== undefined) return { ok: false, detail: `duplicate id ${duplicate}` }
  return { ok: true, data }
}

function firstDuplicate(ids: string[]): string | undefined {
  const seen = new Set<string>()
  for (const id of ids) {
    if (seen.has(id)) return id
    seen.add(id)
  }
  return undefined
}
