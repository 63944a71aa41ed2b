import { sampleDeployment as sample } from '../../../test/fixtures/deployment'
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Deployment } from '../../../preload/contract'
import {
  createConstitution,
  deleteConstitution,
  findConstitution,
  findDeploymentByPrefix,
  getDeployment,
  patchDeployment,
  updateConstitution,
  updateSettings,
  upsertDeployment,
} from './records'
import { emptyStoreData, SCHEMA_VERSION } from './schema'
import { openStore, StoreCorruptError, StoreValidationError, type Store } from './store'

const opened: Store[] = []
async function open(dir: string, options: Parameters<typeof openStore>[1] = {}): Promise<Store> {
  const store = await openStore(dir, { pollMs: 50, debounceMs: 10, ...options })
  opened.push(store)
  return store
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()))
})

async function freshDir(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'dictumal-store-')), 'data')
}

function sampleDeployment(id: string, overrides: Partial<Deployment> = {}): Deployment {
  return sample({ id, name: `desk-${id.slice(0, 4)}`, ...overrides })
}

function until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (predicate()) resolve()
      else if (Date.now() > deadline) reject(new Error('condition not met in time'))
      else setTimeout(tick, 10)
    }
    tick()
  })
}

describe('store round trip', () => {
  it('starts empty, persists updates, and a new open reads them back', async () => {
    const dir = await freshDir()
    const store = await open(dir)
    expect(store.read()).toEqual(emptyStoreData())
    expect(store.recovered).toBeNull()
    await upsertDeployment(store, sampleDeployment('aaaa1111'))
    const created = await createConstitution(store, { name: ' Notes ', body: '# hi' }, { newId: () => 'c1' })
    expect(created.ok && created.value.name).toBe('Notes')
    await store.close()

    const again = await open(dir)
    const data = again.read()
    expect(data.schemaVersion).toBe(SCHEMA_VERSION)
    expect(getDeployment(data, 'aaaa1111')?.region).toBe('nyc3')
    expect(data.constitutions.map((c) => c.body)).toEqual(['# hi'])
    const onDisk = JSON.parse(await readFile(path.join(dir, 'dictumal.json'), 'utf8')) as { deployments: unknown[] }
    expect(onDisk.deployments).toHaveLength(1)
  })

  it('hands out frozen snapshots, so nobody mutates the store behind update()', async () => {
    const store = await open(await freshDir())
    await upsertDeployment(store, sampleDeployment('a1'))
    const snapshot = store.read()
    expect(() => {
      ;(snapshot.deployments as Deployment[]).push(sampleDeployment('x'))
    }).toThrow(TypeError)
    expect(Object.isFrozen(snapshot.deployments[0]?.checks)).toBe(true)
  })

  it('refuses an update that breaks the schema and writes nothing', async () => {
    const dir = await freshDir()
    const store = await open(dir)
    await upsertDeployment(store, sampleDeployment('a1'))
    const before = await readFile(path.join(dir, 'dictumal.json'), 'utf8')
    await expect(
      store.update((d) => {
        ;(d.deployments[0] as { status: string }).status = 'EXPLODED'
      }),
    ).rejects.toBeInstanceOf(StoreValidationError)
    expect(await readFile(path.join(dir, 'dictumal.json'), 'utf8')).toBe(before)
    expect(store.read().deployments[0]?.status).toBe('PROVISIONING')
  })

  it('rejects an async update function instead of writing half a change', async () => {
    const store = await open(await freshDir())
    await expect(store.update(async () => undefined)).rejects.toThrow(/synchronous/)
  })
})

describe('atomic writes and permissions', () => {
  it('leaves no temp or lock files behind and keeps the file 0600, the folder 0700', async () => {
    const dir = await freshDir()
    const store = await open(dir)
    for (let i = 0; i < 20; i += 1) await upsertDeployment(store, sampleDeployment(`id-${i}`))
    expect((await readdir(dir)).sort()).toEqual(['dictumal.json'])
    if (process.platform !== 'win32') {
      expect((await stat(path.join(dir, 'dictumal.json'))).mode & 0o777).toBe(0o600)
      expect((await stat(dir)).mode & 0o777).toBe(0o700)
    }
  })

  it('does not rewrite the file (or fire onChange) when an update changes nothing', async () => {
    const dir = await freshDir()
    const store = await open(dir)
    await upsertDeployment(store, sampleDeployment('a1'))
    const mtime = (await stat(path.join(dir, 'dictumal.json'))).mtimeMs
    let changes = 0
    store.onChange(() => (changes += 1))
    await store.update(() => 'nothing')
    expect(changes).toBe(0)
    expect((await stat(path.join(dir, 'dictumal.json'))).mtimeMs).toBe(mtime)
  })
})

