// The deployment benchmark (`npm run bench`): 20 deployments at once through the real engine against
// the fake DigitalOcean and a farm of fake droplets on loopback. It measures and prints; it never gates.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Deployment } from '../../preload/contract'
import { createAppServices } from '../../main/core/app-services'
import { setLogSink } from '../../main/core/log'
import { MemorySecrets } from '../../main/core/secrets'
import { createConstitution } from '../../main/core/store'
import { startFakeCloud } from '../../test/fakes/droplet-farm'

const COUNT = Number(process.env.DICTUMAL_BENCH_COUNT ?? 20)
const DEADLINE_MS = 180_000
const TARGET_CALLS = 10
const TARGET_MEDIAN_MS = 1000
const TARGET_MAX_MS = 2000

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

function row(label: string, value: string, target = ''): void {
  console.log(`${label.padEnd(44)} ${value.padStart(14)}   ${target}`)
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

function verdict(ok: boolean): string {
  return ok ? 'ok' : 'OVER'
}

async function main(): Promise<void> {
  // Engine warnings would drown the table; errors still show.
  setLogSink((line) => {
    if (/ ERROR /.test(line)) process.stderr.write(`${line}\n`)
  })
  const token = `dop_v1_${randomBytes(32).toString('hex')}`
  const cloud = await startFakeCloud({
    digitalOcean: { token, activeAfterMs: 1000, ipAfterMs: 1500, dropletLimit: COUNT + 5 },
    // 150 ms a step, ±20 %: real droplets started together do not finish in lockstep.
    farm: { dropletOptions: () => ({ timeline: { stepMs: 120 + Math.round(Math.random() * 60) } }) },
  })
  const dataDir = await mkdtemp(join(tmpdir(), 'dictumal-bench-'))
  const services = await createAppServices({
    dataDir,
    env: { DIGITALOCEAN_API_URL: cloud.digitalOcean.url, DIGITALOCEAN_API_TOKEN: token },
    info: { name: 'Dictumal', version: 'bench', platform: process.platform, dataDir },
    secrets: new MemorySecrets(),
  })
  try {
    const constitution = await createConstitution(services.store, { name: 'Bench', body: '# Bench\n' })
    if (!constitution.ok) throw new Error(constitution.error.message)

    const requestsBefore = cloud.digitalOcean.requests.length
    const cpuBefore = process.cpuUsage()
    const startedAt = Date.now()
    services.engine.start()

    const settled = new Promise<void>((resolve) => {
      const check = (deployments: readonly Deployment[]): void => {
        const mine = deployments.filter((d) => d.constitutionId === constitution.value.id)
        if (mine.length === COUNT && mine.every((d) => d.status !== 'PROVISIONING' && d.status !== 'CONFIGURING')) {
          off()
          resolve()
        }
      }
      const off = services.store.onChange((data) => check(data.deployments))
    })
    const created = await Promise.allSettled(
      Array.from({ length: COUNT }, () => services.engine.create({ constitutionId: constitution.value.id, region: 'nyc3', size: 's-2vcpu-4gb' })),
    )
    const createFailures = created.filter((c) => c.status === 'rejected').length
    let timedOut = false
    await Promise.race([
      settled,
      new Promise<void>((resolve) =>
        setTimeout(() => {
          timedOut = true
          resolve()
        }, DEADLINE_MS).unref(),
      ),
    ])
    const wallMs = Date.now() - startedAt
    const cpu = process.cpuUsage(cpuBefore)
    const memory = process.memoryUsage()
    await services.engine.stop()

    const deployments = services.store.read().deployments.filter((d) => d.constitutionId === constitution.value.id)
    const active = deployments.filter((d) => d.status === 'ACTIVE')
    const requests = cloud.digitalOcean.requests.slice(requestsBefore)
    const byKind = new Map<string, number>()
    for (const r of requests) {
      const key = `${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, '/{id}')}${r.query.tag_name ? `?tag_name=${r.query.tag_name.startsWith('dictumal-') ? 'dictumal-{id}' : r.query.tag_name}` : ''}`
      byKind.set(key, (byKind.get(key) ?? 0) + 1)
    }
    const latencies: number[] = []
    for (const d of active) {
      const droplet = d.dropletId === null ? undefined : cloud.farm.droplets.get(d.dropletId)
      const gatewayUpAt = droplet?.timestamps.gatewayUpAt ?? null
      if (gatewayUpAt === null || d.activeAt === null) continue
      latencies.push(Date.parse(d.activeAt) - gatewayUpAt)
    }
    const callsPerDeployment = requests.length / COUNT
    const med = median(latencies)
    const max = latencies.length > 0 ? Math.max(...latencies) : Number.NaN

    console.log(`\nDictumal engine benchmark: ${COUNT} deployments at once (fake DigitalOcean: active after 1 s, IP after 1.5 s; fake droplets: ~150 ms per setup step)\n`)
    row('measure', 'value', 'target')
    row('deployments ACTIVE', `${active.length} / ${COUNT}`, timedOut ? `(gave up after ${DEADLINE_MS / 1000} s)` : '')
    if (createFailures > 0) row('creates that failed', String(createFailures))
    row('wall time, first create → last settled', `${(wallMs / 1000).toFixed(2)} s`)
    row('DigitalOcean calls in total', String(requests.length))
    row('DigitalOcean calls per deployment', callsPerDeployment.toFixed(2), `≤ ${TARGET_CALLS}  ${verdict(callsPerDeployment <= TARGET_CALLS)}`)
    row('gateway up → ACTIVE, median', `${Math.round(med)} ms`, `≤ ${TARGET_MEDIAN_MS} ms  ${verdict(med <= TARGET_MEDIAN_MS)}`)
    row('gateway up → ACTIVE, max', `${Math.round(max)} ms`, `≤ ${TARGET_MAX_MS} ms  ${verdict(max <= TARGET_MAX_MS)}`)
    row('CPU (user + system; engine and fakes)', `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`)
    row('heap used / heap total', `${mb(memory.heapUsed)} / ${mb(memory.heapTotal)}`)
    row('resident set size', mb(memory.rss))
    console.log('\nDigitalOcean calls by kind:')
    for (const [kind, n] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)}  ${kind}`)
    console.log('\nFigures only: the benchmark never fails on them.')
  } finally {
    await services.close()
    await cloud.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

await main()
