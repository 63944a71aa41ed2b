import { mkdtemp, readdir, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { acquireLock, StoreLockTimeoutError } from './file-lock'
import { runNodeScript } from './test-support'

async function lockPath(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'dictumal-lock-')), 'dictumal.json.lock')
}

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const result = await runNodeScript('console.log(process.pid)')
  return Number(result.stdout.trim())
}

describe('acquireLock', () => {
  it('excludes a second holder until the first releases', async () => {
    const file = await lockPath()
    const release = await acquireLock(file)
    const order: string[] = []
    const second = acquireLock(file).then((r) => {
      order.push('second')
      return r
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    order.push('first-release')
    await release()
    await (await second)()
    expect(order).toEqual(['first-release', 'second'])
    expect(await readdir(path.dirname(file))).toEqual([])
  })

  it('gives up with a typed error naming the lock when a live holder never lets go', async () => {
    const file = await lockPath()
    const release = await acquireLock(file)
    const error = await acquireLock(file, { timeoutMs: 100 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreLockTimeoutError)
    expect((error as StoreLockTimeoutError).userMessage).toContain(file)
    await release()
  })

  it('breaks the lock of a process that died holding it', async () => {
    const file = await lockPath()
    await writeFile(file, JSON.stringify({ pid: await deadPid(), host: hostname(), nonce: 'gone' }))
    const started = Date.now()
    const release = await acquireLock(file, { timeoutMs: 2000 })
    expect(Date.now() - started).toBeLessThan(1000)
    await release()
  })

  it('breaks a lock older than the stale limit even if its owner looks alive', async () => {
    const file = await lockPath()
    await writeFile(file, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'old' }))
    const old = new Date(Date.now() - 60_000)
    await utimes(file, old, old)
    const release = await acquireLock(file, { timeoutMs: 2000 })
    // The new lock is ours: fresh mtime.
    expect(Date.now() - (await stat(file)).mtimeMs).toBeLessThan(5000)
    await release()
    expect(await readdir(path.dirname(file))).toEqual([])
  })

  it('release does not remove a lock that another holder took over', async () => {
    const file = await lockPath()
    const release = await acquireLock(file)
    await writeFile(file, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'someone-else' }))
    await release()
    expect(await readdir(path.dirname(file))).toEqual(['dictumal.json.lock'])
  })
})
