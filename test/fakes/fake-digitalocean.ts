// A stateful fake of the DigitalOcean API v2 on loopback, for tests only. Its replies are complete
// enough to pass the official OpenAPI schema (checked through Prism), and it can misbehave on demand.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeDroplet {
  id: number
  name: string
  region: string
  size: string
  image: string
  tags: string[]
  sshKeys: Array<string | number>
  ip: string
  createdAt: number
  /** Overrides the clock-driven status when set (shutdown and power_off set `off`). */
  status?: 'new' | 'active' | 'off' | 'archive'
  /** Set when the droplet was created from a snapshot (a numeric image id). */
  fromSnapshot?: number
}

export interface FakeSnapshot {
  id: number
  name: string
  regions: string[]
  sizeGigabytes: number
  minDiskSize: number
  createdAt: number
  resourceId: number
}

/** How the next action of a type ends: on the timeline, errored, or never (stays in-progress). */
export type ActionOutcome = 'completed' | 'errored' | 'never'

export interface FakeAction {
  id: number
  type: string
  resourceId: number
  resourceType: 'droplet' | 'image'
  region: string
  startedAt: number
  /** When it finishes; null while it never will (until completeAction()). */
  doneAt: number | null
  outcome: 'completed' | 'errored'
  /** Its effect (droplet off, snapshot made, region added), applied once when it completes. */
  effect: () => void
  settled: boolean
}

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  at: number
}

export type FaultKind =
  | { kind: 'rate-limit'; retryAfterS?: number; withRetryAfter?: boolean }
  | { kind: 'server-error'; status?: number }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'reset' }
  | { kind: 'create-then-500' }
  | { kind: 'garbled'; body?: string }
  | { kind: 'status'; status: number; body: unknown }

export type Fault = FaultKind & {
  /** Only requests with this method (GET, POST, DELETE). */
  method?: string
  /** Only paths matching this (exact string or pattern). */
  path?: string | RegExp
  /** How many matching requests it hits; default 1. */
  times?: number
}

export interface FakeDigitalOceanOptions {
  token?: string
  /** The account's SSH keys (GET /v2/account/keys); two by default, [] for an account without any. */
  sshKeys?: readonly { id: number; fingerprint: string; public_key: string; name: string }[]
  /** A droplet is `new` for this long after the create (default 30 ms). */
  activeAfterMs?: number
  /** …and gets its public IPv4 this long after the create (default: activeAfterMs). */
  ipAfterMs?: number
  /** Hands out droplet addresses; must stay inside 127.0.0.0/8. Default counts up from 127.0.0.10. */
  allocateIp?: () => string
  /** Also allow 192.0.2.0/24 (reserved for documentation): the boot rehearsal's own network namespace. */
  allowRehearsalNetwork?: boolean
  dropletLimit?: number
  /** Requests allowed per window before 429 (default 5000 per hour, like DigitalOcean). */
  rateLimit?: { limit: number; windowMs: number }
  onDropletCreated?: (droplet: FakeDroplet, userData: string) => void | Promise<void>
  now?: () => number
  /** Caps per_page below DigitalOcean's 200 so tests can see several pages with a few items. */
  maxPerPage?: number
  /** How long a droplet or image action stays in-progress (default 30 ms). */
  actionMs?: number
  /** Billable size of new snapshots (default 4.2 GiB). */
  snapshotSizeGigabytes?: number
}

export interface FakeDigitalOcean {
  readonly id: string
  readonly url: string
  readonly port: number
  readonly token: string
  readonly droplets: Map<number, FakeDroplet>
  readonly userData: Map<number, string>
  readonly requests: RecordedRequest[]
  readonly snapshots: Map<number, FakeSnapshot>
  readonly actions: Map<number, FakeAction>
  /** The next `count` actions of this type end this way instead of completing on the timeline. */
  planAction(type: string, outcome: ActionOutcome, count?: number): void
  /** Finishes an action now (an action planned `never`, say). */
  completeAction(id: number, outcome?: 'completed' | 'errored'): void
  /** Applies every action whose time has come (requests do this by themselves). */
  settle(): void
  /** Queue misbehaviour for the next matching requests. */
  inject(fault: Fault): void
  clearFaults(): void
  /** Deletes a droplet as if someone did it in the DigitalOcean control panel. */
  deleteBehindBack(id: number): boolean
  /** The droplet as the API would show it now. */
  view(id: number): Record<string, unknown> | undefined
  setDropletLimit(limit: number): void
  close(): Promise<void>
}

