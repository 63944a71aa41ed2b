// The sidebar's counts next to Deployments: how many desktops are being set up, and in red how
// many are in ERROR (a failed droplet is still billed until it is destroyed).
import { useAppStore } from '../store'
import './trust.css'

export function DeploymentCounts() {
  const settingUp = useAppStore((s) => s.deployments.filter((d) => d.status === 'PROVISIONING' || d.status === 'CONFIGURING').length)
  const failed = useAppStore((s) => s.deployments.filter((d) => d.status === 'ERROR').length)
  return (
    <>
      {settingUp > 0 && (
        <span className="nav-count" aria-label={`${settingUp} in progress`}>
          {settingUp}
        </span>
      )}
      {failed > 0 && (
        <span className="nav-count failed" aria-label={`${failed} failed`} data-testid="nav-failed">
          {failed}
        </span>
      )}
    </>
  )
}
