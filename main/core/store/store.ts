// The app's and the CLI's one JSON store (lowdb over dictumal.json). Every update is a locked
// read-modify-write against the file on disk, so two processes never lose each other's writes.
import { watch, type FSWatcher } from 'node:fs'
import { rename, stat } from 'node:fs/promises'
import path from 'node:path'
import { Low, type Adapter } from 'lowdb'
import { ensureDataDir } from '../data-dir'
import { readBytesOrNull, readTextOrNull, writeFileAtomic } from './atomic-file'
import { acquireLock, type LockOptions } from './file-lock'
import { draftOf, serializeStoreBytes, settleDraft } from './incremental'
import { emptyStoreData, parseStoreText, type ParseOutcome, type StoreData } from './schema'

export const STORE_FILE_NAME = 'dictumal.json'

type CorruptReason = Exclude<ParseOutcome, { ok: true }>['reason']

/** The data file could not be used; it was moved aside (never deleted) and the user must be told. */
export class StoreCorruptError extends Error {
  readonly code = 'store-corrupt'
  readonly userMessage: string
  readonly keptAsidePath: string
  readonly reason: CorruptReason
  constructor(keptAsidePath: string, reason: CorruptReason, detail: string) {
    super(`Unusable data file (${reason}: ${detail}); kept aside at ${keptAsidePath}`)
    this.name = 'StoreCorruptError'
    this.keptAsidePath = keptAsidePath
    this.reason = reason
    const why =
      reason === 'future-version'
        ? 'was written by a newer version of Dictumal'
        : reason === 'bad-json'
          ? 'is not valid JSON'
          : 'does not have the expected shape'
    this.userMessage = `Dictumal's data file ${why}, so it was kept aside at ${keptAsidePath} and Dictumal continues without it.`
  }
}

/** An update produced data that does not fit the schema; nothing was written. */
export class StoreValidationError extends Error {
  readonly code = 'store-invalid-update'
  constructor(detail: string) {
    super(`Refused to write invalid data: ${detail}`)
    this.name = 'StoreValidationError'
  }
}

export interface StoreOptions {
  /** Fallback poll for changes fs.watch misses (network shares, some editors). */
  pollMs?: number
  /** Quiet time before a detected change is re-read, so a burst of events causes one reload. */
  debounceMs?: number
  /** Turn off watching and polling, e.g. for a one-shot CLI command. */
  watch?: boolean
  /** Set false to rely on the poll alone (tests prove the fallback works by itself). */
  fsWatch?: boolean
  lock?: LockOptions
  now?: () => Date
}

export type ChangeListener = (data: StoreData) => void
export type CorruptListener = (error: StoreCorruptError) => void

export interface Store {
  readonly dataDir: string
  readonly filePath: string
  /** Set when opening found an unusable file: show `recovered.userMessage` once. */
  readonly recovered: StoreCorruptError | null
  /** The latest known data, deep-frozen: copy what you want to change and go through update(). */
  read(): StoreData
  /**
   * Locked read-modify-write. `fn` runs on a fresh copy of the file (new arrays, records and the objects
   * directly inside them; deeper objects are frozen: replace them) and must be synchronous.
   */
  update<T>(fn: (draft: StoreData) => T): Promise<T>
  /** Fired after own writes and after another process changed the file. */
  onChange(listener: ChangeListener): () => void
  /** Fired when a running store finds the file corrupted by someone else (it is kept aside). */
  onCorrupt(listener: CorruptListener): () => void
  close(): Promise<void>
}