describe('change notification', () => {
  it('fires after own writes', async () => {
    const store = await open(await freshDir())
    const seen: number[] = []
    const off = store.onChange((data) => seen.push(data.deployments.length))
    await upsertDeployment(store, sampleDeployment('a1'))
    off()
    await upsertDeployment(store, sampleDeployment('a2'))
    expect(seen).toEqual([1])
  })

  it('notices a write by another store instance on the same folder', async () => {
    const dir = await freshDir()
    const app = await open(dir)
    const cli = await open(dir, { watch: false })
    const seen: string[][] = []
    app.onChange((data) => seen.push(data.deployments.map((d) => d.id)))
    await upsertDeployment(cli, sampleDeployment('from-cli'))
    await until(() => seen.length > 0)
    expect(app.read().deployments.map((d) => d.id)).toEqual(['from-cli'])
  })

  it('notices the change by polling when fs.watch reports nothing', async () => {
    const dir = await freshDir()
    const app = await open(dir, { pollMs: 30, fsWatch: false })
    const cli = await open(dir, { watch: false })
    let fired = 0
    app.onChange(() => (fired += 1))
    await updateSettings(cli, { gatewayHost: 'gw.example.test' })
    await until(() => fired > 0)
    expect(app.read().settings.gatewayHost).toBe('gw.example.test')
  })
})

describe('corrupt files are kept aside, never silently replaced', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['bad JSON', '{"schemaVersion": 1, "deploym', /not valid JSON/],
    ['wrong shape', JSON.stringify({ schemaVersion: 1, constitutions: 'nope', deployments: [] }), /expected shape/],
    ['future schemaVersion', JSON.stringify({ ...emptyStoreData(), schemaVersion: 2 }), /newer version of Dictumal/],
    ['duplicate ids', JSON.stringify({ ...emptyStoreData(), deployments: [sampleDeployment('x'), sampleDeployment('x')] }), /expected shape/],
  ]
  it.each(bad)('%s', async (_name, text, sentence) => {
    const dir = await freshDir()
    const first = await open(dir)
    await first.close()
    await writeFile(path.join(dir, 'dictumal.json'), text)
    const store = await open(dir, { now: () => new Date('2026-03-04T05:06:07.890Z') })
    const error = store.recovered
    expect(error).toBeInstanceOf(StoreCorruptError)
    const aside = path.join(dir, 'dictumal.json.corrupt-2026-03-04T05-06-07.890Z')
    expect(error?.keptAsidePath).toBe(aside)
    expect(error?.userMessage).toMatch(sentence)
    expect(error?.userMessage).toContain(aside)
    expect(await readFile(aside, 'utf8')).toBe(text)
    expect(store.read()).toEqual(emptyStoreData())
    // Starts over only after the move: the next write creates a fresh, valid file.
    await upsertDeployment(store, sampleDeployment('new'))
    expect(JSON.parse(await readFile(path.join(dir, 'dictumal.json'), 'utf8'))).toMatchObject({ schemaVersion: 1 })
  })

  it('a second corrupt file at the same instant gets its own name', async () => {
    const dir = await freshDir()
    const now = (): Date => new Date('2026-03-04T05:06:07.890Z')
    await (await open(dir)).close()
    await writeFile(path.join(dir, 'dictumal.json'), 'one')
    await (await open(dir, { now })).close()
    await writeFile(path.join(dir, 'dictumal.json'), 'two')
    const store = await open(dir, { now })
    expect(store.recovered?.keptAsidePath).toMatch(/corrupt-2026-03-04T05-06-07\.890Z-2$/)
    expect((await readdir(dir)).filter((f) => f.includes('.corrupt-'))).toHaveLength(2)
  })

  it('a running store that finds the file broken keeps it aside and writes its last good data back', async () => {
    const dir = await freshDir()
    const store = await open(dir, { pollMs: 30 })
    await upsertDeployment(store, sampleDeployment('keep-me'))
    const reports: StoreCorruptError[] = []
    store.onCorrupt((e) => reports.push(e))
    await writeFile(path.join(dir, 'dictumal.json'), '{ hand edited, broken')
    await until(() => reports.length > 0)
    expect(await readFile(reports[0]?.keptAsidePath ?? '', 'utf8')).toBe('{ hand edited, broken')
    const restored = JSON.parse(await readFile(path.join(dir, 'dictumal.json'), 'utf8')) as { deployments: Array<{ id: string }> }
    expect(restored.deployments.map((d) => d.id)).toEqual(['keep-me'])
  })
})

