// Runs the built `dictumal` CLI as a real child process for test/cli.test.ts, keeps a transcript of
// everything it printed (for the secrets grep), and reads the real keychain with secret-tool.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { ReconcileFinding } from '../main/core/engine/engine'
import type { Deployment } from '../preload/contract'

const run = promisify(execFile)

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const CLI_PATH = join(REPO_ROOT, 'out', 'main', 'cli.js')

/** npm test builds before Vitest; a lone `npx vitest run test/cli.test.ts` may not have. */
export async function ensureCliBuilt(): Promise<void> {
  if (existsSync(CLI_PATH)) return
  await run('npx', ['electron-vite', 'build', '--logLevel', 'warn'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 })
  if (!existsSync(CLI_PATH)) throw new Error(`electron-vite build did not produce ${CLI_PATH}`)
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Every byte any CLI process printed during this test file, for the secrets grep. */
export const transcript: string[] = []

export interface CliHandle {
  readonly child: ChildProcessWithoutNullStreams
  /** Complete stdout lines so far. */
  readonly lines: string[]
  /** Resolves with the first stdout line (already seen or still to come) that passes `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs?: number): Promise<string>
  /** Called for every complete stdout line, in order, including those seen before. */
  onLine(listener: (line: string) => void): void
  readonly done: Promise<CliResult>
}

export interface CliOptions {
  env: NodeJS.ProcessEnv
  input?: string
  /** Kill the process (SIGKILL) if it runs longer than this. */
  timeoutMs?: number
}

export function startCli(args: string[], options: CliOptions): CliHandle {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: REPO_ROOT, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let partial = ''
  const lines: string[] = []
  const listeners: Array<(line: string) => void> = []
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk
    partial += chunk
    let nl = partial.indexOf('\n')
    while (nl !== -1) {
      const line = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      lines.push(line)
      for (const listener of listeners) listener(line)
      nl = partial.indexOf('\n')
    }
  })
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk
  })
  child.stdin.on('error', () => undefined)
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      transcript.push(stdout, stderr)
      resolvePromise({ code, signal, stdout, stderr })
    })
  })
  return {
    child,
    lines,
    done,
    onLine(listener) {
      for (const line of lines) listener(line)
      listeners.push(listener)
    },
    waitForLine(test, timeoutMs = 30_000) {
      const seen = lines.find(test)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise<string>((resolveLine, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching CLI line within ${timeoutMs} ms; got:\n${lines.join('\n')}\nstderr:\n${stderr}`)), timeoutMs)
        listeners.push((line) => {
          if (test(line)) {
            clearTimeout(t)
            resolveLine(line)
          }
        })
        void done.then(() => {
          clearTimeout(t)
          reject(new Error(`the CLI exited before printing a matching line; got:\n${lines.join('\n')}\nstderr:\n${stderr}`))
        })
      })
    },
  }
}

export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return startCli(args, options).done
}

/** Parses --json output: one bare deployment record per line. */
export function records(stdout: string): Deployment[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Deployment)
}

/** Parses `reconcile --json` output: one finding per line. */
export function findings(stdout: string): ReconcileFinding[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ReconcileFinding)
}

export const FINDING_FIELDS = ['kind', 'deploymentId', 'dropletId', 'name'] as const

/** The keychain entry as libsecret sees it, or null when there is none. */
export async function secretToolLookup(service: string, account: string): Promise<string | null> {
  try {
    const { stdout } = await run('secret-tool', ['lookup', 'service', service, 'account', account])
    return stdout === '' ? null : stdout
  } catch (error) {
    // secret-tool exits 1 with nothing on stderr when nothing matches; anything else is a real failure.
    const stderr = (error as { stderr?: string }).stderr ?? ''
    if (stderr.trim() === '') return null
    throw new Error(`secret-tool lookup failed: ${stderr.trim()}`, { cause: error })
  }
}

/** Removes every entry this test run left under its private service name. */
export async function secretToolClear(service: string): Promise<void> {
  await run('secret-tool', ['clear', 'service', service]).catch(() => undefined)
}

export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await filesUnder(path)))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

export async function readAllFiles(dir: string): Promise<Array<{ path: string; text: string }>> {
  return Promise.all((await filesUnder(dir)).map(async (path) => ({ path, text: await readFile(path, 'utf8') })))
}

export const SPEC_FIELDS = [
  'id',
  'constitutionId',
  'name',
  'region',
  'size',
  'image',
  'dropletId',
  'ip',
  'status',
  'stage',
  'percent',
  'checks',
  'error',
  'certFingerprint',
  'createdAt',
  'updatedAt',
  'activeAt',
  'destroyedAt',
  // SPEC §10: desktop images and hibernation (snapshotSizeGigabytes and the step in flight come with them).
  'fastStart',
  'snapshotId',
  'snapshotSizeGigabytes',
  'hibernatedAt',
  'hibernation',
  // Issue 13: the name every surface shows (null for an adopted droplet until renamed).
  'displayName',
  // Issue 13: the SSH keys this desktop was deployed with (ids or fingerprints; [] for none), for resume and retry.
  'sshKeys',
] as const
