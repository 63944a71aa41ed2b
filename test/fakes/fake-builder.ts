// Builder droplets for image tests: every droplet the fake DigitalOcean shows with the `dictumal-image`
// tag and a public IP gets a beacon on its 127.x address that walks the setup steps to `done`, as a
// droplet running the install half of the recipe does. It goes quiet when the droplet is off or gone.
import { createServer, type Server } from 'node:http'
import { BAKE_STEPS } from '../../main/core/images/image-builder'
import type { FakeDigitalOcean } from './fake-digitalocean'

export interface FakeBuilderOptions {
  stepMs?: number
  /** The builder stops at this step and stays there (a stalled install). */
  stallAt?: string
  /** This step fails with exit code 1. */
  failAt?: string
  port?: number
  pollMs?: number
}

export interface FakeBuilders {
  /** Beacon servers by droplet id. */
  readonly running: ReadonlyMap<number, { ip: string; step(): string }>
  /** Droplet ids that were ever booted as builders. */
  readonly booted: Set<number>
  setOptions(options: FakeBuilderOptions): void
  close(): Promise<void>
}

function hasIp(view: Record<string, unknown> | undefined): boolean {
  const v4 = (view?.networks as { v4?: unknown[] } | undefined)?.v4
  return Array.isArray(v4) && v4.length > 0
}

export function attachFakeBuilders(cloud: FakeDigitalOcean, initial: FakeBuilderOptions = {}): FakeBuilders {
  let options = initial
  const servers = new Map<number, { server: Server; ip: string; step(): string }>()
  const booted = new Set<number>()
  let closed = false

  function boot(id: number, ip: string): void {
    booted.add(id)
    const started = Date.now()
    const { stepMs = 40, stallAt, failAt } = options
    const steps: readonly string[] = BAKE_STEPS
    const current = (): { step: string; failed: { step: string; exitCode: number } | null } => {
      let index = Math.min(steps.length - 1, Math.floor((Date.now() - started) / stepMs))
      const stall = stallAt === undefined ? -1 : steps.indexOf(stallAt)
      const fail = failAt === undefined ? -1 : steps.indexOf(failAt)
      if (stall >= 0) index = Math.min(index, stall)
      if (fail >= 0 && index >= fail) return { step: failAt as string, failed: { step: failAt as string, exitCode: 1 } }
      return { step: steps[index] as string, failed: null }
    }
    const server = createServer((req, res) => {
      if (req.url !== '/dictumal/status.json') {
        res.writeHead(404).end()
        return
      }
      const { step, failed } = current()
      const body = JSON.stringify({ v: 1, step, checks: { vnc5901: false, guacHttp8080: false }, failed, updatedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') })
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    })
    server.on('error', () => servers.delete(id))
    server.listen(options.port ?? 80, ip)
    servers.set(id, { server, ip, step: () => current().step })
  }

  const timer = setInterval(() => {
    if (closed) return
    for (const [id, d] of cloud.droplets) {
      if (!d.tags.includes('dictumal-image') || booted.has(id)) continue
      if (hasIp(cloud.view(id))) boot(id, d.ip)
    }
    for (const [id, entry] of servers) {
      const d = cloud.droplets.get(id)
      if (d === undefined || d.status === 'off') {
        servers.delete(id)
        entry.server.closeAllConnections()
        entry.server.close()
      }
    }
  }, initial.pollMs ?? 10)
  timer.unref()

  return {
    running: servers,
    booted,
    setOptions(next) {
      options = next
    },
    async close() {
      closed = true
      clearInterval(timer)
      await Promise.all(
        [...servers.values()].map(
          (entry) =>
            new Promise<void>((resolve) => {
              entry.server.closeAllConnections()
              entry.server.close(() => resolve())
            }),
        ),
      )
      servers.clear()
    },
  }
}
