// Phase 1 of `npm run rehearse` (in the host's network namespace, which reaches the apt mirror): the
// cached image and package repository, this run's stand-in package and the CLI build. It writes what
// phase 2 needs to DICTUMAL_REHEARSAL_STATE.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildCli } from './engine'
import { missingPrerequisite } from './host'
import { buildStandinRepository, CACHE_DIR, ensureRecipeRepository, ensureRootfs } from './image'
import type { PreparedRun } from './prepared'

const log = (line: string): void => {
  process.stderr.write(`[rehearsal] ${line}\n`)
}

describe('boot rehearsal: prepare', () => {
  it('has the image, the package repository, the stand-ins and a fresh CLI build', async () => {
    const problem = missingPrerequisite()
    if (problem !== null) throw new Error(`Cannot rehearse here: ${problem}`)
    const stateFile = process.env.DICTUMAL_REHEARSAL_STATE
    expect(stateFile, 'run it through npm run rehearse').toBeTruthy()
    mkdirSync(CACHE_DIR, { recursive: true })
    const runDir = mkdtempSync(join('/var/tmp', 'dictumal-rehearsal-'))
    // apt in the machine reads the stand-in repository from here as its unprivileged _apt user.
    chmodSync(runDir, 0o755)
    const [, rootfs] = await Promise.all([buildCli(), ensureRootfs(log)])
    const repo = await ensureRecipeRepository(rootfs.value, log)
    const standinRepo = await buildStandinRepository(join(runDir, 'standins'))
    const prepared: PreparedRun = {
      runDir,
      rootfs: rootfs.value,
      recipeRepo: repo.value,
      standinRepo,
      figures: [
        `rootfs ${rootfs.built ? 'built' : 'cached'} in ${(rootfs.ms / 1000).toFixed(0)} s, package repository ${repo.built ? 'built' : 'cached'} in ${(repo.ms / 1000).toFixed(0)} s (cache: ${CACHE_DIR})`,
      ],
    }
    writeFileSync(stateFile!, JSON.stringify(prepared))
    log(prepared.figures.join('\n'))
  }, 30 * 60_000)
})
