import { defineConfig } from '@playwright/test'

// End-to-end tests: the real renderer in Chromium over the browser host (e2e/host), plus real
// Electron tests that skip where the Electron binary is missing.
export default defineConfig({
  testDir: 'e2e',
  testMatch: /.*\.spec\.ts/,
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  timeout: 120_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  forbidOnly: !!process.env.CI,
})
