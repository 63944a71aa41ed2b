// DigitalOcean API v2 client on undici: timeouts, polite retries under one shared rate budget, typed
// errors, and a droplet create that never makes two droplets for one deployment (no idempotency key).
import { request } from 'undici'
import type { Dispatcher } from 'undici'
import { z } from 'zod'
import { redact } from '../log'
import {
  DigitalOceanError,
  badResponseError,
  errorForStatus,
  noTokenError,
  timeoutError,
  transportError,
} from './errors'
import { RateBudget, resetInMs, retryAfterMs, systemClock } from './rate-budget'
import type { Clock, HeaderBag } from './rate-budget'
import {
  accountReplySchema,
  actionReplySchema,
  dropletReplySchema,
  dropletSnapshotSchema,
  dropletSchema,
  errorBodySchema,
  imageSchema,
  pageEnvelopeSchema,
  regionSchema,
  sizeSchema,
  snapshotReplySchema,
  snapshotSchema,
  sshKeySchema,
} from './schemas'
import type { Account, Action, Droplet, DropletSnapshot, Image, Region, Size, Snapshot, SshKey } from './schemas'

export const DEFAULT_API_URL = 'https://api.digitalocean.com'

export interface DigitalOceanClientOptions {
  baseUrl?: string
  /** Asked before every request, so a token replaced in Settings takes effect at once. */
  token: () => Promise<string>
  /** Per attempt, headers and body together. */
  timeoutMs?: number
  clock?: Clock
  /** Shorthand for a clock with this sleep and the system time. */
  sleep?: (ms: number) => Promise<void>
  /** In [0, 1); drives backoff jitter. */
  random?: () => number
  /** Retries after the first attempt, for safe requests and 429s. */
  maxRetries?: number
  backoffBaseMs?: number
  backoffCapMs?: number
  /** Longer waits than this (retry-after, exhausted allowance) fail as rate-limited instead of hanging. */
  maxWaitMs?: number
  sshKeysCacheMs?: number
  /** Share one budget between clients of the same token. */
  budget?: RateBudget
  dispatcher?: Dispatcher
  userAgent?: string
  /** Told each time a request failed and is about to be tried again (the engine shows it on the card). */
  onRetry?: (error: DigitalOceanError, call: { method: string; path: string }) => void
}

export interface CreateDropletInput {
  deploymentId: string
  name: string
  region: string
  size: string
  /** A distribution slug, or a numeric image id: a snapshot (a desktop image, a hibernated desktop). */
  image: string | number
  userData: string
  sshKeys: string[]
  /** Must contain `dictumal-<deploymentId>`: it is how an uncertain create is found again. */
  tags: string[]
}

export type DeleteOutcome = 'deleted' | 'already-gone'

export type DropletActionRequest = { type: 'shutdown' } | { type: 'power_off' } | { type: 'power_on' } | { type: 'snapshot'; name: string }

/** A DigitalOcean action (droplet power and snapshot, image transfer), in the app's own words. */
export interface CloudAction {
  id: number
  status: 'in-progress' | 'completed' | 'errored'
  type: string
  resourceId: number | null
}

/** A droplet snapshot. Ids are strings as /v2/snapshots gives them; Number(id) is the image id. */
export interface CloudSnapshot {
  id: string
  name: string
  regions: string[]
  sizeGigabytes: number
  minDiskSize: number
  createdAt: string
  /** The droplet it was taken from, when DigitalOcean says. */
  resourceId: string | null
}

function toAction(a: Action): CloudAction {
  return { id: a.id, status: a.status, type: a.type, resourceId: a.resource_id ?? null }
}

function toSnapshot(s: Snapshot | DropletSnapshot, resourceId: string | null = null): CloudSnapshot {
  const own = 'resource_id' in s && s.resource_id !== undefined && s.resource_id !== null ? String(s.resource_id) : null
  return {
    id: String(s.id),
    name: s.name,
    regions: [...s.regions],
    sizeGigabytes: s.size_gigabytes,
    minDiskSize: s.min_disk_size,
    createdAt: s.created_at,
    resourceId: own ?? resourceId,
  }
}

