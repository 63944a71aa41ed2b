import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { CLI_SWITCH, LAUNCHER_MARK, chooseFolder, cliModeArgs, installLauncher, launchCommand, launcherScript, type AppLocation } from './cli-launcher'

const run = promisify(execFile)
const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dictumal launcher '))
  dirs.push(dir)
  return dir
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const linuxApp = (execPath: string, env: Record<string, string> = {}): AppLocation => ({ platform: 'linux', execPath, env, isPackaged: true, appPath: '/ignored' })

describe('cliModeArgs', () => {
  it('is null for a normal app start and the CLI arguments after the switch otherwise', () => {
    expect(cliModeArgs(['/opt/Dictumal/dictumal'])).toBeNull()
    expect(cliModeArgs(['/opt/Dictumal/dictumal', '--ozone-platform=headless', CLI_SWITCH, '--', 'list', '--json'])).toEqual(['list', '--json'])
    expect(cliModeArgs(['electron', '/src/app', CLI_SWITCH, '--', '--', 'x'])).toEqual(['--', 'x'])
    expect(cliModeArgs(['app', CLI_SWITCH])).toEqual([])
  })
})

describe('launchCommand', () => {
  it('runs the AppImage file (not its temporary mount) and adds the headless switches on Linux only', () => {
    expect(launchCommand(linuxApp('/tmp/.mount_x/dictumal', { APPIMAGE: '/home/a/Dictumal.AppImage' }))).toEqual({
      executable: '/home/a/Dictumal.AppImage',
      args: ['--ozone-platform=headless', '--disable-gpu', CLI_SWITCH, '--'],
    })
    expect(launchCommand({ platform: 'darwin', execPath: '/Applications/Dictumal.app/Contents/MacOS/Dictumal', env: { APPIMAGE: '/x' }, isPackaged: true, appPath: '' })).toEqual({
      executable: '/Applications/Dictumal.app/Contents/MacOS/Dictumal',
      args: [CLI_SWITCH, '--'],
    })
  })

  it('passes the app folder when the app runs unpackaged from a checkout', () => {
    expect(launchCommand({ platform: 'win32', execPath: 'C:\\e\\electron.exe', env: {}, isPackaged: false, appPath: 'C:\\src\\dictumal' }).args).toEqual(['C:\\src\\dictumal', CLI_SWITCH, '--'])
  })
})

describe('launcherScript', () => {
  it('writes a batch file on Windows that quotes the path, escapes % and passes the exit code on', () => {
    const { fileName, content } = launcherScript('win32', { executable: 'C:\\Users\\Ann 100%\\Dictumal.exe', args: [CLI_SWITCH, '--'] })
    expect(fileName).toBe('dictumal.cmd')
    expect(content).toBe(`@echo off\r\nrem ${LAUNCHER_MARK}\r\n"C:\\Users\\Ann 100%%\\Dictumal.exe" "${CLI_SWITCH}" "--" %*\r\nexit /b %ERRORLEVEL%\r\n`)
    expect(() => launcherScript('win32', { executable: 'C:\\a"b\\D.exe', args: [] })).toThrow(/double quote/)
  })
})

