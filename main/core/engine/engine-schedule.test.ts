// The watch loop's timing with scripted probes: each deployment on its own due time (injected clock),
// adaptive pauses, and no deployment waiting for another's slow probe. Real store on disk.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Deployment } from '../../../preload/contract'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { generateDeploymentSecrets } from '../deployment-secrets'
import type { BeaconStep } from '../recipe'
import { openStore, type Store } from '../store'
import { Engine, type CloudPort, type ProbeResult, type ProberPort } from './engine'

const A = 'aaaaaaaa-1111-4222-8333-444455556666'
const B = 'bbbbbbbb-1111-4222-8333-444455556666'
const IP = { [A]: '192.0.2.10', [B]: '192.0.2.11' } as const

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function configuring(id: string): Deployment {
  return sampleDeployment({ id, name: `dictumal-x-${id.slice(0, 8)}`, dropletId: id === A ? 1 : 2, ip: IP[id as keyof typeof IP], status: 'CONFIGURING', stage: 'installing-packages', percent: 48 })
}

/** Scripted droplets: what each address answers, and every probe asked of it. */
class ScriptedProber implements ProberPort {
  readonly calls: Array<{ ip: string; at: number }> = []
  readonly step = new Map<string, BeaconStep>()
  readonly hold = new Map<string, Promise<void>>()
  constructor(private readonly now: () => number) {}
  async probe(ip: string): Promise<ProbeResult> {
    this.calls.push({ ip, at: this.now() })
    await this.hold.get(ip)
    const step = this.step.get(ip) ?? 'install-packages'
    const up = step === 'done'
    return {
      checks: { vnc5901: true, http80: true, guacHttp8080: up, guacHttps443: up },
      failedStep: null,
      beacon: { step, stepStartedAt: null },
    }
  }
  async acceptsToken(): Promise<boolean> {
    return true
  }
  async close(): Promise<void> {}
}

const noCloud: CloudPort = {
  createDroplet: () => Promise.reject(new Error('not in this test')),
  getDroplet: () => Promise.reject(new Error('not in this test')),
  listDropletsByTag: () => Promise.reject(new Error('not in this test')),
  deleteDroplet: () => Promise.reject(new Error('not in this test')),
}

async function rig(now: () => number, options: { probeIntervalMs?: number } = {}): Promise<{ engine: Engine; store: Store; prober: ScriptedProber }> {
  const store = await openStore(path.join(await mkdtemp(path.join(tmpdir(), 'dictumal-schedule-')), 'data'), { watch: false })
  await store.update((draft) => {
    draft.deployments.push(configuring(A), configuring(B))
  })
  const prober = new ScriptedProber(now)
  const secrets = generateDeploymentSecrets()
  const engine = new Engine({
    store,
    secrets: { getDeploymentSecrets: async () => secrets, setDeploymentSecrets: async () => {}, deleteDeploymentSecrets: async () => {} },
    cloud: noCloud,
    clock: { now },
    prober,
    imageSlug: async () => 'ubuntu-24-04-x64',
    sshKeys: () => [],
    gatewayHost: () => '',
    ...options,
  })
  cleanups.push(async () => {
    await engine.stop()
    await store.close()
  })
  return { engine, store, prober }
}

function probesOf(prober: ScriptedProber, id: string): number[] {
  return prober.calls.filter((c) => c.ip === IP[id as keyof typeof IP]).map((c) => c.at)
}

describe('the watch loop, clock injected', () => {
  it('gives each deployment its own due time: slow while installing, fast once HTTPS is next', async () => {
    let now = Date.parse('2026-12-01T12:00:00.000Z')
    const { engine, prober } = await rig(() => now, { probeIntervalMs: 60_000 })
    prober.step.set(IP[B], 'configure-https')

    await engine.tick()
    expect(probesOf(prober, A)).toHaveLength(1)
    expect(probesOf(prober, B)).toHaveLength(1)

    // A has been installing for a while: after 8 s in the step it waits 2 s; B (HTTPS next) every 200 ms.
    for (let t = 0; t < 8000; t += 100) {
      now += 100
      await engine.tick()
    }
    const a = probesOf(prober, A)
    const b = probesOf(prober, B)
    expect(b.length).toBeGreaterThanOrEqual(35)
    expect(a.length).toBeLessThan(15)
    const gaps = a.slice(1).map((at, i) => at - (a[i] as number))
    // The pauses grow with the age of the step, never shorter than 200 ms.
    expect(gaps.every((g) => g >= 200)).toBe(true)
    expect(gaps.at(-1)).toBeGreaterThan(gaps[0] as number)

    // A reaches configure-https: from its next probe on, it is fast too.
    prober.step.set(IP[A], 'configure-https')
    const before = probesOf(prober, A).length
    for (let t = 0; t < 5000; t += 100) {
      now += 100
      await engine.tick()
    }
    const after = probesOf(prober, A).slice(before)
    const fastGaps = after.slice(2).map((at, i) => at - (after[i + 1] as number))
    expect(fastGaps.every((g) => g <= 300)).toBe(true)
  })

  it('probes nothing before its due time, however often the loop turns', async () => {
    let now = Date.parse('2026-12-01T12:00:00.000Z')
    const { engine, prober } = await rig(() => now)
    await engine.tick()
    const first = prober.calls.length
    for (let i = 0; i < 20; i += 1) await engine.tick()
    expect(prober.calls.length).toBe(first)
    now += 250
    await engine.tick()
    expect(prober.calls.length).toBe(first + 2)
  })
})

describe('writes', () => {
  it('puts the progress of many deployments seen in one round into one locked write', async () => {
    const now = Date.parse('2026-12-01T12:00:00.000Z')
    const { engine, store, prober } = await rig(() => now)
    const ids = Array.from({ length: 10 }, (_, i) => `cccccccc-1111-4222-8333-${String(i).padStart(12, '0')}`)
    await store.update((draft) => {
      draft.deployments.push(...ids.map((id, i) => ({ ...configuring(A), id, name: `dictumal-c-${i}`, dropletId: 100 + i, ip: `192.0.2.${100 + i}` })))
    })
    for (const id of ids) prober.step.set(`192.0.2.${100 + ids.indexOf(id)}`, 'done')
    prober.step.set(IP[A], 'done')
    prober.step.set(IP[B], 'done')
    let writes = 0
    const update = store.update.bind(store)
    store.update = (fn) => {
      writes += 1
      return update(fn)
    }
    await engine.tick()
    // Twelve deployments went to final-health-check and then ACTIVE: two writes, not twenty-four.
    expect(store.read().deployments.filter((d) => d.status === 'ACTIVE')).toHaveLength(12)
    expect(writes).toBeLessThanOrEqual(3)
  })
})

describe('the watch loop, running', () => {
  it('brings one deployment to ACTIVE while another one’s probe hangs', async () => {
    const { engine, store, prober } = await rig(() => Date.now())
    let release!: () => void
    prober.hold.set(IP[A], new Promise<void>((resolve) => (release = resolve)))
    cleanups.push(async () => release())
    prober.step.set(IP[B], 'done')

    engine.start()
    const active = await new Promise<Deployment>((resolve) => {
      const check = (): void => {
        const b = store.read().deployments.find((d) => d.id === B)
        if (b?.status === 'ACTIVE') resolve(b)
      }
      store.onChange(check)
      check()
    })
    expect(active.stage).toBe('active')
    // A's first probe is still hanging, and nothing asked it twice meanwhile.
    expect(probesOf(prober, A)).toHaveLength(1)
    expect(store.read().deployments.find((d) => d.id === A)?.status).toBe('CONFIGURING')
    release()
  })
})
