#!/usr/bin/env node
// Runs the built CLI (npm run build makes out/main/cli.js).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const built = new URL('../out/main/cli.js', import.meta.url)
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write('Dictumal is not built yet: run "npm run build" in the project folder first.\n')
  process.exit(1)
}
await import(built.href)