const MAX_USER_DATA = 64 * 1024
const NAME_PATTERN = /^[a-zA-Z0-9]?[a-z0-9A-Z.-]*[a-z0-9A-Z]$/

interface CatalogRegion {
  slug: string
  name: string
  available: boolean
  sizes: string[]
}

const REGIONS: CatalogRegion[] = [
  { slug: 'nyc3', name: 'New York 3', available: true, sizes: ['s-1vcpu-1gb', 's-2vcpu-4gb', 's-4vcpu-8gb'] },
  { slug: 'ams3', name: 'Amsterdam 3', available: true, sizes: ['s-1vcpu-1gb', 's-2vcpu-4gb'] },
  { slug: 'sfo3', name: 'San Francisco 3', available: true, sizes: ['s-1vcpu-1gb', 's-2vcpu-4gb', 's-4vcpu-8gb'] },
  { slug: 'sfo1', name: 'San Francisco 1', available: false, sizes: [] },
]

const SIZES = [
  { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, transfer: 1, price_monthly: 6, price_hourly: 0.00893, description: 'Basic' },
  { slug: 's-2vcpu-4gb', memory: 4096, vcpus: 2, disk: 80, transfer: 4, price_monthly: 24, price_hourly: 0.03571, description: 'Basic' },
  { slug: 's-4vcpu-8gb', memory: 8192, vcpus: 4, disk: 160, transfer: 5, price_monthly: 48, price_hourly: 0.07143, description: 'Basic' },
].map((s) => ({
  ...s,
  regions: REGIONS.filter((r) => r.sizes.includes(s.slug)).map((r) => r.slug),
  available: true,
  disk_info: [{ type: 'local' as const, size: { amount: s.disk, unit: 'gib' } }],
}))

const IMAGES = [
  { id: 129211873, slug: 'ubuntu-22-04-x64', name: '22.04 (LTS) x64', distribution: 'Ubuntu', created_at: '2023-03-28T16:08:21Z' },
  { id: 160232537, slug: 'ubuntu-24-04-x64', name: '24.04 (LTS) x64', distribution: 'Ubuntu', created_at: '2024-04-24T16:39:09Z' },
  { id: 188524671, slug: 'ubuntu-25-04-x64', name: '25.04 x64', distribution: 'Ubuntu', created_at: '2025-04-17T14:03:47Z' },
  { id: 197440052, slug: 'ubuntu-25-10-x64', name: '25.10 x64', distribution: 'Ubuntu', created_at: '2025-10-09T15:12:03Z' },
  { id: 147720301, slug: 'debian-12-x64', name: '12 x64', distribution: 'Debian', created_at: '2023-06-10T09:10:11Z' },
  { id: 150542211, slug: 'fedora-40-x64', name: '40 x64', distribution: 'Fedora', created_at: '2024-04-23T18:00:00Z' },
].map((i) => ({
  ...i,
  type: 'base' as const,
  public: true,
  regions: ['nyc3', 'ams3', 'sfo3'],
  min_disk_size: 7,
  size_gigabytes: 2.36,
  description: `${i.distribution} ${i.name}`,
  tags: [] as string[],
  status: 'available' as const,
  error_message: '',
}))

const SSH_KEYS = [
  {
    id: 512189,
    fingerprint: '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa',
    public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForDictumalTestsOnly0000000000000 alice@example.com',
    name: 'alice laptop',
  },
  {
    id: 512190,
    fingerprint: '7a:2f:11:0c:9e:55:de:41:8b:0b:3c:aa:02:61:9f:7e',
    public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForDictumalTestsOnly1111111111111 bob@example.com',
    name: 'bob desktop',
  },
]

function ipAllocator(): () => string {
  let next = 10
  return () => {
    const ip = `127.0.0.${next}`
    next = next >= 254 ? 10 : next + 1
    return ip
  }
}

