// Test helper: tells whether a real Secret Service (or the macOS/Windows keychain) is usable here,
// and whether keyring tests should run, be skipped with a reason, or fail (in CI they must run).
import { randomBytes } from 'node:crypto'
import { KeytarSecrets } from '../main/core/secrets'

export type KeyringStatus = { usable: true } | { usable: false; reason: string }

export const LOCAL_KEYRING_RECIPE =
  "dbus-run-session -- bash -c 'printf %s pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; npx vitest run main/core/secrets.test.ts'"

/** A service name no other run uses, so parallel or aborted runs never collide. */
export function uniqueTestService(): string {
  return `Dictumal-test-${process.pid}-${randomBytes(4).toString('hex')}`
}

export async function probeKeyring(env: NodeJS.ProcessEnv = process.env): Promise<KeyringStatus> {
  if (process.platform === 'linux' && (env.DBUS_SESSION_BUS_ADDRESS ?? '') === '') {
    return { usable: false, reason: `no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset); run: ${LOCAL_KEYRING_RECIPE}` }
  }
  const checked = await new KeytarSecrets({ service: uniqueTestService() }).check()
  return checked.ok ? { usable: true } : { usable: false, reason: `${checked.error.message} To run locally: ${LOCAL_KEYRING_RECIPE}` }
}

/** In CI a missing keyring is a failure, not a skip: otherwise the suite would pass without testing it. */
export function keyringTestMode(status: KeyringStatus, env: NodeJS.ProcessEnv = process.env): 'run' | 'skip' | 'fail' {
  if (status.usable) return 'run'
  return (env.CI ?? '') !== '' && env.CI !== 'false' ? 'fail' : 'skip'
}
