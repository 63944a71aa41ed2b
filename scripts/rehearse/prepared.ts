// What phase 1 of the rehearsal (prepare) hands to phase 2 (boot), through DICTUMAL_REHEARSAL_STATE.
import { existsSync, readFileSync } from 'node:fs'

export interface PreparedRun {
  runDir: string
  rootfs: string
  recipeRepo: string
  standinRepo: string
  figures: string[]
}

/** The prepared run, or one sentence saying why there is none. */
export function readPreparedRun(env: NodeJS.ProcessEnv = process.env): PreparedRun | string {
  const file = env.DICTUMAL_REHEARSAL_STATE
  const netns = env.DICTUMAL_REHEARSAL_NETNS
  if (!file || !netns || !existsSync(file) || !existsSync(`/run/netns/${netns}`)) {
    return 'the rehearsal runs through `npm run rehearse` (scripts/rehearse/run.sh), which prepares the image and the network namespaces first.'
  }
  return JSON.parse(readFileSync(file, 'utf8')) as PreparedRun
}