function matches(fault: Fault, method: string, path: string): boolean {
  if (fault.method !== undefined && fault.method.toUpperCase() !== method) return false
  if (fault.path === undefined) return true
  return typeof fault.path === 'string' ? fault.path === path : fault.path.test(path)
}

function errorBody(id: string, message: string): Record<string, string> {
  return { id, message, request_id: randomUUID() }
}

export async function startFakeDigitalOcean(options: FakeDigitalOceanOptions = {}): Promise<FakeDigitalOcean> {
  const token = options.token ?? `fake-do-token-${randomUUID()}`
  const now = options.now ?? Date.now
  const activeAfterMs = options.activeAfterMs ?? 30
  const ipAfterMs = options.ipAfterMs ?? activeAfterMs
  const allocateIp = options.allocateIp ?? ipAllocator()
  const rate = options.rateLimit ?? { limit: 5000, windowMs: 3_600_000 }
  let dropletLimit = options.dropletLimit ?? 10
  const droplets = new Map<number, FakeDroplet>()
  const userData = new Map<number, string>()
  const requests: RecordedRequest[] = []
  const faults: Array<Fault & { left: number }> = []
  let nextId = 500_000_001
  let nextSnapshotId = 190_000_001
  let nextActionId = 2_000_000_001
  const actionMs = options.actionMs ?? 30
  const snapshots = new Map<number, FakeSnapshot>()
  const actions = new Map<number, FakeAction>()
  const plans: Array<{ type: string; outcome: ActionOutcome; left: number }> = []
  let windowStart = now()
  let used = 0

  function view(d: FakeDroplet): Record<string, unknown> {
    const age = now() - d.createdAt
    const status = d.status ?? (age >= activeAfterMs ? 'active' : 'new')
    const size = SIZES.find((s) => s.slug === d.size) ?? SIZES[0]!
    const region = REGIONS.find((r) => r.slug === d.region) ?? REGIONS[0]!
    const image = d.fromSnapshot !== undefined ? snapshotImage(d.fromSnapshot) : (IMAGES.find((i) => i.slug === d.image) ?? IMAGES[1]!)
    const v4 =
      age >= ipAfterMs
        ? [{ ip_address: d.ip, netmask: '255.255.255.0', gateway: '127.0.0.1', type: 'public' as const }]
        : []
    return {
      id: d.id,
      name: d.name,
      memory: size.memory,
      vcpus: size.vcpus,
      disk: size.disk,
      disk_info: size.disk_info,
      locked: false,
      status,
      kernel: null,
      created_at: new Date(d.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      features: ['droplet_agent', 'private_networking'],
      backup_ids: [],
      next_backup_window: null,
      snapshot_ids: [],
      image,
      volume_ids: [],
      size,
      size_slug: size.slug,
      networks: { v4, v6: [] },
      region: { name: region.name, slug: region.slug, features: ['backups', 'ipv6', 'metadata'], available: region.available, sizes: region.sizes },
      tags: [...d.tags],
      vpc_uuid: '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
    }
  }

  function snapshotImage(id: number): Record<string, unknown> {
    const snap = snapshots.get(id)
    return {
      id,
      name: snap?.name ?? `snapshot-${id}`,
      type: 'snapshot',
      distribution: 'Ubuntu',
      slug: null,
      public: false,
      regions: snap?.regions ?? [],
      created_at: iso(snap?.createdAt ?? now()),
      min_disk_size: snap?.minDiskSize ?? 25,
      size_gigabytes: snap?.sizeGigabytes ?? 1,
      tags: [],
      status: 'available',
      error_message: '',
    }
  }

  function iso(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
  }

  function regionView(slug: string): Record<string, unknown> {
    const region = REGIONS.find((r) => r.slug === slug) ?? REGIONS[0]!
    return { name: region.name, slug: region.slug, features: ['backups', 'ipv6', 'metadata'], available: region.available, sizes: region.sizes }
  }

  function settle(): void {
    const t = now()
    for (const action of actions.values()) {
      if (action.settled || action.doneAt === null || action.doneAt > t) continue
      action.settled = true
      if (action.outcome === 'completed') action.effect()
    }
  }

  function startAction(type: string, resourceType: FakeAction['resourceType'], resourceId: number, region: string, effect: () => void): FakeAction {
    const planIndex = plans.findIndex((p) => p.type === type)
    const plan = planIndex === -1 ? undefined : plans[planIndex]
    if (plan !== undefined) {
      plan.left -= 1
      if (plan.left <= 0) plans.splice(planIndex, 1)
    }
    const outcome = plan?.outcome ?? 'completed'
    const action: FakeAction = {
      id: nextActionId++,
      type,
      resourceId,
      resourceType,
      region,
      startedAt: now(),
      doneAt: outcome === 'never' ? null : now() + actionMs,
      outcome: outcome === 'errored' ? 'errored' : 'completed',
      effect,
      settled: false,
    }
    actions.set(action.id, action)
    return action
  }

  function actionView(a: FakeAction): Record<string, unknown> {
    const done = a.settled
    return {
      id: a.id,
      status: done ? a.outcome : 'in-progress',
      type: a.type,
      started_at: iso(a.startedAt),
      completed_at: done && a.doneAt !== null ? iso(a.doneAt) : null,
      resource_id: a.resourceId,
      resource_type: a.resourceType,
      region: regionView(a.region),
      region_slug: a.region,
    }
  }

  function snapshotView(snap: FakeSnapshot, shape: 'snapshots' | 'droplet'): Record<string, unknown> {
    const base = {
      name: snap.name,
      created_at: iso(snap.createdAt),
      regions: [...snap.regions],
      min_disk_size: snap.minDiskSize,
      size_gigabytes: snap.sizeGigabytes,
    }
    if (shape === 'droplet') return { id: snap.id, ...base, type: 'snapshot' }
    return { id: String(snap.id), ...base, resource_id: String(snap.resourceId), resource_type: 'droplet', tags: [] }
  }

  const notFound = (res: ServerResponse): void => send(res, 404, errorBody('not_found', 'The resource you were accessing could not be found.'))

  function dropletAction(res: ServerResponse, droplet: FakeDroplet, body: Record<string, unknown>): void {
    const pending = [...actions.values()].filter((a) => a.resourceType === 'droplet' && a.resourceId === droplet.id && !a.settled)
    // power_off is the documented fallback for a shutdown that hangs: it takes over from it.
    if (body.type === 'power_off' && pending.every((a) => a.type === 'shutdown')) {
      for (const a of pending) {
        a.outcome = 'errored'
        a.doneAt = now()
        a.settled = true
      }
    } else if (pending.length > 0) {
      send(res, 422, errorBody('unprocessable_entity', 'Droplet already has a pending event.'))
      return
    }
    const type = body.type
    let effect: () => void
    if (type === 'shutdown' || type === 'power_off') {
      effect = () => {
        droplet.status = 'off'
      }
    } else if (type === 'power_on') {
      effect = () => {
        droplet.status = 'active'
      }
    } else if (type === 'snapshot') {
      const name = typeof body.name === 'string' && body.name !== '' ? body.name : `${droplet.name}-${now()}`
      const disk = (SIZES.find((s) => s.slug === droplet.size) ?? SIZES[0]!).disk
      effect = () => {
        const id = nextSnapshotId++
        snapshots.set(id, {
          id,
          name,
          regions: [droplet.region],
          sizeGigabytes: options.snapshotSizeGigabytes ?? 4.2,
          minDiskSize: disk,
          createdAt: now(),
          resourceId: droplet.id,
        })
      }
    } else {
      send(res, 422, errorBody('unprocessable_entity', `The fake does not do ${String(type)} actions.`))
      return
    }
    send(res, 201, { action: actionView(startAction(String(type), 'droplet', droplet.id, droplet.region, effect)) })
  }

  function rateHeaders(): Record<string, string> {
    const t = now()
    if (t - windowStart >= rate.windowMs) {
      windowStart = t
      used = 0
    }
    return {
      'ratelimit-limit': String(rate.limit),
      'ratelimit-remaining': String(Math.max(0, rate.limit - used)),
      'ratelimit-reset': String(Math.ceil((windowStart + rate.windowMs) / 1000)),
    }
  }

  // A slow fault does the work at once and only holds the answer back, as a real timeout would.
  const delays = new WeakMap<ServerResponse, number>()

  function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const delay = delays.get(res) ?? 0
    if (delay > 0) {
      delays.delete(res)
      setTimeout(() => {
        if (!res.destroyed) send(res, status, body, extra)
      }, delay)
      return
    }
    const headers: Record<string, string> = { ...rateHeaders(), ...extra }
    if (status === 204) {
      res.writeHead(204, headers).end()
      return
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) })
    res.end(text)
  }

  function paginate(res: ServerResponse, req: IncomingMessage, url: URL, key: string, all: unknown[]): void {
    const perPage = Math.min(options.maxPerPage ?? 200, Math.max(1, Number(url.searchParams.get('per_page') ?? 20) || 20))
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1)
    const last = Math.max(1, Math.ceil(all.length / perPage))
    const link = (p: number): string => {
      const u = new URL(url.pathname + url.search, `http://${req.headers.host ?? '127.0.0.1'}`)
      u.searchParams.set('page', String(p))
      u.searchParams.set('per_page', String(perPage))
      return u.toString()
    }
    const pages: Record<string, string> = {}
    if (page > 1) Object.assign(pages, { first: link(1), prev: link(page - 1) })
    if (page < last) Object.assign(pages, { next: link(page + 1), last: link(last) })
    send(res, 200, { [key]: all.slice((page - 1) * perPage, page * perPage), links: { pages }, meta: { total: all.length } })
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  function validateCreate(body: Record<string, unknown>): string | null {
    const { name, size, region, image } = body
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) return 'Name is invalid. Only valid hostname characters are allowed (a-z, A-Z, 0-9, . and -).'
    if (typeof size !== 'string' || !SIZES.some((s) => s.slug === size)) return 'You specified an invalid size for Droplet creation.'
    const regionEntry = REGIONS.find((r) => r.slug === region)
    if (typeof region !== 'string' || regionEntry === undefined) return 'You specified an invalid region for Droplet creation.'
    if (!regionEntry.available) return 'Region is not available.'
    if (!regionEntry.sizes.includes(size)) return 'Size is not available in this region.'
    if (typeof image === 'number') {
      const snap = snapshots.get(image)
      if (snap === undefined) return 'You specified an invalid image for Droplet creation.'
      if (!snap.regions.includes(region)) return 'The image is not available in the region you selected.'
    } else if (typeof image !== 'string' || !IMAGES.some((i) => i.slug === image)) return 'You specified an invalid image for Droplet creation.'
    const ud = body.user_data
    if (ud !== undefined && (typeof ud !== 'string' || Buffer.byteLength(ud) > MAX_USER_DATA)) return 'user_data is limited to 64 KiB.'
    if (droplets.size + 1 > dropletLimit) return 'creating this/these droplet(s) will exceed your droplet limit'
    return null
  }

  async function createDroplet(body: Record<string, unknown>): Promise<FakeDroplet> {
    const id = nextId++
    const droplet: FakeDroplet = {
      id,
      name: String(body.name),
      region: String(body.region),
      size: String(body.size),
      image: String(body.image),
      tags: Array.isArray(body.tags) ? body.tags.map(String) : [],
      sshKeys: Array.isArray(body.ssh_keys) ? (body.ssh_keys as Array<string | number>) : [],
      ip: allocateIp(),
      createdAt: now(),
      ...(typeof body.image === 'number' ? { fromSnapshot: body.image } : {}),
    }
    const rehearsal = options.allowRehearsalNetwork === true && /^192\.0\.2\.\d{1,3}$/.test(droplet.ip)
    if (!droplet.ip.startsWith('127.') && !rehearsal) throw new Error(`fake DigitalOcean only hands out loopback addresses, not ${droplet.ip}`)
    droplets.set(id, droplet)
    const ud = typeof body.user_data === 'string' ? body.user_data : ''
    userData.set(id, ud)
    await options.onDropletCreated?.(droplet, ud)
    return droplet
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase()
    const url = new URL(req.url ?? '/', 'http://fake')
    const path = url.pathname
    requests.push({ method, path, query: Object.fromEntries(url.searchParams), at: now() })
    const raw = await readBody(req)
    settle()

    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, 401, errorBody('unauthorized', 'Unable to authenticate you'))
      return
    }
    rateHeaders()
    used += 1
    if (used > rate.limit) {
      const resetS = Math.max(1, Math.ceil((windowStart + rate.windowMs - now()) / 1000))
      send(res, 429, errorBody('too_many_requests', 'API Rate limit exceeded.'), { 'retry-after': String(resetS) })
      return
    }

    const faultIndex = faults.findIndex((f) => matches(f, method, path))
    const fault = faultIndex === -1 ? undefined : faults[faultIndex]
    if (fault !== undefined) {
      fault.left -= 1
      if (fault.left <= 0) faults.splice(faultIndex, 1)
      switch (fault.kind) {
        case 'rate-limit':
          send(
            res,
            429,
            errorBody('too_many_requests', 'API Rate limit exceeded.'),
            fault.withRetryAfter === false ? {} : { 'retry-after': String(fault.retryAfterS ?? 1) },
          )
          return
        case 'server-error':
          send(res, fault.status ?? 500, errorBody('server_error', 'Server was unable to give you a response.'))
          return
        case 'reset':
          req.socket.destroy()
          return
        case 'garbled':
          res.writeHead(200, { ...rateHeaders(), 'content-type': 'application/json' }).end(fault.body ?? '{"droplet": {"id": "oops", ')
          return
        case 'status':
          send(res, fault.status, fault.body)
          return
        case 'slow':
          delays.set(res, fault.delayMs)
          break
        case 'create-then-500':
          break
      }
    }

    let m: RegExpExecArray | null
    const dropletMatch = /^\/v2\/droplets\/(\d+)$/.exec(path)
    if (method === 'GET' && path === '/v2/account') {
      send(res, 200, {
        account: {
          droplet_limit: dropletLimit,
          floating_ip_limit: 3,
          email: 'alice@example.com',
          name: 'Alice',
          uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef',
          email_verified: true,
          status: 'active',
          status_message: '',
          team: { uuid: '5df3e3004a17e242b7c20ca6c9fc25b701a47ece', name: 'My Team' },
        },
      })
    } else if (method === 'GET' && path === '/v2/regions') {
      paginate(res, req, url, 'regions', REGIONS.map((r) => ({ ...r, features: ['backups', 'ipv6', 'metadata'] })))
    } else if (method === 'GET' && path === '/v2/sizes') {
      paginate(res, req, url, 'sizes', SIZES)
    } else if (method === 'GET' && path === '/v2/images') {
      const type = url.searchParams.get('type')
      paginate(res, req, url, 'images', type === 'application' ? [] : IMAGES)
    } else if (method === 'GET' && path === '/v2/account/keys') {
      paginate(res, req, url, 'ssh_keys', [...(options.sshKeys ?? SSH_KEYS)])
    } else if (method === 'GET' && path === '/v2/droplets') {
      const tag = url.searchParams.get('tag_name')
      const list = [...droplets.values()].filter((d) => tag === null || d.tags.includes(tag)).map(view)
      paginate(res, req, url, 'droplets', list)
    } else if (method === 'POST' && path === '/v2/droplets') {
      let body: Record<string, unknown>
      try {
        body = JSON.parse(raw) as Record<string, unknown>
      } catch {
        send(res, 400, errorBody('bad_request', 'The request body is not valid JSON.'))
        return
      }
      const problem = validateCreate(body)
      if (problem !== null) {
        send(res, 422, errorBody('unprocessable_entity', problem))
        return
      }
      const droplet = await createDroplet(body)
      if (fault?.kind === 'create-then-500') {
        send(res, 500, errorBody('server_error', 'Server was unable to give you a response.'))
        return
      }
      send(res, 202, {
        droplet: view(droplet),
        links: { actions: [{ id: 7515, rel: 'create', href: `http://${req.headers.host ?? '127.0.0.1'}/v2/actions/7515` }] },
      })
    } else if (dropletMatch !== null && method === 'GET') {
      const droplet = droplets.get(Number(dropletMatch[1]))
      if (droplet === undefined) send(res, 404, errorBody('not_found', 'The resource you were accessing could not be found.'))
      else send(res, 200, { droplet: view(droplet) })
    } else if (dropletMatch !== null && method === 'DELETE') {
      const id = Number(dropletMatch[1])
      if (!droplets.delete(id)) send(res, 404, errorBody('not_found', 'The resource you were accessing could not be found.'))
      else send(res, 204, null)
    } else if (method === 'POST' && (m = /^\/v2\/droplets\/(\d+)\/actions$/.exec(path)) !== null) {
      const droplet = droplets.get(Number(m[1]))
      if (droplet === undefined) return notFound(res)
      const body = parseObject(raw)
      if (body === null || typeof body.type !== 'string') return send(res, 400, errorBody('bad_request', 'The request body is not valid JSON.'))
      dropletAction(res, droplet, body)
    } else if (method === 'GET' && (m = /^\/v2\/actions\/(\d+)$/.exec(path)) !== null) {
      const action = actions.get(Number(m[1]))
      if (action === undefined) return notFound(res)
      send(res, 200, { action: actionView(action) })
    } else if (method === 'GET' && (m = /^\/v2\/droplets\/(\d+)\/snapshots$/.exec(path)) !== null) {
      const id = Number(m[1])
      if (!droplets.has(id)) return notFound(res)
      paginate(res, req, url, 'snapshots', [...snapshots.values()].filter((s) => s.resourceId === id).map((s) => snapshotView(s, 'droplet')))
    } else if (method === 'GET' && path === '/v2/snapshots') {
      const type = url.searchParams.get('resource_type')
      paginate(res, req, url, 'snapshots', type === 'volume' ? [] : [...snapshots.values()].map((s) => snapshotView(s, 'snapshots')))
    } else if ((m = /^\/v2\/snapshots\/(\d+)$/.exec(path)) !== null && (method === 'GET' || method === 'DELETE')) {
      const id = Number(m[1])
      const snap = snapshots.get(id)
      if (snap === undefined) return notFound(res)
      if (method === 'GET') return send(res, 200, { snapshot: snapshotView(snap, 'snapshots') })
      snapshots.delete(id)
      send(res, 204, null)
    } else if (method === 'POST' && (m = /^\/v2\/images\/(\d+)\/actions$/.exec(path)) !== null) {
      const snap = snapshots.get(Number(m[1]))
      if (snap === undefined) return notFound(res)
      const body = parseObject(raw)
      const region = body?.region
      if (body?.type !== 'transfer' || typeof region !== 'string') return send(res, 422, errorBody('unprocessable_entity', 'Only transfer to a region is supported.'))
      if (!REGIONS.some((r) => r.slug === region && r.available)) return send(res, 422, errorBody('unprocessable_entity', 'You specified an invalid region.'))
      const action = startAction('transfer', 'image', snap.id, region, () => {
        if (!snap.regions.includes(region)) snap.regions.push(region)
      })
      send(res, 201, { action: actionView(action) })
    } else {
      send(res, 404, errorBody('not_found', 'The resource you were accessing could not be found.'))
    }
  }

  function parseObject(raw: string): Record<string, unknown> | null {
    try {
      const value = JSON.parse(raw) as unknown
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null
    } catch {
      return null
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, errorBody('server_error', `fake failed: ${String(e)}`))
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  return {
    id: randomUUID(),
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    droplets,
    userData,
    requests,
    snapshots,
    actions,
    planAction(type, outcome, count = 1) {
      plans.push({ type, outcome, left: count })
    },
    completeAction(id, outcome = 'completed') {
      const action = actions.get(id)
      if (action === undefined || action.settled) return
      action.outcome = outcome
      action.doneAt = now()
      settle()
    },
    settle,
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 })
    },
    clearFaults() {
      faults.length = 0
    },
    deleteBehindBack(id) {
      userData.delete(id)
      return droplets.delete(id)
    },
    view(id) {
      const d = droplets.get(id)
      return d === undefined ? undefined : view(d)
    },
    setDropletLimit(limit) {
      dropletLimit = limit
    },
    close() {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
