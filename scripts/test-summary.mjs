// Prints one closing line for the whole run, "N passed, N failed, N skipped", from the Vitest and
// Playwright JSON reports that scripts/test.sh asks for.
import { readFileSync } from 'node:fs'

const [vitestFile, playwrightFile] = process.argv.slice(2)
let passed = 0
let failed = 0
let skipped = 0

const vitest = JSON.parse(readFileSync(vitestFile, 'utf8'))
passed += vitest.numPassedTests
failed += vitest.numFailedTests
skipped += vitest.numPendingTests + vitest.numTodoTests

const playwright = JSON.parse(readFileSync(playwrightFile, 'utf8'))
passed += playwright.stats.expected + playwright.stats.flaky
failed += playwright.stats.unexpected
skipped += playwright.stats.skipped

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed === 0 ? 0 : 1)