type Method = 'GET' | 'POST' | 'DELETE'

interface Reply {
  status: number
  headers: HeaderBag
  text: string
}

interface Call {
  method: Method
  path: string
  query?: Record<string, string | number>
  body?: unknown
}

const PER_PAGE = 200
const MAX_PAGES = 100

/** The droplet's public IPv4, or null while DigitalOcean has not assigned one. */
export function publicIpv4(droplet: Droplet): string | null {
  const entry = droplet.networks.v4.find((n) => n.type === 'public')
  return entry === undefined || entry.ip_address === '' ? null : entry.ip_address
}

export function deploymentTag(deploymentId: string): string {
  return `dictumal-${deploymentId}`
}

export class DigitalOceanClient {
  private readonly baseUrl: string
  private readonly token: () => Promise<string>
  private readonly timeoutMs: number
  private readonly clock: Clock
  private readonly random: () => number
  private readonly maxRetries: number
  private readonly backoffBaseMs: number
  private readonly backoffCapMs: number
  private readonly maxWaitMs: number
  private readonly sshKeysCacheMs: number
  private readonly budget: RateBudget
  private readonly dispatcher: Dispatcher | undefined
  private readonly userAgent: string
  private readonly onRetry: DigitalOceanClientOptions['onRetry']
  private sshKeysCache: { at: number; keys: Promise<SshKey[]> } | undefined

