import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import react from '@vitejs/plugin-react'
import { devContentSecurityPolicy } from './main/core/dev-server'

/**
 * `npm run dev` only: Vite's client, React Refresh's inline preamble, injected <style> tags and the
 * HMR socket need a looser CSP than the app ships with. Builds keep index.html's policy untouched.
 */
export function devCsp(): Plugin {
  return {
    name: 'dictumal-dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) =>
      html.replace(/(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")/, (_all, open: string, policy: string, close: string) => `${open}${devContentSecurityPolicy(policy)}${close}`),
  }
}

// Three builds: the Electron main process (plus the headless CLI, which shares main/core),
// a CommonJS preload for the sandbox, and the React renderer.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve(import.meta.dirname, 'main/index.ts'),
          cli: resolve(import.meta.dirname, 'main/cli/index.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(import.meta.dirname, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'renderer',
    plugins: [react(), devCsp()],
    build: {
      outDir: 'out/renderer',
      minify: true,
      rollupOptions: { input: { index: resolve(import.meta.dirname, 'renderer/index.html') } },
    },
  },
})
