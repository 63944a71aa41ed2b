// The benchmark's fake cloud in a child process (test/fakes/farm-process.ts, bundled the way scripts/bench.mjs
// bundles it): a droplet created through the child's fake API boots a fake droplet whose gateway answers on
// loopback, the report carries what the benchmark measures, and closing ends the child process.
import { mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'rolldown'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDeploymentCertificate } from '../../main/core/certificate'
import { generateDeploymentSecrets } from '../../main/core/deployment-secrets'
import { buildUserData } from '../../main/core/recipe'
import { startChildCloud, type BenchCloudOptions } from './farm-client'

const root = resolve(import.meta.dirname, '..', '..')
const outDir = join(root, 'node_modules', '.cache', 'dictumal-farm-test', String(process.pid))
const TOKEN = `dop_v1_${'ab'.repeat(32)}`
const OPTIONS: BenchCloudOptions = { token: TOKEN, activeAfterMs: 10, ipAfterMs: 10, dropletLimit: 3, stepMs: 20, stepJitterMs: 5 }

beforeAll(async () => {
  await mkdir(outDir, { recursive: true })
  await build({
    input: { 'farm-process': join(root, 'test', 'fakes', 'farm-process.ts') },
    platform: 'node',
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    logLevel: 'warn',
    output: { dir: outDir, format: 'esm', entryFileNames: '[name].mjs' },
  })
})

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true })
})

async function createDroplet(url: string): Promise<number> {
  const certificate = await generateDeploymentCertificate()
  const userData = buildUserData({
    deploymentId: '0b7f5a52-5d6c-4c1e-9d3a-1f2e3d4c5b6a',
    constitution: { name: 'Farm', body: '# Farm\n' },
    secrets: generateDeploymentSecrets(),
    certificate,
  })
  const res = await fetch(`${url}/v2/droplets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'dictumal-farm-test', region: 'nyc3', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64', user_data: userData, tags: ['dictumal'] }),
  })
  expect(res.status).toBe(202)
  return ((await res.json()) as { droplet: { id: number } }).droplet.id
}

describe('the fake cloud in a child process', () => {
  it('boots fake droplets for API creates, reports what they saw, and exits on close', async () => {
    const cloud = await startChildCloud(pathToFileURL(join(outDir, 'farm-process.mjs')), OPTIONS)
    let closed = false
    try {
      const mark = await cloud.mark()
      const id = await createDroplet(cloud.url)
      let report = await cloud.report(mark)
      for (let i = 0; i < 200 && !report.droplets.some(([d, r]) => d === id && r.gatewayUpAt !== null); i += 1) {
        await new Promise((r) => setTimeout(r, 25))
        report = await cloud.report(mark)
      }
      expect(report.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v2/droplets'])
      expect(report.cpuMs).toBeGreaterThan(0)
      const [, droplet] = report.droplets.find(([d]) => d === id) ?? []
      expect(droplet?.gatewayUpAt).toEqual(expect.any(Number))
      // Its fake droplet answers on loopback, from the other process.
      const view = (await (await fetch(`${cloud.url}/v2/droplets/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
        droplet: { networks: { v4: { ip_address: string }[] } }
      }
      const ip = view.droplet.networks.v4[0]?.ip_address
      expect(ip).toMatch(/^127\./)
      const beacon = await fetch(`http://${ip}/dictumal/status.json`)
      expect(beacon.status).toBe(200)
      expect((await cloud.report(mark)).droplets.find(([d]) => d === id)?.[1].requests.map((r) => r.path)).toContain('/dictumal/status.json')
      await cloud.close()
      closed = true
      // Closed means gone: the address answers no more, and the client says the process ended.
      await expect(fetch(`http://${ip}/dictumal/status.json`)).rejects.toThrow()
      await expect(cloud.mark()).rejects.toThrow(/process ended/)
    } finally {
      if (!closed) await cloud.close()
    }
  })
})
