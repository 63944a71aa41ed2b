// Loaded by bin/dictumal.js only on a Node new enough for the CLI: runs the built CLI (an ES module).
'use strict'
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose (bin/package.json) */
const { existsSync } = require('node:fs')
const { join } = require('node:path')
const { pathToFileURL } = require('node:url')

const built = join(__dirname, '..', 'out', 'main', 'cli.js')
if (!existsSync(built)) {
  process.stderr.write('Dictumal is not built yet: run "npm run build" in the project folder first.\n')
  process.exit(1)
}
import(pathToFileURL(built).href).catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
