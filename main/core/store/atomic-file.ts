// Atomic file I/O for dictumal.json: temp file, fsync, rename, fsync of the folder, so neither a crash
// nor a concurrent reader ever sees half a file. Mode 0600: the file lists droplet IPs.
import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import path from 'node:path'

function isErrno(error: unknown, codes: string[]): boolean {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && codes.includes(error.code)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** The file's text, or null when it does not exist. */
export async function readTextOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if (isErrno(error, ['ENOENT'])) return null
    throw error
  }
}

/** The file's bytes, or null when it does not exist. */
export async function readBytesOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file)
  } catch (error) {
    if (isErrno(error, ['ENOENT'])) return null
    throw error
  }
}

export async function writeFileAtomic(file: string, text: string | Uint8Array): Promise<void> {
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    // Windows refuses to replace a file another process has open for a moment; retry briefly.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await rename(temp, file)
        break
      } catch (error) {
        if (attempt >= 20 || !isErrno(error, ['EPERM', 'EACCES', 'EBUSY'])) throw error
        await sleep(10 * (attempt + 1))
      }
    }
  } catch (error) {
    await unlink(temp).catch(() => undefined)
    throw error
  }
  await syncDirectory(path.dirname(file))
}

/** Makes the rename itself durable; not possible (and not needed) on Windows. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(dir, 'r').catch(() => null)
  if (handle === null) return
  try {
    await handle.sync()
  } catch {
    // Some filesystems (network shares) reject fsync on a directory; the data itself is synced.
  } finally {
    await handle.close()
  }
}
