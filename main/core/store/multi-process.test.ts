// Two real OS processes hammer one data folder at once: every write from both must survive.
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoUrl, runNodeScript } from './test-support'

const WRITER = `
const { openStore, createConstitution } = await import(${JSON.stringify(repoUrl('main/core/store/index.ts'))})
const [dir, tag, count] = process.argv.slice(2)
const store = await openStore(dir, { watch: false })
for (let i = 0; i < Number(count); i += 1) {
  const made = await createConstitution(store, { name: tag + '-' + i, body: '' }, { newId: () => tag + '-' + i })
  if (!made.ok) throw new Error(made.error.message)
}
await store.close()
`

describe('two processes writing at the same time', () => {
  it('loses none of 2 × 200 updates', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'dictumal-mp-')), 'data')
    const [a, b] = await Promise.all([
      runNodeScript(WRITER, { args: [dir, 'app', '200'] }),
      runNodeScript(WRITER, { args: [dir, 'cli', '200'] }),
    ])
    expect(a?.stderr).toBe('')
    expect(b?.stderr).toBe('')
    expect([a?.code, b?.code]).toEqual([0, 0])
    const data = JSON.parse(await readFile(path.join(dir, 'dictumal.json'), 'utf8')) as { constitutions: Array<{ id: string }> }
    const ids = new Set(data.constitutions.map((c) => c.id))
    expect(data.constitutions).toHaveLength(400)
    for (let i = 0; i < 200; i += 1) {
      expect(ids.has(`app-${i}`)).toBe(true)
      expect(ids.has(`cli-${i}`)).toBe(true)
    }
    expect(await readdir(dir)).toEqual(['dictumal.json'])
  }, 60_000)
})
