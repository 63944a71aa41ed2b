// The write coalescer over a real store: one locked write per turn, every caller told about its own change.
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { WriteCoalescer } from './coalesce'
import { openStore, type Store } from './store'
import type { StoreData } from './schema'

const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** A real store whose update() calls are counted: each one is a locked write. */
async function counted(): Promise<{ store: Store; writes: () => number; dir: string }> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'dictumal-coalesce-')), 'data')
  const store = await openStore(dir, { watch: false })
  stores.push(store)
  let n = 0
  const update = store.update.bind(store)
  store.update = <T>(fn: (draft: StoreData) => T): Promise<T> => {
    n += 1
    return update(fn)
  }
  return { store, writes: () => n, dir }
}

describe('WriteCoalescer', () => {
  it('writes the changes of one turn in one locked write, in order, each caller getting its own result', async () => {
    const { store, writes, dir } = await counted()
    const coalescer = new WriteCoalescer(store)
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        coalescer.update((draft) => {
          draft.deployments.push(sampleDeployment({ id: `d-${i}` }))
          return draft.deployments.length
        }),
      ),
    )
    expect(writes()).toBe(1)
    // In order: the i-th change saw the i earlier ones.
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    const onDisk = JSON.parse(await readFile(path.join(dir, 'dictumal.json'), 'utf8')) as StoreData
    expect(onDisk.deployments.map((d) => d.id)).toEqual(Array.from({ length: 20 }, (_, i) => `d-${i}`))
  })

  it('gathers changes made while a write is under way into the next write', async () => {
    const { store, writes } = await counted()
    const coalescer = new WriteCoalescer(store)
    const first = coalescer.update((draft) => draft.deployments.push(sampleDeployment({ id: 'first' })))
    // Let the first write start, then hand in more while it runs.
    await new Promise((resolve) => setImmediate(resolve))
    const more = Array.from({ length: 10 }, (_, i) => coalescer.update((draft) => draft.deployments.push(sampleDeployment({ id: `more-${i}` }))))
    await Promise.all([first, ...more])
    expect(writes()).toBe(2)
    expect(store.read().deployments).toHaveLength(11)
  })

  it('refuses only the bad change: the others of its turn are written', async () => {
    const { store } = await counted()
    const coalescer = new WriteCoalescer(store)
    const outcomes = await Promise.allSettled([
      coalescer.update((draft) => draft.deployments.push(sampleDeployment({ id: 'good-1' }))),
      coalescer.update((draft) => {
        ;(draft.settings as { defaultRegion: unknown }).defaultRegion = 42
      }),
      coalescer.update(() => {
        throw new Error('my own failure')
      }),
      coalescer.update((draft) => draft.deployments.push(sampleDeployment({ id: 'good-2' }))),
    ])
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'store-invalid-update' })
    expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ message: 'my own failure' })
    expect(store.read().deployments.map((d) => d.id)).toEqual(['good-1', 'good-2'])
    expect(store.read().settings.defaultRegion).toBe('nyc3')
  })

  it('settled() waits for everything handed in', async () => {
    const { store } = await counted()
    const coalescer = new WriteCoalescer(store)
    for (let i = 0; i < 5; i += 1) void coalescer.update((draft) => draft.deployments.push(sampleDeployment({ id: `s-${i}` })))
    await coalescer.settled()
    expect(store.read().deployments).toHaveLength(5)
  })
})
