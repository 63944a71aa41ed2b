// A loopback router between test workers, Prism and each test file's fake DigitalOcean:
//   client → /f/<fakeId>/v2/… (front: records Prism's sl-violations) → Prism → back → that fake.
// Fakes live in forked workers on their own ports, so they register `fakeId → port` over HTTP.
import { createServer, request } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export const FAKE_HEADER = 'x-dictumal-fake'

export interface Violation {
  location: string[]
  severity: string
  code: string | number
  message: string
}

export interface ObservedViolations {
  method: string
  path: string
  status: number
  violations: Violation[]
}

export interface Switchboard {
  url: string
  close(): Promise<void>
}

export interface SwitchboardOptions {
  /** Starts Prism on first need and gives its URL; null when the contract check is unavailable. */
  ensurePrism: ((switchboardUrl: string) => Promise<string>) | null
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host'])

function copyHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v
  return out
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: { port: number; path: string; extraHeaders?: Record<string, string> },
  onReply?: (reply: IncomingMessage) => void,
): void {
  const upstream = request(
    { host: '127.0.0.1', port: target.port, method: req.method, path: target.path, headers: { ...copyHeaders(req.headers), ...target.extraHeaders } },
    (reply) => {
      onReply?.(reply)
      res.writeHead(reply.statusCode ?? 502, copyHeaders(reply.headers))
      reply.pipe(res)
      reply.on('error', () => res.destroy())
    },
  )
  // A reset upstream becomes a reset here, so the client sees a transport error and not a 502.
  upstream.on('error', () => res.destroy())
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy()
  })
  req.pipe(upstream)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text)
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
}

export async function startSwitchboard(options: SwitchboardOptions): Promise<Switchboard> {
  const fakes = new Map<string, number>()
  const seen = new Map<string, ObservedViolations[]>()
  let prismUrl: string | null = null
  let selfUrl = ''

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === 'POST' && path === '/__switchboard/register') {
      const body = (await readJson(req)) as { id?: unknown; port?: unknown }
      if (typeof body.id !== 'string' || typeof body.port !== 'number') return json(res, 400, { error: 'id and port required' })
      if (options.ensurePrism === null) return json(res, 503, { error: 'contract check unavailable' })
      prismUrl ??= await options.ensurePrism(selfUrl)
      fakes.set(body.id, body.port)
      seen.set(body.id, seen.get(body.id) ?? [])
      return json(res, 200, { baseUrl: `${selfUrl}/f/${body.id}` })
    }
    const v = /^\/__switchboard\/violations\/([\w-]+)$/.exec(path)
    if (req.method === 'GET' && v !== null) return json(res, 200, { observed: seen.get(v[1] ?? '') ?? [] })
    if (req.method === 'POST' && path === '/__switchboard/unregister') {
      const body = (await readJson(req)) as { id?: unknown }
      if (typeof body.id === 'string') {
        fakes.delete(body.id)
        seen.delete(body.id)
      }
      return json(res, 200, {})
    }
    json(res, 404, { error: 'unknown control call' })
  }

  const server = createServer((req, res) => {
    const rawPath = req.url ?? '/'
    const path = rawPath.split('?')[0] ?? '/'
    if (path.startsWith('/__switchboard/')) {
      control(req, res, path).catch((e: unknown) => json(res, 500, { error: String(e) }))
      return
    }
    const front = /^\/f\/([\w-]+)(\/.*)$/.exec(rawPath)
    if (front !== null) {
      const id = front[1] ?? ''
      if (prismUrl === null || !fakes.has(id)) return json(res, 404, { id: 'not_found', message: `no fake registered as ${id}` })
      const prismPort = Number(new URL(prismUrl).port)
      forward(req, res, { port: prismPort, path: front[2] ?? '/', extraHeaders: { [FAKE_HEADER]: id } }, (reply) => {
        const raw = reply.headers['sl-violations']
        const text = Array.isArray(raw) ? raw.join('') : raw
        let violations: Violation[] = []
        if (text !== undefined && text !== '') {
          try {
            violations = JSON.parse(text) as Violation[]
          } catch {
            violations = [{ location: [], severity: 'Error', code: 'unparsable', message: text }]
          }
        }
        seen.get(id)?.push({ method: req.method ?? 'GET', path: (front[2] ?? '/').split('?')[0] ?? '/', status: reply.statusCode ?? 0, violations })
      })
      return
    }
    const fakeId = req.headers[FAKE_HEADER]
    const port = typeof fakeId === 'string' ? fakes.get(fakeId) : undefined
    if (port === undefined) return json(res, 502, { id: 'bad_gateway', message: 'request reached the switchboard without a known fake' })
    forward(req, res, { port, path: rawPath })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  selfUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: selfUrl,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
