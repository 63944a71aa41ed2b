// Many small changes, one locked write (issue 15): the engine's progress changes of one turn of the event
// loop (and any made while a write is under way) go to the store as a single update, applied in order.
// Each caller still learns when its own change is on disk, or why it was refused.
import type { StoreData } from './schema'

export interface UpdatePort {
  update<T>(fn: (draft: StoreData) => T): Promise<T>
}

interface Job {
  fn: (draft: StoreData) => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/** A job's function threw (or was async): the batch is written without it, each job on its own. */
class JobFailed extends Error {}

export class WriteCoalescer implements UpdatePort {
  readonly #store: UpdatePort
  #pending: Job[] = []
  #queued = false
  #tail: Promise<void> = Promise.resolve()

  constructor(store: UpdatePort) {
    this.#store = store
  }

  /**
   * Like store.update(), but joined with the other updates of this turn into one write. `fn` must be a pure
   * function of the draft: if another change in the batch fails, it runs again in a write of its own.
   */
  update<T>(fn: (draft: StoreData) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve: resolve as (value: unknown) => void, reject })
      if (this.#queued) return
      this.#queued = true
      // setImmediate: whatever else this turn changes (promises settling now) joins the same write.
      setImmediate(() => {
        this.#queued = false
        this.#tail = this.#tail.then(() => this.#flush())
      })
    })
  }

  /** Resolves once every change handed in so far is written (or refused). */
  async settled(): Promise<void> {
    while (this.#pending.length > 0 || this.#queued) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      await this.#tail
    }
    await this.#tail
  }

  async #flush(): Promise<void> {
    const jobs = this.#pending.splice(0)
    if (jobs.length === 0) return
    if (jobs.length === 1) {
      const [only] = jobs as [Job]
      await this.#store.update(only.fn).then(only.resolve, only.reject)
      return
    }
    let results: unknown[]
    try {
      results = await this.#store.update((draft) =>
        jobs.map((job) => {
          let result: unknown
          try {
            result = job.fn(draft)
          } catch {
            throw new JobFailed()
          }
          if (result instanceof Promise) throw new JobFailed()
          return result
        }),
      )
    } catch (error) {
      if (!(error instanceof JobFailed) && !isValidationError(error)) {
        // The write itself failed (lock, disk): every change in it failed the same way.
        for (const job of jobs) job.reject(error)
        return
      }
      // One change is bad: nothing of the batch was written; each goes alone so only the bad one fails.
      for (const job of jobs) await this.#store.update(job.fn).then(job.resolve, job.reject)
      return
    }
    jobs.forEach((job, i) => job.resolve(results[i]))
  }
}

function isValidationError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'store-invalid-update'
}
