// The fake DigitalOcean and its droplet farm in a process of their own, for the benchmark: real droplets
// are other machines, so their work should not compete with the engine for this process's event loop.
// Started with child_process.fork (an IPC channel); the parent's side is scripts/bench/farm-client.ts.
// Only loopback, like every fake: the farm's addresses are 127.x.y.z.
import { startFakeCloud, type FakeCloud } from './droplet-farm'

/** What the parent sends. */
export type FarmRequest =
  | { type: 'start'; token: string; activeAfterMs: number; ipAfterMs: number; dropletLimit: number; stepMs: number; stepJitterMs: number }
  | { type: 'mark' }
  | { type: 'report'; fromRequest: number }
  | { type: 'close' }

/** What one fake droplet saw, as far as the benchmark's figures go. Times are Date.now() of this machine. */
export interface FarmDropletReport {
  gatewayUpAt: number | null
  requests: { port: string; path: string; at: number }[]
  tokensAcceptedAt: number[]
}

export interface FarmReport {
  requests: { method: string; path: string; query: Record<string, string>; at: number }[]
  droplets: [number, FarmDropletReport][]
  /** CPU the farm's own process used since the last mark (null when it shares the caller's process). */
  cpuMs: number | null
}

/** What the child answers: one reply per request, in order. */
export type FarmReply =
  | { type: 'started'; url: string }
  | { type: 'marked'; requests: number }
  | { type: 'report'; report: FarmReport }
  | { type: 'closed' }
  | { type: 'error'; message: string }

export function farmReport(cloud: FakeCloud, fromRequest: number, cpuMs: number | null = null): FarmReport {
  return {
    cpuMs,
    requests: cloud.digitalOcean.requests.slice(fromRequest).map((r) => ({ method: r.method, path: r.path, query: r.query, at: r.at })),
    droplets: [...cloud.farm.droplets].map(([id, d]) => [
      id,
      {
        gatewayUpAt: d.timestamps.gatewayUpAt,
        requests: d.record.requests.map((r) => ({ port: r.port, path: r.path, at: r.at })),
        tokensAcceptedAt: d.record.tokensAccepted.map((t) => t.at),
      },
    ]),
  }
}

async function serve(): Promise<void> {
  const send = (reply: FarmReply): void => {
    process.send?.(reply)
  }
  let cloud: FakeCloud | null = null
  let cpuAtMark = process.cpuUsage()
  // One request at a time, in order: replies match requests by position.
  let queue: Promise<void> = Promise.resolve()
  const handle = async (request: FarmRequest): Promise<void> => {
    switch (request.type) {
      case 'start': {
        if (cloud) throw new Error('The farm is already running.')
        const { stepMs, stepJitterMs } = request
        cloud = await startFakeCloud({
          digitalOcean: { token: request.token, activeAfterMs: request.activeAfterMs, ipAfterMs: request.ipAfterMs, dropletLimit: request.dropletLimit },
          farm: { dropletOptions: () => ({ timeline: { stepMs: stepMs - stepJitterMs + Math.round(Math.random() * 2 * stepJitterMs) } }) },
        })
        send({ type: 'started', url: cloud.digitalOcean.url })
        return
      }
      case 'mark':
        cpuAtMark = process.cpuUsage()
        send({ type: 'marked', requests: cloud?.digitalOcean.requests.length ?? 0 })
        return
      case 'report': {
        if (!cloud) throw new Error('The farm is not running.')
        const cpu = process.cpuUsage(cpuAtMark)
        send({ type: 'report', report: farmReport(cloud, request.fromRequest, (cpu.user + cpu.system) / 1000) })
        return
      }
      case 'close':
        await cloud?.close()
        cloud = null
        send({ type: 'closed' })
        process.disconnect?.()
        return
    }
  }
  process.on('message', (message: FarmRequest) => {
    queue = queue.then(() => handle(message)).catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e) }))
  })
  // The parent went away (crashed, killed): nothing is left listening.
  process.on('disconnect', () => {
    void (cloud?.close() ?? Promise.resolve()).finally(() => process.exit(0))
  })
}

if (process.send) await serve()
