#!/usr/bin/env node
// `npm run bench`: bundles scripts/bench/run.ts (TypeScript, relative imports) with rolldown into a
// temporary module beside node_modules, so packages resolve as usual, then runs it. Prints figures only.
import { mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'rolldown'

const root = resolve(import.meta.dirname, '..')
const outDir = join(root, 'node_modules', '.cache', 'dictumal-bench', String(process.pid))
await mkdir(outDir, { recursive: true })
try {
  await build({
    // The fake cloud's child process (test/fakes/farm-process.ts) is a second entry, beside the benchmark.
    input: { bench: join(root, 'scripts', 'bench', 'run.ts'), 'farm-process': join(root, 'test', 'fakes', 'farm-process.ts') },
    platform: 'node',
    // Packages stay external (native keytar, undici…); only the project's own TypeScript is bundled.
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    logLevel: 'warn',
    output: { dir: outDir, format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
  })
  await import(pathToFileURL(join(outDir, 'bench.mjs')).href)
} catch (error) {
  console.error(`The benchmark could not run: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  await rm(outDir, { recursive: true, force: true })
}
