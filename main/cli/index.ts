// The headless `dictumal` command: same core and data as the app, no Electron.
import { runCli } from './run'

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
})
