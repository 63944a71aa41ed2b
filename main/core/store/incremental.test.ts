// Cheap updates with many old records: shallow drafts, only changed records validated, cached JSON text
// that still writes exactly what JSON.stringify would.
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Deployment } from '../../../preload/contract'
import { sampleDeployment } from '../../../test/fixtures/deployment'
import { draftOf, serializeStore, settleDraft } from './incremental'
import { emptyStoreData, validateStoreData, type StoreData } from './schema'
import { openStore } from './store'

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

function old(i: number): Deployment {
  return sampleDeployment({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `dictumal-old-${i}`,
    status: 'DESTROYED',
    stage: 'active',
    percent: 100,
    destroyedAt: '2026-01-02T00:00:00.000Z',
  })
}

/** Committed data as the store holds it: validated, then frozen. */
function committed(deployments: Deployment[]): StoreData {
  const checked = validateStoreData({ ...emptyStoreData(), deployments })
  if (!checked.ok) throw new Error(checked.detail)
  return deepFreeze(checked.data)
}

describe('serializeStore', () => {
  it('writes exactly what JSON.stringify(data, null, 2) writes, cached or not', () => {
    const data = committed([old(1), old(2), sampleDeployment({ id: 'x', name: 'Ünïcødé 🖥️ "quoted"\nline\u2028sep', error: 'a\\b' })])
    const expected = `${JSON.stringify(data, null, 2)}\n`
    expect(serializeStore(data)).toBe(expected)
    // Second time from the cache.
    expect(serializeStore(data)).toBe(expected)
    const empty = committed([])
    expect(serializeStore(empty)).toBe(`${JSON.stringify(empty, null, 2)}\n`)
    // An unfrozen (uncommitted) record is never cached: changing it shows in the next text.
    const loose = structuredClone(data)
    const first = loose.deployments[0] as Deployment
    expect(serializeStore(loose)).toBe(expected)
    first.percent = 7
    expect(serializeStore(loose)).toBe(`${JSON.stringify(loose, null, 2)}\n`)
  })
})

describe('draftOf and settleDraft', () => {
  it('keeps every record the update did not change, and validates only the changed one', () => {
    const base = committed([old(1), old(2), sampleDeployment({ id: 'live' })])
    const draft = draftOf(base)
    expect(draft.deployments[2]).not.toBe(base.deployments[2])
    const live = draft.deployments[2] as Deployment
    live.percent = 48
    live.checks = { ...live.checks, http80: true }
    const settled = settleDraft(base, draft)
    if (!settled.ok) throw new Error(settled.detail)
    expect(settled.changed).toBe(true)
    expect(settled.data.deployments[0]).toBe(base.deployments[0])
    expect(settled.data.deployments[1]).toBe(base.deployments[1])
    expect(settled.data.deployments[2]).toMatchObject({ id: 'live', percent: 48, checks: { http80: true } })
    expect(settled.data.settings).toBe(base.settings)
  })

  it('says nothing changed, and hands back the same data, when the update only looked', () => {
    const base = committed([old(1), old(2)])
    const draft = draftOf(base)
    draft.deployments = draft.deployments.map((d) => ({ ...d }))
    draft.settings = { ...draft.settings }
    const settled = settleDraft(base, draft)
    expect(settled).toEqual({ ok: true, data: base, changed: false })
    if (settled.ok) expect(settled.data).toBe(base)
  })

  it('finds records again by id after an insert or a removal', () => {
    const base = committed([old(1), old(2), old(3)])
    const draft = draftOf(base)
    draft.deployments = draft.deployments.filter((d) => d.id !== base.deployments[0]?.id)
    draft.deployments.unshift(sampleDeployment({ id: 'new' }))
    const settled = settleDraft(base, draft)
    if (!settled.ok) throw new Error(settled.detail)
    expect(settled.data.deployments.map((d) => d.id)).toEqual(['new', base.deployments[1]?.id, base.deployments[2]?.id])
    expect(settled.data.deployments[1]).toBe(base.deployments[1])
    expect(settled.data.deployments[2]).toBe(base.deployments[2])
  })

  it('refuses a bad change with the path of the real record, and duplicate ids', () => {
    const base = committed([old(1), old(2), sampleDeployment({ id: 'live' })])
    const bad = draftOf(base)
    ;(bad.deployments[2] as { status: string }).status = 'EXPLODED'
    const refused = settleDraft(base, bad)
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.detail).toMatch(/deployments\.2\.status/)

    const twice = draftOf(base)
    twice.deployments.push(sampleDeployment({ id: 'live' }))
    expect(settleDraft(base, twice)).toEqual({ ok: false, detail: 'duplicate id live' })
  })

  it('shares the objects inside a record with committed data, frozen: replacing works, mutating fails loudly', () => {
    const base = committed([sampleDeployment({ id: 'h' })])
    const draft = draftOf(base)
    const d = draft.deployments[0] as Deployment
    expect(() => {
      d.checks.vnc5901 = true
    }).toThrow(TypeError)
    expect(() => {
      draft.settings.sshKeys.push('12345')
    }).toThrow(TypeError)
    d.checks = { ...d.checks, vnc5901: true }
    draft.settings = { ...draft.settings, sshKeys: ['12345'] }
    const settled = settleDraft(base, draft)
    if (!settled.ok) throw new Error(settled.detail)
    expect(settled.data.deployments[0]?.checks.vnc5901).toBe(true)
    expect(settled.data.settings.sshKeys).toEqual(['12345'])
    // The draft never reached back into committed data.
    expect(base.deployments[0]?.checks.vnc5901).toBe(false)
    expect(base.settings.sshKeys).toEqual([])
  })
})

describe('a store with 1,000 old records', () => {
  it('rewrites one changed record and keeps the other thousand as they were', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'dictumal-incremental-')), 'data')
    const store = await openStore(dir, { watch: false })
    await store.update((draft) => {
      for (let i = 0; i < 1000; i += 1) draft.deployments.push(old(i))
      draft.deployments.push(sampleDeployment({ id: 'live' }))
    })
    const before = store.read()
    await store.update((draft) => {
      const index = draft.deployments.findIndex((d) => d.id === 'live')
      draft.deployments[index] = { ...(draft.deployments[index] as Deployment), percent: 62, stage: 'starting-guacamole', status: 'CONFIGURING' }
    })
    const after = store.read()
    expect(after.deployments.slice(0, 1000).every((d, i) => d === before.deployments[i])).toBe(true)
    expect(after.deployments[1000]).toMatchObject({ id: 'live', percent: 62 })
    expect(Object.isFrozen(after.deployments[1000])).toBe(true)
    const text = await readFile(path.join(dir, 'dictumal.json'), 'utf8')
    expect(text).toBe(`${JSON.stringify(after, null, 2)}\n`)
    await store.close()
  })
})
