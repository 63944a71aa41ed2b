// `dictumal log ID`: the tail of a droplet's setup log (/var/log/dictumal-init.log), read the way the
// app reads it — over the pinned HTTPS with the deployment's log key from the keychain (issue 13).
// The text is already stripped of control characters by the engine; the CLI's writers escape anything
// left at the output boundary anyway.
import type { AppServices } from '../core/app-services'
import { SETUP_LOG_TAIL_BYTES } from '../core/setup-log-contract'

export interface LogCliIo {
  stdout(text: string): void
  stderr(text: string): void
}

type Flags = Record<string, string | boolean | undefined>
type Parse = (argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, maxPositionals: number) => { flags: Flags; positionals: string[] }

export const LOG_USAGE = `  log ID [--json]                  the end of the droplet's setup log (/var/log/dictumal-init.log)
`

export async function logCommand(argv: string[], io: LogCliIo, open: () => Promise<AppServices>, parse: Parse, usage: (message: string) => never): Promise<number> {
  const { flags, positionals } = parse(argv, { json: { type: 'boolean' } }, 1)
  const [id] = positionals
  if (!id) usage('log needs a deployment ID.')
  const s = await open()
  const tail = await s.engine.setupLog(id)
  if (flags.json) {
    io.stdout(`${JSON.stringify(tail)}\n`)
    return 0
  }
  if (tail.truncated) io.stderr(`(the last ${SETUP_LOG_TAIL_BYTES / 1024} KiB of the log; earlier lines are not shown)\n`)
  if (tail.text.trim() === '') {
    io.stderr('The setup log is empty so far: the droplet has not written anything yet.\n')
    return 0
  }
  io.stdout(tail.text.endsWith('\n') ? tail.text : `${tail.text}\n`)
  return 0
}
