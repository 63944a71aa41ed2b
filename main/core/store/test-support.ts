// Test support (not used by the app): runs an ES module snippet in a real `node` child that can import
// this repo's TypeScript, using Node 24's type stripping plus a hook for extensionless relative imports.
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/** `file:` URL of a repo file, for `import()` inside a child script. */
export function repoUrl(relative: string): string {
  return pathToFileURL(path.join(REPO_ROOT, relative)).href
}

const HOOKS = `
import { registerHooks } from 'node:module'
registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context)
    } catch (error) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../')
      if (relative && !/\\.[cm]?[jt]s$/.test(specifier)) return next(specifier + '.ts', context)
      throw error
    }
  },
})
`

let hooksFile: Promise<string> | null = null

async function hooksPath(): Promise<string> {
  hooksFile ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dictumal-child-'))
    const file = path.join(dir, 'hooks.mjs')
    await writeFile(file, HOOKS)
    return file
  })()
  return hooksFile
}

export interface ChildResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Writes `source` to a temp .mjs and runs it with real node; resolves when it exits. */
export async function runNodeScript(source: string, options: { env?: NodeJS.ProcessEnv; args?: string[] } = {}): Promise<ChildResult> {
  const hooks = await hooksPath()
  const script = path.join(path.dirname(hooks), `script-${process.pid}-${Math.random().toString(16).slice(2)}.mjs`)
  await writeFile(script, source)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', '--import', pathToFileURL(hooks).href, script, ...(options.args ?? [])], {
      cwd: REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
