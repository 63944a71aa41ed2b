#!/usr/bin/env node
// Prints the built renderer's gzip size (every .js and .css in out/renderer/assets) and fails when it
// is over budget, so a UI kit or a stray dependency cannot slip into the page unnoticed.
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'

const BUDGET_KB = Number(process.env.DICTUMAL_RENDERER_BUDGET_KB ?? 250)
const assets = resolve(import.meta.dirname, '../out/renderer/assets')

let files
try {
  files = readdirSync(assets).filter((name) => ['.js', '.css'].includes(extname(name)))
} catch {
  console.error(`No built renderer at ${assets}: run "npm run build" first.`)
  process.exit(1)
}
if (files.length === 0) {
  console.error(`No .js or .css files in ${assets}: run "npm run build" first.`)
  process.exit(1)
}

let total = 0
for (const name of files.sort()) {
  const raw = readFileSync(join(assets, name))
  const gz = gzipSync(raw, { level: 9 }).length
  total += gz
  console.log(`${name.padEnd(32)} ${(raw.length / 1024).toFixed(1).padStart(8)} KB raw ${(gz / 1024).toFixed(1).padStart(7)} KB gzip`)
}
const totalKb = total / 1024
console.log(`renderer total: ${totalKb.toFixed(1)} KB gzip (budget ${BUDGET_KB} KB)`)
if (totalKb > BUDGET_KB) {
  console.error(`The renderer is ${(totalKb - BUDGET_KB).toFixed(1)} KB over its ${BUDGET_KB} KB gzip budget.`)
  process.exit(1)
}
