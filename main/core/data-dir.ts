// Where the app and the CLI keep their data: DICTUMAL_DATA_DIR, else the folder Electron would pick as
// userData for the app name `Dictumal`, so the CLI (which has no Electron) lands in the same place.
import { mkdir } from 'node:fs/promises'
import path from 'node:path'

export const APP_DIR_NAME = 'Dictumal'

export interface DataDirInput {
  env: Readonly<Record<string, string | undefined>>
  platform: NodeJS.Platform
  homedir: string
  /** Electron's `app.getPath('appData')` when running inside the app; wins over the OS rules below. */
  appDataDir?: string
  /** Base for a relative DICTUMAL_DATA_DIR; without it a relative value is returned as given. */
  cwd?: string
}

function nonBlank(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined
}

/** Pure: the same answer on every OS for the same input, so the table test covers all three. */
export function resolveDataDir(input: DataDirInput): string {
  // Path flavour follows the target platform, not the machine running the code.
  const p = input.platform === 'win32' ? path.win32 : path.posix
  const override = nonBlank(input.env.DICTUMAL_DATA_DIR)
  if (override !== undefined) {
    return input.cwd !== undefined && !p.isAbsolute(override) ? p.resolve(input.cwd, override) : override
  }
  if (input.appDataDir !== undefined) return p.join(input.appDataDir, APP_DIR_NAME)
  switch (input.platform) {
    case 'darwin':
      return p.join(input.homedir, 'Library', 'Application Support', APP_DIR_NAME)
    case 'win32':
      return p.join(nonBlank(input.env.APPDATA) ?? p.join(input.homedir, 'AppData', 'Roaming'), APP_DIR_NAME)
    default: {
      // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored (Chromium does too).
      const xdg = nonBlank(input.env.XDG_CONFIG_HOME)
      const base = xdg !== undefined && p.isAbsolute(xdg) ? xdg : p.join(input.homedir, '.config')
      return p.join(base, APP_DIR_NAME)
    }
  }
}

/**
 * Creates the data dir owner-only (0700). An existing folder is left as it is: DICTUMAL_DATA_DIR may
 * point at a folder the user manages, and the store's file is 0600 either way.
 */
export async function ensureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
}
