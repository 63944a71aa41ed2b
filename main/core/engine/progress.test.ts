import { describe, expect, it } from 'vitest'
import type { Deployment } from '../../../preload/contract'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { advance, mergeProgress, NO_CHECKS, stageFor, STAGE_PERCENT, type Observation } from './progress'

const at = '2026-11-27T10:00:00.000Z'
const later = '2026-11-27T10:00:05.000Z'

function record(overrides: Partial<Deployment> = {}): Deployment {
  return sampleDeployment({ dropletId: 42, createdAt: at, updatedAt: at, ...overrides })
}

const seen = (o: Partial<Omit<Observation, 'checks'>> & { checks?: Partial<Observation['checks']> }): Observation => ({
  dropletActive: true,
  ip: '127.0.0.5',
  tokenAccepted: false,
  ...o,
  checks: { ...NO_CHECKS, ...o.checks },
})

describe('stageFor (SPEC §2 table)', () => {
  it.each([
    [seen({ dropletActive: false, ip: null }), 'provisioning-droplet'],
    [seen({ ip: null }), 'waiting-for-ip'],
    [seen({ checks: { http80: true } }), 'installing-packages'],
    [seen({ checks: { vnc5901: true } }), 'starting-guacamole'],
    [seen({ checks: { guacHttp8080: true } }), 'configuring-https'],
    [seen({ checks: { vnc5901: true, guacHttp8080: true, guacHttps443: true } }), 'final-health-check'],
    [seen({ checks: { guacHttps443: true }, tokenAccepted: true }), 'active'],
  ] as const)('%j → %s', (observation, stage) => {
    expect(stageFor(observation)).toBe(stage)
  })

  it('never lets a false vnc5901 hold back activation', () => {
    expect(stageFor(seen({ checks: { vnc5901: false, guacHttp8080: true, guacHttps443: true }, tokenAccepted: true }))).toBe('active')
  })

  it('needs the token accepted, not just HTTPS, for ACTIVE', () => {
    expect(stageFor(seen({ checks: { guacHttps443: true }, tokenAccepted: false }))).toBe('final-health-check')
  })
})

describe('advance', () => {
  it('moves through statuses with the stage percents and stamps activeAt once', () => {
    let d = record()
    d = advance(d, seen({ ip: null }), later)
    expect([d.status, d.stage, d.percent]).toEqual(['PROVISIONING', 'waiting-for-ip', 35])
    d = advance(d, seen({}), later)
    expect([d.status, d.stage, d.percent, d.ip]).toEqual(['CONFIGURING', 'installing-packages', 48, '127.0.0.5'])
    d = advance(d, seen({ checks: { guacHttps443: true }, tokenAccepted: true }), later)
    expect([d.status, d.stage, d.percent, d.activeAt]).toEqual(['ACTIVE', 'active', 100, later])
  })

  it('never goes backwards when a probe flickers down, but shows the latest checks', () => {
    const d = record({ status: 'CONFIGURING', stage: 'configuring-https', percent: STAGE_PERCENT['configuring-https'], ip: '127.0.0.5' })
    const next = advance(d, seen({ checks: { vnc5901: true } }), later)
    expect(next.stage).toBe('configuring-https')
    expect(next.percent).toBe(78)
    expect(next.checks.vnc5901).toBe(true)
    expect(next.checks.guacHttp8080).toBe(false)
  })

  it('returns the same object when nothing changed, so nothing is written', () => {
    const d = record({ status: 'CONFIGURING', stage: 'installing-packages', percent: 48, ip: '127.0.0.5' })
    expect(advance(d, seen({}), later)).toBe(d)
  })

  it('leaves terminal records alone', () => {
    const d = record({ status: 'ERROR', error: 'boom' })
    expect(advance(d, seen({ checks: { guacHttps443: true }, tokenAccepted: true }), later)).toBe(d)
  })
})

describe('mergeProgress (two engines writing the same record)', () => {
  it('keeps the further-along record and the higher percent', () => {
    const onDisk = record({ status: 'CONFIGURING', stage: 'configuring-https', percent: 78, ip: '127.0.0.5' })
    const mine = record({ status: 'CONFIGURING', stage: 'starting-guacamole', percent: 62, ip: '127.0.0.5' })
    expect(mergeProgress(onDisk, mine).stage).toBe('configuring-https')
    expect(mergeProgress(mine, onDisk).stage).toBe('configuring-https')
  })

  it('lets a terminal record on disk win, and a terminal verdict of mine win over progress', () => {
    const destroyed = record({ status: 'DESTROYED', destroyedAt: later })
    const progressing = record({ status: 'CONFIGURING', stage: 'final-health-check', percent: 92 })
    expect(mergeProgress(destroyed, progressing).status).toBe('DESTROYED')
    const errored = record({ status: 'ERROR', error: 'timeout' })
    expect(mergeProgress(progressing, errored).status).toBe('ERROR')
  })
})
