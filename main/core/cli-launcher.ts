// "Install command-line tool": a small `dictumal` launcher on the PATH that runs the installed app's
// own CLI. The packaged app's fuses turn ELECTRON_RUN_AS_NODE off (electron-builder.yml), so the
// launcher starts the app binary with CLI_SWITCH instead: the main entry sees it before anything else
// and runs the same `runCli` the npm-installed `dictumal` runs, with no window, tray or single-instance
// lock. Everything after the switch's `--` is the CLI's (Chromium stops reading switches at `--`).
// Plain Node: the Electron menu item only calls installLauncher and shows its sentence.
import { constants } from 'node:fs'
import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { AppError } from './user-error'

/** The switch the launcher passes: the main entry runs the CLI on the arguments after it. */
export const CLI_SWITCH = '--dictumal-cli'
/** Written into every launcher: a file without it is not ours and is never replaced. */
export const LAUNCHER_MARK = 'Installed by Dictumal (Install command-line tool)'

/** The CLI's arguments when the app was started by a launcher, else null (a normal app start). */
export function cliModeArgs(argv: readonly string[]): string[] | null {
  const at = argv.indexOf(CLI_SWITCH)
  if (at === -1) return null
  const rest = argv.slice(at + 1)
  return rest[0] === '--' ? rest.slice(1) : rest
}

export interface AppLocation {
  platform: NodeJS.Platform
  /** process.execPath of the running app. */
  execPath: string
  env: Readonly<Record<string, string | undefined>>
  /** False under `electron .` in a checkout: the launcher then passes the app folder too. */
  isPackaged: boolean
  /** app.getAppPath(): only used when not packaged. */
  appPath: string
}

/** The command a launcher runs: the executable and the arguments it always passes first. */
export interface LaunchCommand {
  executable: string
  args: string[]
}

export function launchCommand(app: AppLocation): LaunchCommand {
  // An AppImage runs from a temporary mount: the launcher must start the AppImage file itself.
  const appImage = app.platform === 'linux' ? app.env.APPIMAGE : undefined
  const executable = appImage !== undefined && appImage !== '' ? appImage : app.execPath
  const args = app.isPackaged ? [] : [app.appPath]
  // Linux: Chromium's headless Ozone platform, so the CLI also runs over SSH with no display (without
  // it the X11 platform aborts start-up before the CLI answers). Switches must come before `--`.
  if (app.platform === 'linux') args.push('--ozone-platform=headless', '--disable-gpu')
  args.push(CLI_SWITCH, '--')
  return { executable, args }
}

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

function cmdQuote(value: string): string {
  // cmd.exe: a path cannot contain `"`; `%` would expand as a variable inside a batch file.
  if (value.includes('"')) throw new AppError('cli-install', `The app's path contains a double quote, which a Windows launcher cannot hold: ${value}`)
  return `"${value.replaceAll('%', '%%')}"`
}

export interface Launcher {
  fileName: string
  content: string
}

/** The launcher's text for the platform: a POSIX sh script, or a .cmd batch file on Windows. */
export function launcherScript(platform: NodeJS.Platform, command: LaunchCommand): Launcher {
  if (platform === 'win32') {
    const line = [command.executable, ...command.args].map(cmdQuote).join(' ')
    // A batch file waits for the app (a GUI binary) to exit; Electron attaches to the calling console.
    return { fileName: 'dictumal.cmd', content: `@echo off\r\nrem ${LAUNCHER_MARK}\r\n${line} %*\r\nexit /b %ERRORLEVEL%\r\n` }
  }
  const line = [command.executable, ...command.args].map(shQuote).join(' ')
  return { fileName: 'dictumal', content: `#!/bin/sh\n# ${LAUNCHER_MARK}\nexec ${line} "$@"\n` }
}

export interface PlaceInput {
  platform: NodeJS.Platform
  env: Readonly<Record<string, string | undefined>>
  homedir: string
}

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix
}

