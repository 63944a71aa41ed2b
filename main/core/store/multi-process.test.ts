// Two real OS processes hammer one data folder at once: every write from both must survive.
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { openStore } from './store'
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

// The engine's way of writing: bursts of changes through the write coalescer (one locked write per turn),
// in a file that also holds 1,000 old DESTROYED records. Each process also moves one shared record forward.
const COALESCING_WRITER = `
const { openStore } = await import(${JSON.stringify(repoUrl('main/core/store/index.ts'))})
const { WriteCoalescer } = await import(${JSON.stringify(repoUrl('main/core/store/coalesce.ts'))})
const [dir, tag, rounds, burst] = process.argv.slice(2)
const store = await openStore(dir, { watch: false })
let writes = 0
const update = store.update.bind(store)
store.update = (fn) => { writes += 1; return update(fn) }
const coalescer = new WriteCoalescer(store)
for (let r = 0; r < Number(rounds); r += 1) {
  await Promise.all(Array.from({ length: Number(burst) }, (_, i) => coalescer.update((draft) => {
    const at = new Date().toISOString()
    draft.constitutions.push({ id: tag + '-' + r + '-' + i, name: tag, body: '', createdAt: at, updatedAt: at })
    const shared = draft.deployments.find((d) => d.id === 'shared')
    if (shared) draft.deployments[draft.deployments.indexOf(shared)] = { ...shared, name: shared.name + (tag === 'app' ? 'a' : 'c') }
  })))
}
await store.close()
process.stdout.write(String(writes))
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

  it('loses none of 2 × 200 coalesced changes among 1,000 old records, with far fewer writes than changes', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'dictumal-mp-')), 'data')
    const seed = await openStore(dir, { watch: false })
    await seed.update((draft) => {
      for (let i = 0; i < 1000; i += 1) {
        draft.deployments.push(sampleDeployment({ id: `old-${i}`, name: `dictumal-old-${i}`, status: 'DESTROYED', stage: 'active', percent: 100 }))
      }
      draft.deployments.push(sampleDeployment({ id: 'shared', name: 'x' }))
    })
    await seed.close()
    const [a, b] = await Promise.all([
      runNodeScript(COALESCING_WRITER, { args: [dir, 'app', '20', '10'] }),
      runNodeScript(COALESCING_WRITER, { args: [dir, 'cli', '20', '10'] }),
    ])
    expect(a?.stderr).toBe('')
    expect(b?.stderr).toBe('')
    expect([a?.code, b?.code]).toEqual([0, 0])
    // Each burst of 10 went to disk as one write (a few more if a burst straddled a write).
    expect(Number(a?.stdout)).toBeLessThan(60)
    expect(Number(b?.stdout)).toBeLessThan(60)
    const data = JSON.parse(await readFile(path.join(dir, 'dictumal.json'), 'utf8')) as {
      constitutions: Array<{ id: string }>
      deployments: Array<{ id: string; name: string }>
    }
    const ids = new Set(data.constitutions.map((c) => c.id))
    expect(data.constitutions).toHaveLength(400)
    for (let r = 0; r < 20; r += 1) {
      for (let i = 0; i < 10; i += 1) {
        expect(ids.has(`app-${r}-${i}`)).toBe(true)
        expect(ids.has(`cli-${r}-${i}`)).toBe(true)
      }
    }
    // Both processes' changes to the one shared record survived: 200 letters from each.
    const shared = data.deployments.find((d) => d.id === 'shared')?.name ?? ''
    expect([...shared].filter((c) => c === 'a')).toHaveLength(200)
    expect([...shared].filter((c) => c === 'c')).toHaveLength(200)
    expect(data.deployments).toHaveLength(1001)
    expect(await readdir(dir)).toEqual(['dictumal.json'])
  }, 120_000)
})
