// The packaged app as the `dictumal` command: a launcher (main/core/cli-launcher.ts) starts the app
// binary with --dictumal-cli, and this runs the same CLI as `npm i -g` gives, with no window, tray or
// single-instance lock, then exits with the CLI's code. ELECTRON_RUN_AS_NODE is fused off, so this
// is how the installed app's CLI runs.
import { app } from 'electron'
import { runCli } from './cli/run'

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()))
}

export async function runCliMode(args: string[]): Promise<void> {
  // macOS would otherwise show a Dock icon for the length of the command.
  app.dock?.hide()
  let code = 1
  try {
    code = await runCli(args, {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
      stdin: process.stdin,
    })
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  }
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
  app.exit(code)
}
