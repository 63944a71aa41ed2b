// Proves the layering rules in eslint.config.js bite: each forbidden arrow is linted as if it sat in
// the folder it would break, and must fail; the allowed forms must pass.
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const eslint = new ESLint({ cwd: process.cwd() })

async function restrictedImportErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message)
}

describe('layering lint', () => {
  it.each([
    ['main/core/fixture.ts', "import { app } from 'electron'\nexport const x = app\n", /never import electron/],
    ['main/cli/fixture.ts', "import { app } from 'electron'\nexport const x = app\n", /never import electron/],
    ['renderer/src/fixture.tsx', "import { readFileSync } from 'node:fs'\nexport const x = readFileSync\n", /no Node built-ins/],
    ['renderer/src/fixture.tsx', "import { readFileSync } from 'fs'\nexport const x = readFileSync\n", /no Node built-ins/],
    ['renderer/src/fixture.tsx', "import { shell } from 'electron'\nexport const x = shell\n", /only through window.dictumal/],
    ['renderer/src/fixture.tsx', "import { log } from '../../main/core/log'\nexport const x = log\n", /main-process code/],
    ['renderer/src/fixture.tsx', "import { ipcTransport } from '../../preload/ipc'\nexport const x = ipcTransport\n", /only the contract/],
    ['main/fixture.ts', "import { ipcMain } from 'electron'\nexport const x = ipcMain\n", /typed wrappers/],
    ['preload/fixture.ts', "import { ipcRenderer, shell } from 'electron'\nexport const x = [ipcRenderer, shell]\n", /only contextBridge and ipcRenderer/],
    ['preload/index.ts', "import { ipcRenderer } from 'electron'\nexport const x = ipcRenderer\n", /Only preload\/ipc.ts/],
    ['main/fixture.ts', "declare const win: { webContents: { send(c: string): void } }\nwin.webContents.send('x')\n", /send\(\) wrapper/],
  ])('%s: a forbidden import fails lint', async (filePath, code, message) => {
    const errors = await restrictedImportErrors(filePath, code)
    expect(errors.join('\n')).toMatch(message)
  })

  it.each([
    ['main/core/fixture.ts', "import { readFileSync } from 'node:fs'\nimport type { Deployment } from '../../preload/contract'\nexport const x: [typeof readFileSync, Deployment | null] = [readFileSync, null]\n"],
    ['renderer/src/fixture.tsx', "import type { Deployment } from '../../preload/contract'\nexport const x: Deployment | null = null\n"],
    ['main/ipc.ts', "import { ipcMain } from 'electron'\nexport const x = ipcMain\n"],
    ['preload/ipc.ts', "import { ipcRenderer } from 'electron'\nexport const x = ipcRenderer\n"],
  ])('%s: an allowed import passes', async (filePath, code) => {
    expect(await restrictedImportErrors(filePath, code)).toEqual([])
  })
})
