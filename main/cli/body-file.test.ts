import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BODY_FILE_MAX_BYTES, readBodyFile } from './body-file'

const dir = mkdtempSync(join(tmpdir(), 'dictumal-body-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function refusal(file: string): Promise<{ code: string; userMessage: string }> {
  try {
    await readBodyFile(file)
  } catch (error) {
    return error as { code: string; userMessage: string }
  }
  throw new Error(`${file} was read`)
}

describe('readBodyFile', () => {
  it('reads UTF-8 text exactly, BOM, controls and all', async () => {
    const text = '\uFEFF# Notes\r\n\tBe kind — 東京 🙂\u2028\u0085end\n'
    writeFileSync(join(dir, 'ok.md'), text)
    expect(await readBodyFile(join(dir, 'ok.md'))).toBe(text)
    writeFileSync(join(dir, 'limit.md'), 'a'.repeat(BODY_FILE_MAX_BYTES))
    expect(await readBodyFile(join(dir, 'limit.md'))).toHaveLength(BODY_FILE_MAX_BYTES)
  })

  it('refuses a huge file from its size alone, without reading it', async () => {
    // 8 GB, sparse: reading it whole would take far longer than this test allows and cannot fit in a string.
    const huge = join(dir, 'huge.md')
    writeFileSync(huge, '')
    truncateSync(huge, 8_000_000_000)
    const started = Date.now()
    const error = await refusal(huge)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(error).toMatchObject({
      code: 'body-file-too-large',
      userMessage: `The body file "${huge}" is 8000.0 MB, too large for a constitution: its text goes to the droplet inside DigitalOcean's 64 KiB user data, and body files over 1 MB are not read at all.`,
    })
  })

  it('stops reading a stream with no size (a device, a pipe) after 1 MB', async () => {
    expect(await refusal('/dev/zero')).toMatchObject({ code: 'body-file-too-large', userMessage: expect.stringContaining('is over 1 MB, too large') })
  })

  it('says so when the file is missing, a folder or not UTF-8', async () => {
    expect(await refusal(join(dir, 'missing.md'))).toMatchObject({ code: 'body-file', userMessage: `Cannot read the body file "${join(dir, 'missing.md')}".` })
    expect(await refusal(dir)).toMatchObject({ code: 'body-file', userMessage: `The body file "${dir}" is a folder, not a file.` })
    writeFileSync(join(dir, 'latin1.md'), Buffer.from([0x63, 0x61, 0x66, 0xe9]))
    expect(await refusal(join(dir, 'latin1.md'))).toMatchObject({ code: 'body-file-encoding', userMessage: expect.stringMatching(/is not UTF-8 text; save it as UTF-8/) })
  })
})
