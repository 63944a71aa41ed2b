// "Step 5 of 9 · …" with the time left: built-in guesses at first, then the median of the steps the
// droplets of this region and size reported, kept across restarts in step-times.json.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { COUNTED_STEPS, recordFinishedSteps, setupStepNote, StepTimes, TYPICAL_SECONDS } from './setup-progress'

const T = Date.parse('2026-12-01T14:00:00.000Z')
const at = (s: number) => new Date(T + s * 1000).toISOString()

describe('setup progress', () => {
  it('counts nine steps and guesses the time left until something is measured', () => {
    const d = sampleDeployment({ status: 'CONFIGURING' })
    const note = setupStepNote(d, { step: 'pull-images', timings: { 'pull-images': { start: at(0), end: null } } }, new StepTimes(null), T + 20_000)
    expect(COUNTED_STEPS).toHaveLength(9)
    expect(note).toMatchObject({ index: 7, total: 9, title: 'Downloading the Guacamole images', measured: 0 })
    expect(note?.leftMs).toBe((TYPICAL_SECONDS['pull-images'] - 20 + TYPICAL_SECONDS['start-guacamole'] + TYPICAL_SECONDS['configure-https']) * 1000)
    expect(setupStepNote(d, { step: 'done' }, new StepTimes(null), T)).toBeNull()
  })

  it('estimates from the steps past droplets of this region and size reported, and keeps them across restarts', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dictumal-steps-')), 'step-times.json')
    const times = new StepTimes(file)
    const seen = new Set<string>()
    for (const [i, seconds] of [100, 300, 200].entries()) {
      const d = sampleDeployment({ id: `d${i}`, region: 'ams3', size: 's-2vcpu-4gb' })
      expect(recordFinishedSteps(d, { timings: { 'install-packages': { start: at(0), end: at(seconds) } } }, times, seen)).toBe(true)
      // The same step seen again in a later probe is not counted twice.
      expect(recordFinishedSteps(d, { timings: { 'install-packages': { start: at(0), end: at(seconds) } } }, times, seen)).toBe(false)
    }
    await times.save()
    const again = new StepTimes(file)
    expect(again.typical('ams3/s-2vcpu-4gb', 'install-packages')).toBe(200)
    expect(again.typical('nyc3/s-2vcpu-4gb', 'install-packages')).toBe(TYPICAL_SECONDS['install-packages'])
    const d = sampleDeployment({ region: 'ams3', size: 's-2vcpu-4gb', status: 'CONFIGURING' })
    const note = setupStepNote(d, { step: 'install-packages', timings: { 'install-packages': { start: at(0), end: null } } }, again, T + 50_000)
    expect(note).toMatchObject({ index: 5, measured: 3 })
    const rest = TYPICAL_SECONDS['start-vnc'] + TYPICAL_SECONDS['pull-images'] + TYPICAL_SECONDS['start-guacamole'] + TYPICAL_SECONDS['configure-https']
    expect(note?.leftMs).toBe((150 + rest) * 1000)
  })
})
