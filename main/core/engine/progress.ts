// The lifecycle's arithmetic (SPEC §2): which stage a set of observations means, and how a record
// moves forward. Pure, so every rule is tested without a network; percent never goes backwards.
import { DEPLOYMENT_STAGES, type Deployment, type DeploymentStage, type DeploymentStatus, type ReadinessChecks } from '../../../preload/contract'

export const STAGES: readonly DeploymentStage[] = DEPLOYMENT_STAGES

export const STAGE_PERCENT: Readonly<Record<DeploymentStage, number>> = {
  'provisioning-droplet': 22,
  'waiting-for-ip': 35,
  'installing-packages': 48,
  'starting-guacamole': 62,
  'configuring-https': 78,
  'final-health-check': 92,
  active: 100,
  // Hibernation's own progress (SPEC §10); in-progress deploys never carry these stages.
  stopping: 10,
  snapshotting: 30,
  'deleting-droplet': 90,
  hibernated: 100,
}

export const NO_CHECKS: Readonly<ReadinessChecks> = { vnc5901: false, http80: false, guacHttp8080: false, guacHttps443: false }

export const IN_PROGRESS: readonly DeploymentStatus[] = ['PROVISIONING', 'CONFIGURING']

export function isInProgress(d: Pick<Deployment, 'status'>): boolean {
  return IN_PROGRESS.includes(d.status)
}

export function stageIndex(stage: DeploymentStage): number {
  return STAGES.indexOf(stage)
}

export interface Observation {
  dropletActive: boolean
  ip: string | null
  checks: ReadinessChecks
  /** The gateway accepted a freshly minted token. */
  tokenAccepted: boolean
}

/** The highest stage the observations support. A false vnc5901 alone never holds activation back. */
export function stageFor(o: Observation): DeploymentStage {
  if (!o.dropletActive) return 'provisioning-droplet'
  if (o.ip === null) return 'waiting-for-ip'
  if (o.checks.guacHttps443 && o.tokenAccepted) return 'active'
  if (o.checks.guacHttps443) return 'final-health-check'
  if (o.checks.guacHttp8080) return 'configuring-https'
  if (o.checks.vnc5901) return 'starting-guacamole'
  return 'installing-packages'
}

export function statusForStage(stage: DeploymentStage): DeploymentStatus {
  if (stage === 'active') return 'ACTIVE'
  if (stage === 'provisioning-droplet' || stage === 'waiting-for-ip') return 'PROVISIONING'
  return 'CONFIGURING'
}

/**
 * Moves an in-progress record forward to what the observation shows. Stage and percent only ever
 * advance (a probe that flickers down does not undo progress); the checks show the latest truth.
 */
export function advance(record: Deployment, o: Observation, nowIso: string): Deployment {
  if (!isInProgress(record)) return record
  const observed = stageFor(o)
  const stage = stageIndex(observed) > stageIndex(record.stage) ? observed : record.stage
  const percent = Math.max(record.percent, STAGE_PERCENT[stage])
  const status = statusForStage(stage)
  const next: Deployment = {
    ...record,
    ip: o.ip ?? record.ip,
    checks: { ...o.checks },
    stage,
    percent,
    status,
    activeAt: status === 'ACTIVE' ? (record.activeAt ?? nowIso) : record.activeAt,
  }
  return sameProgress(record, next) ? record : { ...next, updatedAt: nowIso }
}

export function sameProgress(a: Deployment, b: Deployment): boolean {
  return (
    a.status === b.status &&
    a.stage === b.stage &&
    a.percent === b.percent &&
    a.ip === b.ip &&
    a.dropletId === b.dropletId &&
    a.error === b.error &&
    a.checks.vnc5901 === b.checks.vnc5901 &&
    a.checks.http80 === b.checks.http80 &&
    a.checks.guacHttp8080 === b.checks.guacHttp8080 &&
    a.checks.guacHttps443 === b.checks.guacHttps443
  )
}

export function failed(record: Deployment, message: string, nowIso: string): Deployment {
  if (!isInProgress(record)) return record
  return { ...record, status: 'ERROR', error: message, updatedAt: nowIso }
}

/**
 * Merges what this process computed into what is on disk now (another process may have moved the
 * record meanwhile): a terminal record on disk wins; otherwise the further-along record wins.
 */
export function mergeProgress(onDisk: Deployment, mine: Deployment): Deployment {
  if (!isInProgress(onDisk)) return onDisk
  if (!isInProgress(mine)) return mine
  const mineAhead = stageIndex(mine.stage) > stageIndex(onDisk.stage) || (mine.stage === onDisk.stage && mine.updatedAt >= onDisk.updatedAt)
  const base = mineAhead ? mine : onDisk
  return {
    ...base,
    dropletId: base.dropletId ?? onDisk.dropletId ?? mine.dropletId,
    ip: base.ip ?? onDisk.ip ?? mine.ip,
    percent: Math.max(onDisk.percent, mine.percent),
  }
}
