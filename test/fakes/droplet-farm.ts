// Glue between the fake DigitalOcean and fake droplets: every droplet the fake API creates boots a fake
// droplet on its 127.0.0.N once the API shows its IP, and stops when the API (or someone behind its back) deletes it.
import { startFakeDigitalOcean, type FakeDigitalOcean, type FakeDigitalOceanOptions } from './fake-digitalocean'
import { startFakeDroplet, type FakeDroplet, type FakeDropletOptions } from './fake-droplet'

export interface DropletFarmOptions {
  /** Per droplet: timeline, faults or ports for the fake droplet booted for it (may be looked up asynchronously). */
  dropletOptions?: (dropletId: number, ip: string, userData: string) => Omit<FakeDropletOptions, 'ip' | 'userData'> | Promise<Omit<FakeDropletOptions, 'ip' | 'userData'>>
  /** How often the farm looks at the fake API's droplets (ms). */
  pollMs?: number
}

export interface DropletFarm {
  /** Running fake droplets by DigitalOcean droplet id. */
  readonly droplets: ReadonlyMap<number, FakeDroplet>
  /** Resolves with the fake droplet once the farm booted it for this droplet id; rejects if it could not boot. */
  whenStarted(dropletId: number): Promise<FakeDroplet>
  /** Resolves with the next fake droplet the farm boots after this call. */
  nextDroplet(): Promise<FakeDroplet>
  /** Fake droplets that failed to boot (e.g. their address was in use), by droplet id. */
  readonly errors: ReadonlyMap<number, Error>
  /** Stops watching and closes every fake droplet. */
  close(): Promise<void>
}

const DEFAULT_POLL_MS = 10

function hasPublicIpv4(view: Record<string, unknown> | undefined): boolean {
  const networks = view?.networks
  if (typeof networks !== 'object' || networks === null) return false
  const v4 = (networks as { v4?: unknown }).v4
  return Array.isArray(v4) && v4.length > 0
}

/**
 * Watches the fake API by polling its state: that sees creates, API deletes and deleteBehindBack alike,
 * and needs no hook wired in before the fake API was started.
 */
export function attachDropletFarm(cloud: FakeDigitalOcean, options: DropletFarmOptions = {}): DropletFarm {
  const running = new Map<number, FakeDroplet>()
  const starting = new Map<number, Promise<FakeDroplet | null>>()
  const errors = new Map<number, Error>()
  const waiters = new Map<number, { resolve: (d: FakeDroplet) => void; reject: (e: Error) => void }[]>()
  const nextWaiters: ((d: FakeDroplet) => void)[] = []
  let closed = false

  function boot(id: number, ip: string, userData: string): void {
    const promise = Promise.resolve(options.dropletOptions?.(id, ip, userData))
      .then((extra) => startFakeDroplet({ ip, userData, ...extra }))
      .then(async (droplet) => {
        // Deleted (or the farm closed) while it was booting.
        if (closed || !cloud.droplets.has(id)) {
          await droplet.close()
          return null
        }
        running.set(id, droplet)
        for (const w of waiters.get(id) ?? []) w.resolve(droplet)
        waiters.delete(id)
        for (const resolve of nextWaiters.splice(0)) resolve(droplet)
        return droplet
      })
      .catch((e: unknown) => {
        const error = e instanceof Error ? e : new Error(String(e))
        errors.set(id, error)
        for (const w of waiters.get(id) ?? []) w.reject(error)
        waiters.delete(id)
        return null
      })
      .finally(() => starting.delete(id))
    starting.set(id, promise)
  }

  function tick(): void {
    if (closed) return
    for (const [id, droplet] of cloud.droplets) {
      if (running.has(id) || starting.has(id) || errors.has(id)) continue
      if (!hasPublicIpv4(cloud.view(id))) continue
      boot(id, droplet.ip, cloud.userData.get(id) ?? '')
    }
    for (const [id, droplet] of running) {
      if (cloud.droplets.has(id)) continue
      running.delete(id)
      void droplet.close()
    }
  }

  const timer = setInterval(tick, options.pollMs ?? DEFAULT_POLL_MS)
  // The farm must not keep a test process alive on its own.
  timer.unref()

  return {
    droplets: running,
    errors,
    whenStarted(dropletId) {
      const droplet = running.get(dropletId)
      if (droplet) return Promise.resolve(droplet)
      const error = errors.get(dropletId)
      if (error) return Promise.reject(error)
      return new Promise((resolve, reject) => {
        const list = waiters.get(dropletId) ?? []
        list.push({ resolve, reject })
        waiters.set(dropletId, list)
      })
    },
    nextDroplet() {
      return new Promise((resolve) => nextWaiters.push(resolve))
    },
    async close() {
      closed = true
      clearInterval(timer)
      await Promise.all([...starting.values()])
      await Promise.all([...running.values()].map((d) => d.close()))
      running.clear()
    },
  }
}

/**
 * Addresses for fake droplets that do not collide across Vitest workers running test files in parallel:
 * the second octet comes from the worker's pool id, the rest counts up from a random start.
 */
export function farmIpAllocator(): () => string {
  const poolId = Number(process.env.VITEST_POOL_ID ?? process.pid % 50)
  const second = 100 + (Number.isFinite(poolId) ? poolId % 150 : 0)
  let counter = Math.floor(Math.random() * 60_000)
  return () => {
    counter = (counter + 1) % 65_024
    const third = Math.floor(counter / 254)
    const fourth = (counter % 254) + 1
    return `127.${second}.${third}.${fourth}`
  }
}

export interface FakeCloud {
  digitalOcean: FakeDigitalOcean
  farm: DropletFarm
  close(): Promise<void>
}

/** A fake DigitalOcean whose droplets boot fake droplets, on addresses safe for parallel test files. */
export async function startFakeCloud(
  options: { digitalOcean?: FakeDigitalOceanOptions; farm?: DropletFarmOptions } = {},
): Promise<FakeCloud> {
  const digitalOcean = await startFakeDigitalOcean({ allocateIp: farmIpAllocator(), ...options.digitalOcean })
  const farm = attachDropletFarm(digitalOcean, options.farm)
  return {
    digitalOcean,
    farm,
    async close() {
      await farm.close()
      await digitalOcean.close()
    },
  }
}
