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
  /** Overrides the clock-driven status when set. */
  status?: 'new' | 'active' | 'off' | 'archive'
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
  /** A droplet is `new` for this long after the create (default 30 ms). */
  activeAfterMs?: number
  /** …and gets its public IPv4 this long after the create (default: activeAfterMs). */
  ipAfterMs?: number
  /** Hands out droplet addresses; must stay inside 127.0.0.0/8. Default counts up from 127.0.0.10. */
  allocateIp?: () => string
  dropletLimit?: number
  /** Requests allowed per window before 429 (default 5000 per hour, like DigitalOcean). */
  rateLimit?: { limit: number; windowMs: number }
  onDropletCreated?: (droplet: FakeDroplet, userData: string) => void | Promise<void>
  now?: () => number
  /** Caps per_page below DigitalOcean's 200 so tests can see several pages with a few items. */
  maxPerPage?: number
}

export interface FakeDigitalOcean {
  readonly id: string
  readonly url: string
  readonly port: number
  readonly token: string
  readonly droplets: Map<number, FakeDroplet>
  readonly userData: Map<number, string>
  readonly requests: RecordedRequest[]
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
  let windowStart = now()
  let used = 0

  function view(d: FakeDroplet): Record<string, unknown> {
    const age = now() - d.createdAt
    const status = d.status ?? (age >= activeAfterMs ? 'active' : 'new')
    const size = SIZES.find((s) => s.slug === d.size) ?? SIZES[0]!
    const region = REGIONS.find((r) => r.slug === d.region) ?? REGIONS[0]!
    const image = IMAGES.find((i) => i.slug === d.image) ?? IMAGES[1]!
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
    if (typeof image !== 'string' || !IMAGES.some((i) => i.slug === image)) return 'You specified an invalid image for Droplet creation.'
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
    }
    if (!droplet.ip.startsWith('127.')) throw new Error(`fake DigitalOcean only hands out loopback addresses, not ${droplet.ip}`)
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
      paginate(res, req, url, 'ssh_keys', SSH_KEYS)
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
    } else {
      send(res, 404, errorBody('not_found', 'The resource you were accessing could not be found.'))
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
