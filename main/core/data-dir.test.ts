import { mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ensureDataDir, resolveDataDir, type DataDirInput } from './data-dir'

const cases: Array<[string, DataDirInput, string]> = [
  ['macOS default', { env: {}, platform: 'darwin', homedir: '/Users/ada' }, '/Users/ada/Library/Application Support/Dictumal'],
  ['Windows %APPDATA%', { env: { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, platform: 'win32', homedir: 'C:\\Users\\ada' }, 'C:\\Users\\ada\\AppData\\Roaming\\Dictumal'],
  ['Windows without APPDATA', { env: {}, platform: 'win32', homedir: 'C:\\Users\\ada' }, 'C:\\Users\\ada\\AppData\\Roaming\\Dictumal'],
  ['Linux default', { env: {}, platform: 'linux', homedir: '/home/ada' }, '/home/ada/.config/Dictumal'],
  ['Linux XDG_CONFIG_HOME', { env: { XDG_CONFIG_HOME: '/xdg' }, platform: 'linux', homedir: '/home/ada' }, '/xdg/Dictumal'],
  ['Linux relative XDG_CONFIG_HOME is ignored', { env: { XDG_CONFIG_HOME: 'rel' }, platform: 'linux', homedir: '/home/ada' }, '/home/ada/.config/Dictumal'],
  ['Linux empty XDG_CONFIG_HOME is ignored', { env: { XDG_CONFIG_HOME: '' }, platform: 'linux', homedir: '/home/ada' }, '/home/ada/.config/Dictumal'],
  ['FreeBSD follows XDG', { env: {}, platform: 'freebsd', homedir: '/home/ada' }, '/home/ada/.config/Dictumal'],
  ['DICTUMAL_DATA_DIR wins', { env: { DICTUMAL_DATA_DIR: '/data/d', XDG_CONFIG_HOME: '/xdg' }, platform: 'linux', homedir: '/home/ada', appDataDir: '/app' }, '/data/d'],
  ['DICTUMAL_DATA_DIR on Windows', { env: { DICTUMAL_DATA_DIR: 'D:\\dict' }, platform: 'win32', homedir: 'C:\\Users\\ada' }, 'D:\\dict'],
  ['blank DICTUMAL_DATA_DIR is ignored', { env: { DICTUMAL_DATA_DIR: '  ' }, platform: 'linux', homedir: '/home/ada' }, '/home/ada/.config/Dictumal'],
  ['relative DICTUMAL_DATA_DIR against cwd', { env: { DICTUMAL_DATA_DIR: 'state' }, platform: 'linux', homedir: '/home/ada', cwd: '/work' }, '/work/state'],
  ['Electron appData given', { env: {}, platform: 'darwin', homedir: '/Users/ada', appDataDir: '/Users/ada/Library/Application Support' }, '/Users/ada/Library/Application Support/Dictumal'],
]

describe('resolveDataDir', () => {
  it.each(cases)('%s', (_name, input, expected) => {
    expect(resolveDataDir(input)).toBe(expected)
  })
})

describe('ensureDataDir', () => {
  it.skipIf(process.platform === 'win32')('creates nested folders owner-only (0700)', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'dictumal-dd-'))
    const dir = path.join(root, 'a', 'Dictumal')
    await ensureDataDir(dir)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    await ensureDataDir(dir) // idempotent
  })
})