class UnreadableFile extends Error {
  readonly outcome: Exclude<ParseOutcome, { ok: true }>
  constructor(outcome: Exclude<ParseOutcome, { ok: true }>) {
    super(outcome.detail)
    this.outcome = outcome
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === b || (a !== null && b !== null && a.equals(b))
}

/**
 * lowdb adapter that parses strictly and remembers the raw bytes, to tell another process's write from ours.
 * A file still holding exactly what was last read or written is not parsed and validated again.
 */
class StoreFile implements Adapter<StoreData> {
  readonly file: string
  lastBytes: Buffer | null = null
  #lastData: StoreData | null = null
  constructor(file: string) {
    this.file = file
  }
  forget(): void {
    this.lastBytes = null
    this.#lastData = null
  }
  async read(): Promise<StoreData | null> {
    const bytes = await readBytesOrNull(this.file)
    if (bytes === null) {
      this.forget()
      return null
    }
    if (this.#lastData !== null && sameBytes(bytes, this.lastBytes)) return this.#lastData
    const outcome = parseStoreText(bytes.toString('utf8'))
    if (!outcome.ok) throw new UnreadableFile(outcome)
    this.lastBytes = bytes
    this.#lastData = deepFreeze(outcome.data)
    return this.#lastData
  }
  async write(data: StoreData): Promise<void> {
    if (data === this.#lastData) return
    const bytes = serializeStoreBytes(data)
    if (!sameBytes(bytes, this.lastBytes)) {
      await writeFileAtomic(this.file, bytes)
      this.lastBytes = bytes
    }
    this.#lastData = deepFreeze(data)
  }
}

class FileStore implements Store {
  readonly dataDir: string
  readonly filePath: string
  recovered: StoreCorruptError | null = null
  readonly #file: StoreFile
  readonly #db: Low<StoreData>
  readonly #lockPath: string
  readonly #options: StoreOptions
  readonly #changeListeners = new Set<ChangeListener>()
  readonly #corruptListeners = new Set<CorruptListener>()
  #current: StoreData = deepFreeze(emptyStoreData())
  #queue: Promise<unknown> = Promise.resolve()
  #watcher: FSWatcher | null = null
  #poll: NodeJS.Timeout | null = null
  #debounce: NodeJS.Timeout | null = null
  #signature = ''
  #closed = false

  constructor(dataDir: string, options: StoreOptions) {
    this.dataDir = dataDir
    this.filePath = path.join(dataDir, STORE_FILE_NAME)
    this.#lockPath = `${this.filePath}.lock`
    this.#options = options
    this.#file = new StoreFile(this.filePath)
    this.#db = new Low<StoreData>(this.#file, emptyStoreData())
  }

  async open(): Promise<void> {
    await this.#locked(async () => {
      const result = await this.#readUnderLock(null)
      if (result instanceof StoreCorruptError) this.recovered = result
      this.#current = deepFreeze(this.#db.data)
    })
    this.#signature = await this.#statSignature()
    if (this.#options.watch !== false) this.#startWatching()
  }

  read(): StoreData {
    return this.#current
  }

  update<T>(fn: (draft: StoreData) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('The store is closed'))
    return this.#enqueue(() =>
      this.#locked(async () => {
        const before = this.#file.lastBytes
        const corrupt = await this.#readUnderLock(this.#current)
        // Shallow copies in, only changed records validated and re-serialised: the cost stays flat as records accumulate.
        const base = this.#db.data
        const draft = draftOf(base)
        const result = fn(draft)
        if (result instanceof Promise) throw new TypeError('Store.update() needs a synchronous function')
        const checked = settleDraft(base, draft)
        if (!checked.ok) throw new StoreValidationError(checked.detail)
        this.#db.data = checked.data
        await this.#db.write()
        this.#setCurrent(before)
        if (corrupt instanceof StoreCorruptError) this.#emitCorrupt(corrupt)
        return result
      }),
    )
  }

  onChange(listener: ChangeListener): () => void {
    this.#changeListeners.add(listener)
    return () => this.#changeListeners.delete(listener)
  }

  onCorrupt(listener: CorruptListener): () => void {
    this.#corruptListeners.add(listener)
    return () => this.#corruptListeners.delete(listener)
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#watcher?.close()
    this.#watcher = null
    if (this.#poll !== null) clearInterval(this.#poll)
    if (this.#debounce !== null) clearTimeout(this.#debounce)
    this.#poll = this.#debounce = null
    this.#changeListeners.clear()
    this.#corruptListeners.clear()
    await this.#queue.catch(() => undefined)
  }

  /** One task at a time inside this process: reloads and updates must not interleave. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task)
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #locked<T>(task: () => Promise<T>): Promise<T> {
    const release = await acquireLock(this.#lockPath, this.#options.lock)
    try {
      return await task()
    } finally {
      await release()
    }
  }

  /**
   * Loads the file into the lowdb instance. An unusable file is moved aside; a running store then writes
   * its last good data back at once, so another process never reads "no file" and starts from empty.
   */
  async #readUnderLock(lastGood: StoreData | null): Promise<StoreCorruptError | null> {
    try {
      await this.#db.read()
      // A missing file keeps what lowdb held, which is the right base for recreating it.
      return null
    } catch (error) {
      if (!(error instanceof UnreadableFile)) throw error
      const aside = await this.#moveAside(error.outcome)
      this.#file.forget()
      this.#db.data = lastGood === null ? emptyStoreData() : lastGood
      if (lastGood !== null) await this.#db.write()
      return aside
    }
  }

  async #moveAside(outcome: Exclude<ParseOutcome, { ok: true }>): Promise<StoreCorruptError> {
    const stamp = (this.#options.now?.() ?? new Date()).toISOString().replace(/:/g, '-')
    let target = `${this.filePath}.corrupt-${stamp}`
    for (let n = 2; (await readTextOrNull(target)) !== null; n += 1) target = `${this.filePath}.corrupt-${stamp}-${n}`
    await rename(this.filePath, target)
    return new StoreCorruptError(target, outcome.reason, outcome.detail)
  }

  #setCurrent(previousBytes: Buffer | null): void {
    // Committed data is frozen and never mutated (updates work on draftOf copies), so it is handed out as is.
    this.#current = deepFreeze(this.#db.data)
    if (!sameBytes(this.#file.lastBytes, previousBytes)) this.#emitChange()
  }

  #emitChange(): void {
    const snapshot = this.#current
    for (const listener of [...this.#changeListeners]) {
      try {
        listener(snapshot)
      } catch (error) {
        // A failing listener must not stop the others nor the write that already happened.
        console.error('Store change listener failed:', error)
      }
    }
  }

  #emitCorrupt(error: StoreCorruptError): void {
    for (const listener of [...this.#corruptListeners]) {
      try {
        listener(error)
      } catch (failure) {
        console.error('Store corrupt listener failed:', failure)
      }
    }
  }

  #startWatching(): void {
    const name = path.basename(this.filePath)
    if (this.#options.fsWatch !== false) this.#startFsWatch(name)
    this.#poll = setInterval(() => {
      void this.#statSignature().then((signature) => {
        if (signature !== this.#signature) this.#schedule()
      })
    }, this.#options.pollMs ?? 500)
    this.#poll.unref()
  }

  #startFsWatch(name: string): void {
    try {
      this.#watcher = watch(this.dataDir, { persistent: false }, (_event, filename) => {
        if (filename === null || filename === name) this.#schedule()
      })
      this.#watcher.on('error', () => {
        // Watching can stop (folder removed, inotify limits); the poll still notices changes.
        this.#watcher?.close()
        this.#watcher = null
      })
    } catch {
      this.#watcher = null
    }
  }

  #schedule(): void {
    if (this.#closed) return
    if (this.#debounce !== null) clearTimeout(this.#debounce)
    this.#debounce = setTimeout(() => {
      this.#debounce = null
      void this.#enqueue(() => this.#refresh()).catch((error: unknown) => {
        console.error('Store reload failed:', error)
      })
    }, this.#options.debounceMs ?? 30)
    this.#debounce.unref()
  }

  async #statSignature(): Promise<string> {
    try {
      const info = await stat(this.filePath)
      return `${info.ino}:${info.size}:${info.mtimeMs}`
    } catch {
      return 'missing'
    }
  }

  /** Picks up another process's write without the lock; atomic renames mean the text is whole. */
  async #refresh(): Promise<void> {
    if (this.#closed) return
    this.#signature = await this.#statSignature()
    const bytes = await readBytesOrNull(this.filePath)
    if (sameBytes(bytes, this.#file.lastBytes)) return
    const before = this.#file.lastBytes
    if (bytes !== null && !parseStoreText(bytes.toString('utf8')).ok) {
      // Only move it aside under the lock: a writer may be replacing it right now.
      const corrupt = await this.#locked(async () => {
        const found = await this.#readUnderLock(this.#current)
        this.#setCurrent(before)
        return found
      })
      if (corrupt !== null) this.#emitCorrupt(corrupt)
      this.#signature = await this.#statSignature()
      return
    }
    if (bytes === null) {
      // Deleted from outside: keep serving the last data; the next update writes it back.
      return
    }
    await this.#db.read().catch(() => undefined)
    this.#setCurrent(before)
  }
}

/** Opens (creating if needed) the store in `dataDir`. Check `store.recovered` for a kept-aside file. */
export async function openStore(dataDir: string, options: StoreOptions = {}): Promise<Store> {
  await ensureDataDir(dataDir)
  const store = new FileStore(dataDir, options)
  await store.open()
  return store
}
