// Prints one closing line for the whole run, "N passed, N failed, N skipped", from the Vitest and
// Playwright JSON reports that scripts/test.sh asks for.
import { existsSync, readFileSync } from 'node:fs'

const [vitestFile, playwrightFile, rehearsalFile] = process.argv.slice(2)
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

// The boot rehearsal (a Vitest report too), when scripts/test.sh ran it.
if (rehearsalFile !== undefined) {
  if (existsSync(rehearsalFile)) {
    const rehearsal = JSON.parse(readFileSync(rehearsalFile, 'utf8'))
    passed += rehearsal.numPassedTests
    failed += rehearsal.numFailedTests + (rehearsal.numFailedTests === 0 ? rehearsal.numFailedTestSuites : 0)
    skipped += rehearsal.numPendingTests + rehearsal.numTodoTests
  } else {
    console.log('The boot rehearsal wrote no report, so it counts as one failure.')
    failed += 1
  }
}

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed === 0 ? 0 : 1)
