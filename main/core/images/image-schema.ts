// How desktop images and measured times are stored in dictumal.json: validated like every other
// record, because the user, the CLI or another app version may have written the file.
import { z } from 'zod'
import { IMAGE_STAGES, IMAGE_STATUSES, type DesktopImage, type TimingSample } from '../../../preload/contract'

export type { DesktopImage, TimingSample }

export const imageSchema = z.object({
  id: z.string().min(1),
  snapshotId: z.string().min(1).nullable(),
  name: z.string().min(1),
  recipeVersion: z.number().int().nonnegative(),
  regions: z.array(z.string().min(1)),
  sizeGigabytes: z.number().nonnegative().nullable(),
  status: z.enum(IMAGE_STATUSES),
  stage: z.enum(IMAGE_STAGES),
  percent: z.number().min(0).max(100),
  error: z.string().nullable(),
  createdAt: z.string().min(1),
  updatedAt: z.string().min(1),
  region: z.string().min(1),
  size: z.string().min(1),
  builderDropletId: z.number().int().nullable(),
  builderIp: z.string().nullable(),
  pendingAction: z.object({ id: z.number().int(), type: z.enum(['shutdown', 'power_off', 'snapshot']), startedAt: z.string().min(1) }).nullable(),
  transfers: z.array(z.object({ region: z.string().min(1), actionId: z.number().int() })),
  driver: z.object({ pid: z.number().int(), heartbeatAt: z.string().min(1) }).nullable(),
})

export const timingSchema = z.object({
  kind: z.enum(['fresh', 'image', 'build']),
  subjectId: z.string().min(1),
  totalMs: z.number().nonnegative(),
  steps: z.record(z.string(), z.number().nonnegative()),
  at: z.string().min(1),
})

// Compile-time guard: the schemas must produce exactly the contract's types.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
const _imageMatches: Exact<z.infer<typeof imageSchema>, DesktopImage> = true
const _timingMatches: Exact<z.infer<typeof timingSchema>, TimingSample> = true
void [_imageMatches, _timingMatches]
