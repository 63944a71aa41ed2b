// Which process drives a long snapshot lifecycle (an image build, a hibernation): a record names its
// driver's pid and last heartbeat, and another process takes over only once that driver is gone.
export interface DriverLease {
  pid: number
  heartbeatAt: string
}

/** A driver that has not beaten for this long is taken to be gone, whatever its pid says. */
export const DRIVER_STALE_MS = 30_000

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function driverAlive(driver: DriverLease | null, nowMs: number, alive: (pid: number) => boolean = processAlive): boolean {
  if (driver === null) return false
  if (nowMs - Date.parse(driver.heartbeatAt) > DRIVER_STALE_MS) return false
  return alive(driver.pid)
}
