// What keeps a store update cheap as records pile up (issue 15): the update function gets shallow copies
// of the records instead of a deep clone, only the records it actually changed are validated, and each committed record's
// JSON text is kept, so a write with 1,000 old DESTROYED records re-serialises one record, not a thousand.
// Committed records are frozen and never change, which is what makes reusing them (and their text) sound.
import { validateStoreData, type StoreData } from './schema'

type Item = Record<string, unknown>
type Outcome = { ok: true; data: StoreData; changed: boolean } | { ok: false; detail: string }

function isPlainObject(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A copy of the record; the objects inside it stay shared with committed data (and frozen). */
function copyItem(item: unknown): unknown {
  // Spread: V8 clones a same-shaped object far faster than a key-by-key build.
  return isPlainObject(item) ? { ...item } : item
}

/**
 * True when `copy` holds exactly the values `original` holds (the same objects inside). Then the committed
 * original can stand in for it, wherever the copy came from: the contents are the same.
 */
function sameContent(copy: unknown, original: unknown): boolean {
  if (copy === original) return true
  if (!isPlainObject(copy) || !isPlainObject(original)) return false
  // for…in and a count, not Object.keys(): allocating key arrays for every record dominated the cost.
  let count = 0
  for (const key in copy) {
    count += 1
    const value = copy[key]
    if (value !== original[key] || (value === undefined && !(key in original))) return false
  }
  for (const _ in original) count -= 1
  return count === 0
}

/**
 * The draft an update function works on: a new top-level object, new arrays and a copy of every record
 * (and of settings), so assigning a record's fields or replacing records works as before. The objects
 * inside a record (checks, hibernation…) are the committed, frozen ones: replace them, never mutate them.
 */
export function draftOf(base: StoreData): StoreData {
  const draft: Item = {}
  for (const key of Object.keys(base)) {
    const value = (base as unknown as Item)[key]
    if (Array.isArray(value)) draft[key] = value.map(copyItem)
    else draft[key] = isPlainObject(value) ? copyItem(value) : value
  }
  return draft as unknown as StoreData
}

/**
 * Turns a finished draft into the next committed data: unchanged records become their originals again,
 * the rest (and everything outside the collections) is validated against the schema, and ids must stay
 * unique within each collection. `changed` is false when the draft holds exactly what `base` held.
 */
export function settleDraft(base: StoreData, draft: StoreData): Outcome {
  const source = draft as unknown as Item
  const merged: Item = {}
  const subset: Item = {}
  const slots = new Map<string, number[]>()
  let changed = Object.keys(source).join('\n') !== Object.keys(base).join('\n')

  for (const key of Object.keys(source)) {
    const value = source[key]
    const before = (base as unknown as Item)[key]
    if (!Array.isArray(value)) {
      const same = sameContent(value, before)
      merged[key] = same ? before : value
      subset[key] = same ? before : value
      if (!same) changed = true
      continue
    }
    const previous: unknown[] = Array.isArray(before) ? before : []
    let byId: Map<unknown, unknown> | null = null
    const items: unknown[] = new Array<unknown>(value.length)
    const toCheck: unknown[] = []
    const where: number[] = []
    for (let i = 0; i < value.length; i += 1) {
      const item = value[i]
      // Usually at the same position; after an insert or removal, found by id.
      let original = previous[i]
      let same = sameContent(item, original)
      if (!same && isPlainObject(item) && item.id !== undefined) {
        byId ??= new Map(previous.map((p) => [isPlainObject(p) ? p.id : undefined, p]))
        original = byId.get(item.id)
        same = original !== undefined && sameContent(item, original)
      }
      if (same) {
        items[i] = original
      } else {
        toCheck.push(value[i])
        where.push(i)
      }
    }
    if (!Array.isArray(before) || before.length !== items.length || where.length > 0 || items.some((item, i) => item !== previous[i])) changed = true
    merged[key] = items
    subset[key] = toCheck
    slots.set(key, where)
  }
  if (!changed) return { ok: true, data: base, changed: false }

  // Records that did not change were valid when committed; only the changed ones (plus the top level) are checked.
  const checked = validateStoreData(subset)
  if (!checked.ok) {
    // Re-run on the whole draft for a message whose path names the real position.
    const full = validateStoreData(draft)
    return { ok: false, detail: full.ok ? checked.detail : full.detail }
  }
  const out = checked.data as unknown as Item
  // What did not change stays the very object it was (validating made a copy of it).
  for (const key of Object.keys(out)) if (key in merged && !slots.has(key) && merged[key] === (base as unknown as Item)[key]) out[key] = merged[key]
  for (const [key, where] of slots) {
    // A collection the schema does not know is dropped, as validating the whole file would.
    if (!Array.isArray(out[key])) continue
    const items = merged[key] as unknown[]
    const validated = out[key] as unknown[]
    where.forEach((slot, n) => {
      items[slot] = validated[n]
    })
    out[key] = items
    const duplicate = firstDuplicateId(items)
    if (duplicate !== undefined) return { ok: false, detail: `duplicate id ${duplicate}` }
  }
  return { ok: true, data: out as unknown as StoreData, changed: true }
}

function firstDuplicateId(items: unknown[]): string | undefined {
  const seen = new Set<string>()
  for (const item of items) {
    const id = isPlainObject(item) ? item.id : undefined
    if (typeof id !== 'string') continue
    if (seen.has(id)) return id
    seen.add(id)
  }
  return undefined
}

/** Committed (frozen) records' JSON, as UTF-8 bytes the way it appears inside the file. */
const itemBytes = new WeakMap<object, Buffer>()

function bytesOfItem(item: unknown): Buffer {
  const cacheable = typeof item === 'object' && item !== null && Object.isFrozen(item)
  if (cacheable) {
    const hit = itemBytes.get(item)
    if (hit !== undefined) return hit
  }
  const bytes = Buffer.from((JSON.stringify(item, null, 2) ?? 'null').replace(/\n/g, '\n    '), 'utf8')
  if (cacheable) itemBytes.set(item, bytes)
  return bytes
}

const ITEM_SEPARATOR = Buffer.from(',\n    ')
const ARRAY_OPEN = Buffer.from('[\n    ')
const ARRAY_CLOSE = Buffer.from('\n  ]')

/**
 * Exactly the UTF-8 of `JSON.stringify(data, null, 2) + '\n'`, reusing the bytes of records written before:
 * one copy into the result instead of re-serialising, joining and re-encoding a thousand records.
 */
export function serializeStoreBytes(data: StoreData): Buffer {
  const chunks: Buffer[] = []
  for (const key of Object.keys(data)) {
    const value = (data as unknown as Item)[key]
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue
    chunks.push(Buffer.from(`${chunks.length === 0 ? '{\n' : ',\n'}  ${JSON.stringify(key)}: `))
    if (Array.isArray(value) && value.length > 0) {
      chunks.push(ARRAY_OPEN)
      value.forEach((item, i) => {
        if (i > 0) chunks.push(ITEM_SEPARATOR)
        chunks.push(bytesOfItem(item))
      })
      chunks.push(ARRAY_CLOSE)
    } else {
      chunks.push(Buffer.from(JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')))
    }
  }
  chunks.push(Buffer.from(chunks.length === 0 ? '{}\n' : '\n}\n'))
  return Buffer.concat(chunks)
}

/** The same as text. */
export function serializeStore(data: StoreData): string {
  return serializeStoreBytes(data).toString('utf8')
}
