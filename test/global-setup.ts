// Vitest globalSetup: one loopback switchboard per run, and one Prism validating proxy behind it,
// started lazily on the first test that asks for the DigitalOcean contract check (see test/contract/).
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import type { DigitalOceanContractContext } from './contract/context'
import { startPrism } from './contract/prism'
import type { PrismProcess } from './contract/prism'
import { startSwitchboard } from './contract/switchboard'
import './contract/context'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export function findDigitalOceanSpec(): { specPath: string | null; reason: string | null } {
  const sharedDir = resolve(repoRoot, process.env.DICTUMAL_SHARED_DIR ?? '../shared')
  const specPath = resolve(sharedDir, 'contracts', 'digitalocean-openapi.yaml')
  if (!existsSync(specPath)) return { specPath: null, reason: `no OpenAPI spec at ${specPath} (set DICTUMAL_SHARED_DIR)` }
  if (!existsSync(resolve(repoRoot, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js'))) {
    return { specPath: null, reason: '@stoplight/prism-cli is not installed' }
  }
  return { specPath, reason: null }
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { specPath, reason } = findDigitalOceanSpec()
  let prism: Promise<PrismProcess> | undefined
  const switchboard = await startSwitchboard({
    ensurePrism:
      specPath === null
        ? null
        : async (upstream) => {
            prism ??= startPrism({ repoRoot, specPath, upstream })
            return (await prism).url
          },
  })
  const context: DigitalOceanContractContext = { switchboardUrl: specPath === null ? null : switchboard.url, specPath, reason }
  project.provide('digitalOceanContract', context)
  return async () => {
    if (prism !== undefined) await (await prism.catch(() => null))?.stop()
    await switchboard.close()
  }
}
