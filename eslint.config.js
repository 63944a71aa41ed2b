// ESLint with the house's layering rules (STYLE.md): each folder may import only what the process it
// runs in can hold. A wrong arrow fails `npm run lint`; test/lint-layering.test.ts proves each rule bites.
import { builtinModules } from 'node:module'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]
const ipcPrimitives = {
  name: 'electron',
  importNames: ['ipcMain', 'ipcRenderer'],
  message: 'Only main/ipc.ts and preload/ipc.ts may touch ipcMain/ipcRenderer: use the typed wrappers.',
}
const rawSend = {
  selector: "CallExpression[callee.property.name='send'][callee.object.property.name='webContents']",
  message: 'Send events through the send() wrapper in main/ipc.ts, which checks isDestroyed().',
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.tools/**', 'artifacts/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-exports': ['error', { restrictDefaultExports: { direct: true, named: true, defaultFrom: true, namedFrom: true, namespaceFrom: true } }],
    },
  },
  {
    // Config files are loaded by their tools, which expect a default export.
    files: ['*.config.ts', '*.config.js', 'electron.vite.config.ts', 'eslint.config.js', 'playwright.config.ts'],
    rules: { 'no-restricted-exports': 'off' },
  },
  {
    files: ['main/**/*.ts', 'preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [ipcPrimitives] }],
      'no-restricted-syntax': ['error', rawSend],
    },
  },
  {
    files: ['main/core/**/*.ts', 'main/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'main/core and the CLI run in plain Node: never import electron here.' }],
          patterns: [{ group: ['**/renderer/**', 'electron/*'], message: 'main/core may not import the renderer or electron.' }],
        },
      ],
    },
  },
  {
    files: ['preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', allowImportNames: ['contextBridge', 'ipcRenderer'], message: 'The sandboxed preload may use only contextBridge and ipcRenderer.' },
            ...nodeBuiltins.map((name) => ({ name, message: 'The sandboxed preload has no Node built-ins.' })),
          ],
          patterns: [{ group: ['**/main/**', '**/renderer/**'], message: 'The preload may import only the contract and its own modules.' }],
        },
      ],
    },
  },
  {
    files: ['preload/contract.ts', 'preload/api.ts', 'preload/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', allowImportNames: ['contextBridge'], message: 'Only preload/ipc.ts may use ipcRenderer.' },
            ...nodeBuiltins.map((name) => ({ name, message: 'The sandboxed preload has no Node built-ins.' })),
          ],
          patterns: [{ group: ['**/main/**', '**/renderer/**'], message: 'The preload may import only the contract and its own modules.' }],
        },
      ],
    },
  },
  {
    files: ['main/ipc.ts'],
    rules: { 'no-restricted-imports': 'off', 'no-restricted-syntax': 'off' },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'The renderer talks to main only through window.dictumal.' },
            ...nodeBuiltins.map((name) => ({ name, message: 'The renderer runs in Chromium: no Node built-ins.' })),
          ],
          patterns: [
            { group: ['**/main/**', 'electron/*'], message: 'The renderer may not import main-process code.' },
            { group: ['**/preload/*', '!**/preload/contract'], message: 'The renderer may import only the contract from preload/.' },
          ],
        },
      ],
    },
  },
)