describe('installLauncher (real files, real sh)', () => {
  /** A stand-in for the app binary: prints each argument on its own line and exits 3. */
  async function fakeApp(dir: string): Promise<string> {
    const exe = join(dir, "Dicту'mal app")
    await writeFile(exe, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\nexit 3\n', { mode: 0o755 })
    return exe
  }

  it('puts a launcher in a folder on PATH that runs the app in CLI mode with every argument intact', async () => {
    const home = await tempDir()
    const bin = join(home, '.local', 'bin')
    await mkdir(bin, { recursive: true })
    const exe = await fakeApp(home)
    const result = await installLauncher(linuxApp(exe), { platform: 'linux', env: { PATH: `/usr/bin:${bin}` }, homedir: home })
    expect(result).toMatchObject({ file: join(bin, 'dictumal'), onPath: true })
    expect(result.message).toBe(`Installed ${join(bin, 'dictumal')}: open a new terminal and run "dictumal help".`)
    expect((await stat(result.file)).mode & 0o777).toBe(0o755)

    const outcome = await run(result.file, ['deploy', '--name', 'two words', "it's", '$HOME', '--']).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    )
    expect(outcome.code).toBe(3)
    const argv = outcome.stdout.split('\n').slice(0, -1)
    expect(argv).toEqual(['--ozone-platform=headless', '--disable-gpu', CLI_SWITCH, '--', 'deploy', '--name', 'two words', "it's", '$HOME', '--'])
    expect(cliModeArgs([exe, ...argv])).toEqual(['deploy', '--name', 'two words', "it's", '$HOME', '--'])
  })

  it('creates ~/.local/bin when no candidate is on PATH and says what to add to PATH', async () => {
    const home = await tempDir()
    const exe = await fakeApp(home)
    const result = await installLauncher(linuxApp(exe), { platform: 'linux', env: { PATH: '/usr/bin' }, homedir: home })
    expect(result.onPath).toBe(false)
    expect(result.file).toBe(join(home, '.local', 'bin', 'dictumal'))
    expect(result.message).toContain(`export PATH="${join(home, '.local', 'bin')}:$PATH"`)
    expect(await readFile(result.file, 'utf8')).toContain(LAUNCHER_MARK)
  })

  it('replaces its own launcher but never a dictumal it did not write', async () => {
    const home = await tempDir()
    const bin = join(home, '.local', 'bin')
    await mkdir(bin, { recursive: true })
    const place = { platform: 'linux' as const, env: { PATH: bin }, homedir: home }
    await installLauncher(linuxApp('/old/dictumal'), place)
    const again = await installLauncher(linuxApp('/opt/Dictumal/dictumal'), place)
    expect(await readFile(again.file, 'utf8')).toContain("'/opt/Dictumal/dictumal'")

    const foreign = '#!/usr/bin/env node\nrequire("npm-installed")\n'
    await writeFile(again.file, foreign)
    await expect(installLauncher(linuxApp('/opt/Dictumal/dictumal'), place)).rejects.toThrow(/already exists and was not installed by Dictumal/)
    expect(await readFile(again.file, 'utf8')).toBe(foreign)
  })
})

describe('chooseFolder', () => {
  it('prefers a writable folder on PATH (macOS: /usr/local/bin, else a home folder)', async () => {
    const place = { platform: 'darwin' as const, env: { PATH: '/usr/local/bin:/Users/a/.local/bin:/usr/bin' }, homedir: '/Users/a' }
    expect(await chooseFolder(place, { writable: async () => true })).toEqual({ dir: '/usr/local/bin', onPath: true })
    expect(await chooseFolder(place, { writable: async (d) => d !== '/usr/local/bin' })).toEqual({ dir: '/Users/a/.local/bin', onPath: true })
    expect(await chooseFolder({ ...place, env: { PATH: '/usr/bin' } }, { writable: async () => true })).toEqual({ dir: '/Users/a/.local/bin', onPath: false })
  })

  it('uses WindowsApps on Windows, which is on the user PATH, comparing paths case-insensitively', async () => {
    const env = { LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local', Path: 'C:\\Windows;c:\\users\\A\\appdata\\local\\microsoft\\windowsapps' }
    expect(await chooseFolder({ platform: 'win32', env, homedir: 'C:\\Users\\a' }, { writable: async () => true })).toEqual({
      dir: 'C:\\Users\\a\\AppData\\Local\\Microsoft\\WindowsApps',
      onPath: true,
    })
    expect(await chooseFolder({ platform: 'win32', env: { ...env, Path: 'C:\\Windows' }, homedir: 'C:\\Users\\a' }, { writable: async () => true })).toEqual({
      dir: 'C:\\Users\\a\\AppData\\Local\\Programs\\Dictumal\\bin',
      onPath: false,
    })
  })
})

describe('installLauncher failures', () => {
  it('says which file it could not write, in one sentence', async () => {
    const home = await tempDir()
    // ~/.local is a file here, so ~/.local/bin cannot be made (for root too).
    await writeFile(join(home, '.local'), 'not a folder')
    const bin = join(home, '.local', 'bin')
    await expect(installLauncher(linuxApp('/opt/Dictumal/dictumal'), { platform: 'linux', env: { PATH: '/usr/bin' }, homedir: home })).rejects.toThrow(
      `Dictumal could not write ${join(bin, 'dictumal')} (ENOTDIR): check that you may write to ${bin}.`,
    )
  })
})
