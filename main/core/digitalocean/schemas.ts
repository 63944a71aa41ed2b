// Zod schemas for the parts of DigitalOcean's replies Dictumal relies on. A reply that fails them is
// "garbled"; fields we do not read are let through untouched so DigitalOcean can add to them freely.
import { z } from 'zod'

export const errorBodySchema = z.looseObject({
  id: z.string().optional(),
  message: z.string().optional(),
  request_id: z.string().optional(),
})

export const accountSchema = z.looseObject({
  droplet_limit: z.number().int(),
  email: z.string(),
  uuid: z.string(),
  status: z.string(),
  status_message: z.string().optional(),
  email_verified: z.boolean().optional(),
})

export const regionSchema = z.looseObject({
  slug: z.string(),
  name: z.string(),
  available: z.boolean(),
  sizes: z.array(z.string()),
  features: z.array(z.string()),
})

export const sizeSchema = z.looseObject({
  slug: z.string(),
  memory: z.number(),
  vcpus: z.number(),
  disk: z.number(),
  transfer: z.number(),
  price_monthly: z.number(),
  price_hourly: z.number(),
  regions: z.array(z.string()),
  available: z.boolean(),
  description: z.string().optional(),
})

export const imageSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  distribution: z.string(),
  // Snapshots have no slug; distribution images always do.
  slug: z.string().nullable(),
  type: z.string().optional(),
  status: z.string().optional(),
  created_at: z.string().optional(),
})

export const sshKeySchema = z.looseObject({
  id: z.number().int(),
  fingerprint: z.string(),
  name: z.string(),
  public_key: z.string(),
})

const networkV4Schema = z.looseObject({
  ip_address: z.string(),
  type: z.string(),
  netmask: z.string().optional(),
  // Real droplets sometimes report a null gateway although the spec says string.
  gateway: z.string().nullable().optional(),
})

export const dropletSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  status: z.enum(['new', 'active', 'off', 'archive']),
  created_at: z.string(),
  tags: z.array(z.string()),
  size_slug: z.string(),
  region: z.looseObject({ slug: z.string(), name: z.string().optional() }),
  image: z.looseObject({ slug: z.string().nullable().optional(), id: z.number().int().optional() }),
  networks: z.looseObject({ v4: z.array(networkV4Schema), v6: z.array(z.unknown()).optional() }),
  memory: z.number().optional(),
  vcpus: z.number().optional(),
  disk: z.number().optional(),
  size: sizeSchema.partial().optional(),
})

const pagesSchema = z.looseObject({ next: z.string().optional(), last: z.string().optional() }).optional()
const linksSchema = z.looseObject({ pages: pagesSchema }).optional()
const metaSchema = z.looseObject({ total: z.number().int() }).optional()

/** The paging envelope shared by every list reply; the items sit under a per-endpoint key. */
export const pageEnvelopeSchema = z.looseObject({ links: linksSchema, meta: metaSchema })

export const actionSchema = z.looseObject({
  id: z.number().int(),
  status: z.enum(['in-progress', 'completed', 'errored']),
  type: z.string(),
  resource_id: z.number().int().nullable().optional(),
  started_at: z.string().optional(),
  completed_at: z.string().nullable().optional(),
})

const snapshotBase = {
  name: z.string(),
  regions: z.array(z.string()),
  size_gigabytes: z.number(),
  min_disk_size: z.number(),
  created_at: z.string(),
}

/** GET /v2/snapshots[/{id}]: string ids and the originating resource. */
export const snapshotSchema = z.looseObject({
  id: z.union([z.string(), z.number().int()]),
  ...snapshotBase,
  resource_id: z.union([z.string(), z.number().int()]).nullable().optional(),
})

/** GET /v2/droplets/{id}/snapshots: integer ids, no resource_id. */
export const dropletSnapshotSchema = z.looseObject({ id: z.number().int(), ...snapshotBase })

export const actionReplySchema = z.looseObject({ action: actionSchema })
export const snapshotReplySchema = z.looseObject({ snapshot: snapshotSchema })
export const accountReplySchema = z.looseObject({ account: accountSchema })
export const dropletReplySchema = z.looseObject({ droplet: dropletSchema })

export type Account = z.infer<typeof accountSchema>
export type Region = z.infer<typeof regionSchema>
export type Size = z.infer<typeof sizeSchema>
export type Image = z.infer<typeof imageSchema>
export type SshKey = z.infer<typeof sshKeySchema>
export type Droplet = z.infer<typeof dropletSchema>
export type DropletStatus = Droplet['status']
export type Action = z.infer<typeof actionSchema>
export type Snapshot = z.infer<typeof snapshotSchema>
export type DropletSnapshot = z.infer<typeof dropletSnapshotSchema>