describe('record helpers', () => {
  it('finds a deployment by exact id or unique prefix, and says when ambiguous or missing', async () => {
    const store = await open(await freshDir())
    await upsertDeployment(store, sampleDeployment('abc123'))
    await upsertDeployment(store, sampleDeployment('abd456'))
    await upsertDeployment(store, sampleDeployment('ab'))
    const data = store.read()
    expect(findDeploymentByPrefix(data, 'abc')).toMatchObject({ ok: true, value: { id: 'abc123' } })
    expect(findDeploymentByPrefix(data, 'AB')).toMatchObject({ ok: true, value: { id: 'ab' } })
    expect(findDeploymentByPrefix(data, 'abd4')).toMatchObject({ ok: true, value: { id: 'abd456' } })
    const ambiguous = findDeploymentByPrefix(store.read(), 'a')
    expect(ambiguous).toMatchObject({ ok: false, error: { code: 'deployment-ambiguous' } })
    expect(findDeploymentByPrefix(data, 'zz')).toMatchObject({ ok: false, error: { code: 'deployment-not-found' } })
    expect(findDeploymentByPrefix(data, '')).toMatchObject({ ok: false, error: { code: 'deployment-not-found' } })
  })

  it('upserts in place and patches one record', async () => {
    const store = await open(await freshDir())
    await upsertDeployment(store, sampleDeployment('d1'))
    await upsertDeployment(store, sampleDeployment('d1', { ip: '203.0.113.9' }))
    const patched = await patchDeployment(store, 'd1', (d) => ({ percent: d.percent + 10, id: 'ignored' }))
    expect(patched).toMatchObject({ id: 'd1', percent: 32, ip: '203.0.113.9' })
    expect(store.read().deployments).toHaveLength(1)
    expect(await patchDeployment(store, 'nope', () => ({}))).toBeUndefined()
  })

  it('validates constitution names (1-80 chars, not blank) and supports update, find, delete', async () => {
    const store = await open(await freshDir())
    expect(await createConstitution(store, { name: '   ', body: '' })).toMatchObject({ ok: false, error: { code: 'constitution-invalid' } })
    expect(await createConstitution(store, { name: 'x'.repeat(81), body: '' })).toMatchObject({ ok: false })
    const made = await createConstitution(store, { name: 'x'.repeat(80), body: 'b' }, { newId: () => 'id-1' })
    expect(made.ok).toBe(true)
    expect(store.read().constitutions).toHaveLength(1)
    const renamed = await updateConstitution(store, 'id-1', { name: 'Research', body: 'new' })
    expect(renamed).toMatchObject({ ok: true, value: { name: 'Research', body: 'new' } })
    expect(findConstitution(store.read(), 'research')).toMatchObject({ ok: true, value: { id: 'id-1' } })
    expect(findConstitution(store.read(), 'id-')).toMatchObject({ ok: true, value: { id: 'id-1' } })
    expect(await updateConstitution(store, 'missing', { name: 'a', body: '' })).toMatchObject({ ok: false, error: { code: 'constitution-not-found' } })
    expect(await deleteConstitution(store, 'id-1')).toEqual({ ok: true, value: null })
    expect(store.read().constitutions).toEqual([])
  })

  it('patches settings without resetting the others, and rejects unknown or wrong-typed ones', async () => {
    const store = await open(await freshDir())
    expect(await updateSettings(store, { defaultRegion: 'ams3' })).toMatchObject({ ok: true })
    expect(await updateSettings(store, { sshKeys: ['ab:cd'] })).toMatchObject({ ok: true })
    expect(store.read().settings).toMatchObject({ defaultRegion: 'ams3', sshKeys: ['ab:cd'], defaultSize: 's-2vcpu-4gb' })
    expect(await updateSettings(store, { useLatestUbuntu: 'yes' })).toMatchObject({ ok: false, error: { code: 'settings-invalid' } })
    expect(await updateSettings(store, { token: 'x' })).toMatchObject({ ok: false })
  })
})
