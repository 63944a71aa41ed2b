// `constitution add --body-file F`: the body is read with a hard cap, so a huge file (or /dev/zero, or a
// pipe that never ends) is refused after at most BODY_FILE_MAX_BYTES, never read whole into memory.
import { open } from 'node:fs/promises'
import { AppError } from '../core/user-error'

/**
 * The most a body file may hold: the same limit the app's editor has. Whether a body really fits is
 * decided afterwards by the recipe (constitutionFitError), because the body travels compressed: text
 * well over 64 KiB can fit, so that is no bound to refuse by.
 */
export const BODY_FILE_MAX_BYTES = 1_000_000

const CHUNK = 64 * 1024

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`
}

function tooLarge(file: string, size: string): AppError {
  return new AppError(
    'body-file-too-large',
    `The body file "${file}" is ${size}, too large for a constitution: its text goes to the droplet inside DigitalOcean's 64 KiB user data, and body files over 1 MB are not read at all.`,
    'Shorten it, or copy the long parts onto the desktop after it starts.',
  )
}

/** The file's text, UTF-8; throws AppError with one sentence when it cannot be read, is too large or is not UTF-8. */
export async function readBodyFile(file: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(file, 'r')
  } catch {
    throw new AppError('body-file', `Cannot read the body file "${file}".`)
  }
  try {
    const info = await handle.stat()
    if (info.isDirectory()) throw new AppError('body-file', `The body file "${file}" is a folder, not a file.`)
    if (info.isFile() && info.size > BODY_FILE_MAX_BYTES) throw tooLarge(file, megabytes(info.size))
    // Not trusted either way: a file can grow after stat, and pipes and devices have no size.
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const buffer = Buffer.alloc(CHUNK)
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null)
      if (bytesRead === 0) break
      total += bytesRead
      if (total > BODY_FILE_MAX_BYTES) throw tooLarge(file, 'over 1 MB')
      chunks.push(buffer.subarray(0, bytesRead))
    }
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks, total))
    } catch {
      throw new AppError('body-file-encoding', `The body file "${file}" is not UTF-8 text; save it as UTF-8 and try again.`)
    }
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('body-file', `Cannot read the body file "${file}".`)
  } finally {
    await handle.close().catch(() => undefined)
  }
}