  constructor(options: DigitalOceanClientOptions) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_API_URL).replace(/\/+$/, '')
    this.token = options.token
    this.timeoutMs = options.timeoutMs ?? 15_000
    const base = options.clock ?? systemClock
    this.clock = options.sleep === undefined ? base : { now: () => base.now(), sleep: options.sleep }
    this.random = options.random ?? Math.random
    this.maxRetries = options.maxRetries ?? 5
    this.backoffBaseMs = options.backoffBaseMs ?? 1000
    this.backoffCapMs = options.backoffCapMs ?? 30_000
    this.maxWaitMs = options.maxWaitMs ?? 120_000
    this.sshKeysCacheMs = options.sshKeysCacheMs ?? 60_000
    this.budget = options.budget ?? new RateBudget({ clock: this.clock })
    this.dispatcher = options.dispatcher
    this.userAgent = options.userAgent ?? 'dictumal-desktop'
    this.onRetry = options.onRetry
  }

  async getAccount(): Promise<Account> {
    const reply = await this.send({ method: 'GET', path: '/v2/account' }, true)
    return this.parse(reply, [200], accountReplySchema).account
  }

  listRegions(): Promise<Region[]> {
    return this.listAll('/v2/regions', 'regions', regionSchema)
  }

  listSizes(): Promise<Size[]> {
    return this.listAll('/v2/sizes', 'sizes', sizeSchema)
  }

  listDistributionImages(): Promise<Image[]> {
    return this.listAll('/v2/images', 'images', imageSchema, { type: 'distribution' })
  }

  /** Cached for about a minute: DigitalOcean allows this endpoint only 10 calls a minute. */
  listSshKeys(): Promise<SshKey[]> {
    const now = this.clock.now()
    if (this.sshKeysCache !== undefined && now - this.sshKeysCache.at < this.sshKeysCacheMs) return this.sshKeysCache.keys
    const keys = this.listAll('/v2/account/keys', 'ssh_keys', sshKeySchema)
    const entry = { at: now, keys }
    this.sshKeysCache = entry
    // A failure must not be served from the cache for the next minute.
    keys.catch(() => {
      if (this.sshKeysCache === entry) this.sshKeysCache = undefined
    })
    return keys
  }

  async getDroplet(id: number): Promise<Droplet | null> {
    const reply = await this.send({ method: 'GET', path: `/v2/droplets/${encodeId(id)}` }, true)
    if (reply.status === 404) return null
    return this.parse(reply, [200], dropletReplySchema).droplet
  }

  /** How many droplets the account has: every one counts against the droplet limit (one small page). */
  async countDroplets(): Promise<number> {
    const reply = await this.send({ method: 'GET', path: '/v2/droplets', query: { page: 1, per_page: 1 } }, true)
    const envelope = pageEnvelopeSchema.safeParse(this.parseJson(reply, [200]))
    const total = envelope.success ? envelope.data.meta?.total : undefined
    if (typeof total !== 'number') throw badResponseError('no droplet count', reply.status)
    return total
  }

  listDropletsByTag(tag: string): Promise<Droplet[]> {
    return this.listAll('/v2/droplets', 'droplets', dropletSchema, { tag_name: tag })
  }

  async deleteDroplet(id: number): Promise<DeleteOutcome> {
    const reply = await this.send({ method: 'DELETE', path: `/v2/droplets/${encodeId(id)}` }, true)
    if (reply.status === 404) return 'already-gone'
    if (reply.status === 204 || reply.status === 202 || reply.status === 200) return 'deleted'
    throw this.failure(reply)
  }

  // ---------- actions and snapshots (hibernation, desktop images) ----------

  /**
   * Starts a droplet action. Power actions are re-sent after a 5xx (DigitalOcean refuses a second one
   * while the first is pending); a snapshot is not, since a blind retry could take two.
   */
  async dropletAction(dropletId: number, action: DropletActionRequest): Promise<CloudAction> {
    const safe = action.type !== 'snapshot'
    const reply = await this.send({ method: 'POST', path: `/v2/droplets/${encodeId(dropletId)}/actions`, body: action }, safe)
    return toAction(this.parse(reply, [201, 200], actionReplySchema).action)
  }

  async getAction(actionId: number): Promise<CloudAction> {
    const reply = await this.send({ method: 'GET', path: `/v2/actions/${encodeId(actionId)}` }, true)
    return toAction(this.parse(reply, [200], actionReplySchema).action)
  }

  async listDropletSnapshots(dropletId: number): Promise<CloudSnapshot[]> {
    const list = await this.listAll(`/v2/droplets/${encodeId(dropletId)}/snapshots`, 'snapshots', dropletSnapshotSchema)
    return list.map((s) => toSnapshot(s, String(dropletId)))
  }

  async listSnapshots(): Promise<CloudSnapshot[]> {
    const list = await this.listAll('/v2/snapshots', 'snapshots', snapshotSchema, { resource_type: 'droplet' })
    return list.map((s) => toSnapshot(s))
  }

  async getSnapshot(id: string): Promise<CloudSnapshot | null> {
    const reply = await this.send({ method: 'GET', path: `/v2/snapshots/${encodeSnapshotId(id)}` }, true)
    if (reply.status === 404) return null
    return toSnapshot(this.parse(reply, [200], snapshotReplySchema).snapshot)
  }

  async deleteSnapshot(id: string): Promise<DeleteOutcome> {
    const reply = await this.send({ method: 'DELETE', path: `/v2/snapshots/${encodeSnapshotId(id)}` }, true)
    if (reply.status === 404) return 'already-gone'
    if (reply.status === 204 || reply.status === 202 || reply.status === 200) return 'deleted'
    throw this.failure(reply)
  }

  /** Copies an image (a snapshot) to another region; the action completes when the copy is usable. */
  async transferImage(imageId: number, region: string): Promise<CloudAction> {
    const reply = await this.send({ method: 'POST', path: `/v2/images/${encodeId(imageId)}/actions`, body: { type: 'transfer', region } }, true)
    return toAction(this.parse(reply, [201, 200], actionReplySchema).action)
  }

  /**
   * Creates the droplet, or adopts the one an earlier, uncertain attempt made. The POST is never
   * re-sent blindly: after a timeout, 5xx or broken connection the deployment tag is looked up first.
   */
  async createDroplet(input: CreateDropletInput): Promise<Droplet> {
    const tag = deploymentTag(input.deploymentId)
    if (!input.tags.includes(tag)) throw new Error(`createDroplet: tags must include ${tag}`)
    const body = {
      name: input.name,
      region: input.region,
      size: input.size,
      image: input.image,
      user_data: input.userData,
      // DigitalOcean takes numeric key ids as integers and fingerprints as strings.
      ssh_keys: input.sshKeys.map((k) => (/^\d+$/.test(k) ? Number(k) : k)),
      tags: input.tags,
    }
    let lastError: DigitalOceanError | undefined
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // 429s are retried inside send: they are DigitalOcean's promise that nothing was created.
        const reply = await this.send({ method: 'POST', path: '/v2/droplets', body }, false)
        if (reply.status === 202 || reply.status === 201 || reply.status === 200) {
          return this.parse(reply, [reply.status], dropletReplySchema).droplet
        }
        const error = this.failure(reply)
        if (reply.status < 500) throw error
        lastError = error
      } catch (e) {
        if (!(e instanceof DigitalOceanError) || e.nothingCreated) throw e
        lastError = e
      }
      const found = await this.listDropletsByTag(tag)
      const adopted = found.find((d) => d.name === input.name) ?? found.sort((a, b) => a.id - b.id)[0]
      if (adopted !== undefined) return adopted
      // Nothing carries the tag: nothing was created, and the create is sent once more.
      if (attempt === 0 && lastError) this.tellRetry(lastError, { method: 'POST', path: '/v2/droplets' })
    }
    throw lastError ?? new DigitalOceanError('server-error', 'DigitalOcean could not create the droplet; try again in a few minutes.')
  }

  // ---------- plumbing ----------

  private async listAll<T extends z.ZodType>(
    path: string,
    key: string,
    item: T,
    query: Record<string, string | number> = {},
  ): Promise<z.infer<T>[]> {
    const items: z.infer<T>[] = []
    const listSchema = z.array(item)
    // Pages are walked by number on our own base URL; links.pages.next is only read as "there is more",
    // so a reply can never steer the token to another host.
    for (let page = 1; page <= MAX_PAGES; page++) {
      const reply = await this.send({ method: 'GET', path, query: { ...query, page, per_page: PER_PAGE } }, true)
      const json = this.parseJson(reply, [200])
      const envelope = pageEnvelopeSchema.safeParse(json)
      const list = listSchema.safeParse(typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[key] : undefined)
      if (!envelope.success || !list.success) throw badResponseError(`unexpected ${key} list`, reply.status)
      items.push(...list.data)
      const total = envelope.data.meta?.total
      const hasNext = envelope.data.links?.pages?.next !== undefined
      if (!hasNext || list.data.length === 0 || (total !== undefined && items.length >= total)) break
    }
    return items
  }

  private parseJson(reply: Reply, ok: number[]): unknown {
    if (!ok.includes(reply.status)) throw this.failure(reply)
    try {
      return JSON.parse(reply.text) as unknown
    } catch {
      throw badResponseError('not JSON', reply.status)
    }
  }

  private parse<T extends z.ZodType>(reply: Reply, ok: number[], schema: T): z.infer<T> {
    const parsed = schema.safeParse(this.parseJson(reply, ok))
    if (!parsed.success) throw badResponseError('unexpected fields', reply.status)
    return parsed.data
  }

  private failure(reply: Reply): DigitalOceanError {
    let id: string | undefined
    let message: string | undefined
    let requestId: string | undefined
    try {
      const body = errorBodySchema.safeParse(JSON.parse(reply.text) as unknown)
      if (body.success) ({ id, message, request_id: requestId } = body.data)
    } catch {
      // A non-JSON error page (a proxy's HTML, say) still maps to its status.
    }
    const wait = reply.status === 429 ? this.waitFor429(reply.headers, 0) : undefined
    return errorForStatus(
      reply.status,
      {
        ...(id === undefined ? {} : { id }),
        ...(message === undefined ? {} : { message: this.scrub(message) }),
        ...(requestId === undefined ? {} : { requestId }),
      },
      wait,
    )
  }

  private scrubToken: string | undefined

  /** DigitalOcean's words go to users; make sure they can never carry a secret. */
  private scrub(text: string): string {
    const clipped = text.length > 300 ? `${text.slice(0, 300)}…` : text
    const token = this.scrubToken
    const masked = token !== undefined && token.length > 0 ? clipped.split(token).join('[redacted]') : clipped
    return redact(masked)
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** attempt)
    // "Equal jitter": never less than half the step, so a crowd of clients still spreads out.
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random())
  }

  private waitFor429(headers: HeaderBag, attempt: number): number {
    const now = this.clock.now()
    const after = retryAfterMs(headers, now)
    if (after !== undefined) return after
    const reset = resetInMs(headers, now)
    if (reset !== undefined && reset > 0) return reset
    return this.backoffMs(attempt)
  }

  /** Sends with retries. `safe`: may be re-sent after a timeout, 5xx or broken connection. */
  private async send(call: Call, safe: boolean): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      let reply: Reply
      try {
        reply = await this.attempt(call)
      } catch (e) {
        const error = e instanceof DigitalOceanError ? e : transportError(e)
        const transient = error.code === 'timeout' || error.code === 'network' || error.code === 'offline' || error.code === 'dns'
        if (!safe || !transient || attempt >= this.maxRetries) throw error
        this.tellRetry(error, call)
        await this.clock.sleep(this.backoffMs(attempt))
        continue
      }
      if (reply.status === 429) {
        const wait = this.waitFor429(reply.headers, attempt)
        this.budget.blockUntil(this.clock.now() + wait)
        if (attempt >= this.maxRetries || wait > this.maxWaitMs) throw this.failure(reply)
        this.tellRetry(this.failure(reply), call)
        continue
      }
      if (safe && reply.status >= 500 && reply.status !== 501 && attempt < this.maxRetries) {
        this.tellRetry(this.failure(reply), call)
        await this.clock.sleep(this.backoffMs(attempt))
        continue
      }
      return reply
    }
  }

  private tellRetry(error: DigitalOceanError, call: Call): void {
    try {
      this.onRetry?.(error, { method: call.method, path: call.path })
    } catch {
      // A listener's failure must not change what the request does.
    }
  }

  private async attempt(call: Call): Promise<Reply> {
    const slot = this.budget.reserve(this.maxWaitMs)
    if (!slot.ok) {
      throw errorForStatus(429, { message: 'Rate limit budget exhausted' }, slot.waitMs)
    }
    if (slot.delayMs > 0) await this.clock.sleep(slot.delayMs)
    let token: string
    try {
      token = (await this.token()).trim()
    } catch {
      throw noTokenError()
    }
    if (token === '') throw noTokenError()
    this.scrubToken = token

    const url = new URL(this.baseUrl + call.path)
    for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, String(v))
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'user-agent': this.userAgent,
    }
    if (call.body !== undefined) headers['content-type'] = 'application/json'

    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), this.timeoutMs)
    try {
      const res = await request(url, {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        signal: controller.signal,
        ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
      })
      const text = await res.body.text()
      const replyHeaders = res.headers as HeaderBag
      this.budget.observe(replyHeaders)
      return { status: res.statusCode, headers: replyHeaders, text }
    } catch (e) {
      if (controller.signal.aborted) throw timeoutError(this.timeoutMs, e)
      throw transportError(e)
    } finally {
      clearTimeout(timer)
    }
  }
}

function encodeId(id: number): string {
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`not a droplet id: ${String(id)}`)
  return String(id)
}

function encodeSnapshotId(id: string): string {
  if (!/^[0-9a-zA-Z-]{1,64}$/.test(id)) throw new Error(`not a snapshot id: ${id}`)
  return id
}
