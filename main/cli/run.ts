// Parses the command line and dispatches to commands. Exit codes: 0 ok, 1 failure, 2 usage error.
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: NodeJS.ProcessEnv
}

const USAGE = `Usage: dictumal <command> [options]

Commands:
  --version            print the version
  help                 show this help
`

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(USAGE)
    return command === undefined ? 2 : 0
  }
  if (command === '--version') {
    io.stdout('dictumal 0.1.0\n')
    return 0
  }
  io.stderr(`Unknown command "${command}". Run "dictumal help" for the list.\n`)
  return 2
}
