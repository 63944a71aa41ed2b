import { defineConfig } from 'vitest/config'

// The boot rehearsal (scripts/rehearse/), run by `npm run rehearse` (scripts/rehearse/run.sh) in two
// phases: `prepare` in the host's network namespace, then the boot and its checks, one file whose tests
// run in order against one booted machine. Root and Linux only; see README "The boot rehearsal".
const prepare = process.env.DICTUMAL_REHEARSAL_PHASE === 'prepare'

export default defineConfig({
  test: {
    include: [prepare ? 'scripts/rehearse/prepare.rehearsal.ts' : 'scripts/rehearse/boot.rehearsal.ts'],
    environment: 'node',
    testTimeout: 5 * 60_000,
    hookTimeout: 25 * 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
})
