import { defineConfig } from 'vitest/config'

// `npm run rehearse`: the boot rehearsal (scripts/rehearse/), one file whose tests run in order
// against one booted machine. Root and Linux only; see README "The boot rehearsal".
export default defineConfig({
  test: {
    include: ['scripts/rehearse/**/*.rehearsal.ts'],
    environment: 'node',
    testTimeout: 5 * 60_000,
    hookTimeout: 25 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    sequence: { concurrent: false },
    bail: 0,
  },
})
