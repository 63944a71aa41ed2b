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

/** A deployment record as data files held it before hibernation, images and the SSH key choice. */
export const OLD_DEPLOYMENT_RECORD = {
  id: '3f1c2a9e-1111-4222-8333-444455556666',
  constitutionId: 'c1',
  name: 'dictumal-old-3f1c2a9e',
  region: 'nyc3',
  size: 's-2vcpu-4gb',
  image: 'ubuntu-24-04-x64',
  dropletId: 501,
  ip: '203.0.113.9',
  status: 'ACTIVE',
  stage: 'active',
  percent: 100,
  checks: { vnc5901: true, http80: true, guacHttp8080: true, guacHttps443: true },
  error: null,
  certFingerprint: 'sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  activeAt: '2026-01-01T00:05:00.000Z',
  destroyedAt: null,
}