/** Folders on PATH, normalised for comparison (case-insensitive on Windows). */
function pathEntries(input: PlaceInput): string[] {
  const p = pathApi(input.platform)
  const raw = input.env.PATH ?? input.env.Path ?? ''
  const entries = raw.split(input.platform === 'win32' ? ';' : ':').filter((e) => e.trim() !== '')
  return entries.map((e) => normalise(input.platform, p.resolve(e)))
}

function normalise(platform: NodeJS.Platform, dir: string): string {
  const p = pathApi(platform)
  const resolved = p.resolve(dir)
  return platform === 'win32' ? resolved.toLowerCase() : resolved
}

/** Where a launcher may go, in order of preference; the first one on PATH that can be written wins. */
export function launcherFolders(input: PlaceInput): string[] {
  const p = pathApi(input.platform)
  if (input.platform === 'win32') {
    const local = input.env.LOCALAPPDATA ?? p.join(input.homedir, 'AppData', 'Local')
    // WindowsApps is on every user's PATH from Windows 10 on; the fallback needs a PATH entry.
    return [p.join(local, 'Microsoft', 'WindowsApps'), p.join(local, 'Programs', 'Dictumal', 'bin')]
  }
  const home = [p.join(input.homedir, '.local', 'bin'), p.join(input.homedir, 'bin')]
  return input.platform === 'darwin' ? ['/usr/local/bin', '/opt/homebrew/bin', ...home] : home
}

export interface InstallResult {
  /** The launcher's full path. */
  file: string
  /** Whether its folder is on PATH now (if not, the sentence says what to add). */
  onPath: boolean
  /** One or two sentences for the user. */
  message: string
}

export interface InstallDeps {
  /** Whether the folder exists (or can be created) and is writable; tests pass their own. */
  writable?: (dir: string) => Promise<boolean>
}

async function canWrite(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    // ENOTDIR: a file stands where a folder on the way should be; writing will say so.
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return null
    throw error
  }
}

/** Picks the folder: on PATH and writable first, else the first home folder (created if missing). */
export async function chooseFolder(input: PlaceInput, deps: InstallDeps = {}): Promise<{ dir: string; onPath: boolean }> {
  const writable = deps.writable ?? canWrite
  const onPath = new Set(pathEntries(input))
  const folders = launcherFolders(input)
  for (const dir of folders) {
    if (onPath.has(normalise(input.platform, dir)) && (await writable(dir))) return { dir, onPath: true }
  }
  const fallback = input.platform === 'darwin' ? folders[2] : input.platform === 'win32' ? folders[1] : folders[0]
  return { dir: fallback ?? folders[0] ?? input.homedir, onPath: false }
}

export async function installLauncher(app: AppLocation, place: PlaceInput, deps: InstallDeps = {}): Promise<InstallResult> {
  const launcher = launcherScript(app.platform, launchCommand(app))
  const { dir, onPath } = await chooseFolder(place, deps)
  const file = pathApi(place.platform).join(dir, launcher.fileName)
  const existing = await readIfExists(file)
  if (existing !== null && !existing.includes(LAUNCHER_MARK)) {
    throw new AppError('cli-install', `${file} already exists and was not installed by Dictumal (perhaps \`npm i -g\`): remove it first, or keep using it.`)
  }
  try {
    await mkdir(dir, { recursive: true })
    // Written beside the target and renamed over it: a half-written launcher never runs.
    const temp = `${file}.${process.pid}.tmp`
    await writeFile(temp, launcher.content, { mode: 0o755 })
    if (place.platform !== 'win32') await chmod(temp, 0o755)
    await rename(temp, file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new AppError('cli-install', `Dictumal could not write ${file} (${code}): check that you may write to ${dir}.`)
  }
  const message = onPath
    ? `Installed ${file}: open a new terminal and run "dictumal help".`
    : place.platform === 'win32'
      ? `Installed ${file}, but ${dir} is not on your PATH: add it in Settings › System › About › Advanced system settings › Environment Variables, then open a new terminal and run "dictumal help".`
      : `Installed ${file}, but ${dir} is not on your PATH: add  export PATH="${dir}:$PATH"  to your shell's profile, then open a new terminal and run "dictumal help".`
  return { file, onPath, message }
}
