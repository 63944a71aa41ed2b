// Where e2e screenshots go (git-ignored); a few are copied into docs/ for the README by hand.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'

export const ARTIFACTS_DIR = resolve(import.meta.dirname, '../artifacts')

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  return resolve(ARTIFACTS_DIR, name)
}
