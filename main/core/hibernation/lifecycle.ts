// What the deployment engine needs to know about hibernation, kept apart so the engine stays small:
// which statuses hibernation owns, and when a resumed deployment's provisioning clock started.
import type { Deployment, DeploymentStatus } from '../../../preload/contract'

/** HIBERNATING and HIBERNATED records belong to main/core/hibernation, never to the engine's watch. */
export function isHibernationStatus(status: DeploymentStatus): boolean {
  return status === 'HIBERNATING' || status === 'HIBERNATED'
}

/** A resume's PROVISIONING time counts from the resume, not from the deployment's first creation. */
export function provisioningStartedAt(d: Pick<Deployment, 'createdAt' | 'hibernation'>): string {
  return d.hibernation?.op === 'resume' ? d.hibernation.startedAt : d.createdAt
}
