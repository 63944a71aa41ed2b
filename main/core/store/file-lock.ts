// A cross-process lock around dictumal.json: an exclusive-create lock file naming its owner, so the
// app and a CLI run never interleave read-modify-write. A crashed owner's lock is broken when stale.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises'

export interface LockOptions {
  /** A lock older than this is stale even if its owner lives: no holder keeps it for more than milliseconds. */
  staleMs?: number
  /** How long to keep trying before giving up. */
  timeoutMs?: number
}

interface LockOwner {
  pid: number
  host: string
  nonce: string
}

export class StoreLockTimeoutError extends Error {
  readonly code = 'store-locked'
  readonly userMessage: string
  readonly lockPath: string
  constructor(lockPath: string) {
    super(`Timed out waiting for the data lock ${lockPath}`)
    this.name = 'StoreLockTimeoutError'
    this.lockPath = lockPath
    this.userMessage =
      `Dictumal's data file is locked by another Dictumal process (${lockPath}). ` +
      'Wait a moment and try again; if no other Dictumal is running, delete that lock file.'
  }
}

const DEFAULT_STALE_MS = 10_000
const DEFAULT_TIMEOUT_MS = 15_000

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return null
    const { pid, host, nonce } = value as Record<string, unknown>
    return typeof pid === 'number' && typeof host === 'string' && typeof nonce === 'string' ? { pid, host, nonce } : null
  } catch {
    return null
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return isErrno(error, 'EPERM')
  }
}

/** Reads the current lock; returns its text if it is stale, null if it is live or gone. */
async function staleLockText(lockPath: string, staleMs: number): Promise<string | null> {
  let text: string
  let ageMs: number
  try {
    const info = await stat(lockPath)
    ageMs = Date.now() - info.mtimeMs
    text = await readFile(lockPath, 'utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null
    throw error
  }
  if (ageMs > staleMs) return text
  const owner = parseOwner(text)
  // An owner still writing its lock file has empty text for a moment: that is live, not stale.
  if (owner === null) return null
  if (owner.host === hostname() && !processAlive(owner.pid)) return text
  return null
}

/**
 * Removes a stale lock without a check-then-delete race: rename it to a private name (only one process
 * can win that rename), then make sure what was moved is the stale lock we judged. If a fresh lock was
 * moved by mistake, it is put back with link(), which never overwrites a newer lock.
 */
async function breakStaleLock(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await rename(lockPath, aside)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return
    throw error
  }
  const moved = await readFile(aside, 'utf8').catch(() => staleText)
  if (moved !== staleText) {
    await link(aside, lockPath).catch(() => undefined)
  }
  await unlink(aside).catch(() => undefined)
}

/** Takes the lock, waiting with short jittered retries; resolves to the release function. */
export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const owner: LockOwner = { pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex') }
  const ownText = JSON.stringify(owner)
  let delay = 2
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600)
      try {
        await handle.writeFile(ownText, 'utf8')
      } finally {
        await handle.close()
      }
      return async () => {
        // Only remove the lock if it is still ours (it may have been broken as stale after a long stall).
        const current = await readFile(lockPath, 'utf8').catch(() => null)
        if (current === ownText) await unlink(lockPath).catch(() => undefined)
      }
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error
    }
    const stale = await staleLockText(lockPath, staleMs)
    if (stale !== null) {
      await breakStaleLock(lockPath, stale)
      continue
    }
    if (Date.now() > deadline) throw new StoreLockTimeoutError(lockPath)
    await sleep(delay + Math.random() * delay)
    delay = Math.min(delay * 2, 50)
  }
}
