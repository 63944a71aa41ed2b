// Test helper for the real CLIs (openssl, shellcheck, nginx, cloud-init): a missing tool fails the
// test when CI is set and skips it with a clear message otherwise.
import { spawnSync } from 'node:child_process'

const found = new Map<string, boolean>()

export function hasTool(name: string): boolean {
  let ok = found.get(name)
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' }).status === 0
    found.set(name, ok)
  }
  return ok
}

/** Call at the top of a test body that needs `name`; fails under CI, skips (via ctx.skip) otherwise. */
export function requireTool(name: string, skip?: (note: string) => void): void {
  if (hasTool(name)) return
  const note = `${name} is not installed: install it (apt-get install ${name}) to run this test`
  if (process.env.CI || !skip) throw new Error(note)
  skip(note)
}
