// Starts @stoplight/prism-cli as a validating proxy on loopback and stops it again. Prism takes ~9 s
// and ~360 MB to start, so a test run starts at most one (see global-setup.ts).
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

export interface PrismProcess {
  url: string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function startPrism(options: { repoRoot: string; specPath: string; upstream: string; startupTimeoutMs?: number }): Promise<PrismProcess> {
  const port = await freePort()
  const cli = join(options.repoRoot, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js')
  // Run it on this very Node rather than whatever `node` is first on PATH.
  const child: ChildProcess = spawn(process.execPath, [cli, 'proxy', '-h', '127.0.0.1', '-p', String(port), options.specPath, options.upstream], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`Prism did not start within ${options.startupTimeoutMs ?? 60_000} ms:\n${output.slice(-2000)}`))
    }, options.startupTimeoutMs ?? 60_000)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8')
      if (output.includes('Prism is listening')) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`Prism exited with code ${String(code)} before listening:\n${output.slice(-2000)}`))
    })
  })
  // Keep draining its log so a chatty Prism never blocks on a full pipe.
  child.stdout?.resume()
  child.stderr?.resume()
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve()
          return
        }
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
