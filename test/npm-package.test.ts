// `npm i -g dictumal-desktop` (or a packed tarball) gives a working `dictumal`: the package lists what
// the CLI needs and nothing else, and on a Node too old for it the command says which version it needs.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'espree'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, ensureCliBuilt } from './cli-helpers'

const run = promisify(execFile)
const BIN = join(REPO_ROOT, 'bin', 'dictumal.js')
const SYSTEM_NODE = '/usr/bin/node'

interface PackEntry {
  files: Array<{ path: string; mode: number }>
}

let scratch = ''
beforeAll(async () => {
  await ensureCliBuilt()
  scratch = await mkdtemp(join(tmpdir(), 'dictumal-pack-'))
}, 180_000)
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

async function outcome(file: string, args: string[], options: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(file, args, { cwd: options.cwd ?? REPO_ROOT }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  )
}

describe('package metadata', () => {
  it('is publishable, maps the dictumal command and asks for Node 22.12', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
    expect(pkg.private).toBeUndefined()
    expect(pkg.bin).toEqual({ dictumal: 'bin/dictumal.js' })
    expect(pkg.engines).toEqual({ node: '>=22.12.0' })
    // Electron stays a dev dependency: installing the CLI never downloads it.
    expect(Object.keys(pkg.dependencies as object)).not.toContain('electron')
  })

  it('packs the launcher and the built CLI, and no sources, tests or tools (npm pack --dry-run)', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 })
    const [entry] = JSON.parse(stdout) as PackEntry[]
    const paths = entry?.files.map((f) => f.path) ?? []
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'bin/dictumal.js', 'bin/package.json', 'bin/start.js', 'out/main/cli.js']))
    const stray = paths.filter((p) => !/^(package\.json|README\.md|LICENSE|bin\/[^/]+\.(js|json)|out\/main\/.+\.js)$/.test(p))
    expect(stray).toEqual([])
    expect(paths.some((p) => p.endsWith('.map'))).toBe(false)
    // npm marks the bin executable itself on install; the packed file is executable already.
    expect((entry?.files.find((f) => f.path === 'bin/dictumal.js')?.mode ?? 0) & 0o111).not.toBe(0)
  })

  it('runs from the packed files alone (tarball unpacked, dependencies beside it)', async () => {
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 })
    const [entry] = JSON.parse(stdout) as Array<{ filename: string }>
    await run('tar', ['-xzf', join(scratch, entry?.filename ?? ''), '-C', scratch])
    await symlink(join(REPO_ROOT, 'node_modules'), join(scratch, 'package', 'node_modules'))
    const result = await outcome(process.execPath, [join(scratch, 'package', 'bin', 'dictumal.js'), '--version'], { cwd: scratch })
    expect(result).toMatchObject({ code: 0, stdout: 'dictumal 0.1.0\n' })
  }, 60_000)
})

describe('bin/dictumal.js on an old Node', () => {
  it('is ES5 script syntax (parses on any Node, old or new)', async () => {
    const source = (await readFile(BIN, 'utf8')).replace(/^#!.*\n/, '')
    expect(() => parse(source, { ecmaVersion: 5, sourceType: 'script' })).not.toThrow()
  })

  it.skipIf(!existsSync(SYSTEM_NODE))("prints one sentence naming Node 22.12 under the machine's own older Node, exit 1", async () => {
    const { stdout: version } = await run(SYSTEM_NODE, ['-p', 'process.versions.node'])
    const [major = 0, minor = 0] = version.trim().split('.').map(Number)
    if (major > 22 || (major === 22 && minor >= 12)) return // this machine's system Node is new enough
    const result = await outcome(SYSTEM_NODE, [BIN, 'list', '--json'])
    expect(result).toEqual({ code: 1, stdout: '', stderr: `dictumal needs Node.js 22.12 or newer, and this is Node.js ${version.trim()}.\n` })
  })

  it.each(['22.11.0', '18.20.4', '8.17.0'])('names the version it needs under a Node that reports %s', async (fake) => {
    const preload = join(scratch, `versions-${fake}.cjs`)
    await writeFile(preload, `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: ${JSON.stringify(fake)} } })\n`)
    const result = await outcome(process.execPath, ['--require', preload, BIN, '--version'])
    expect(result).toEqual({ code: 1, stdout: '', stderr: `dictumal needs Node.js 22.12 or newer, and this is Node.js ${fake}.\n` })
  })

  it('runs the CLI under Node 22.12 or newer', async () => {
    const result = await outcome(process.execPath, [BIN, '--version'])
    expect(result).toMatchObject({ code: 0, stdout: 'dictumal 0.1.0\n' })
  })
})
