// `dictumal hibernate ID` and `dictumal resume ID` (SPEC §10), and what "settled" means for the CLI's
// waits once hibernation exists. Same conventions as the rest of the CLI: --json prints one bare record
// per line; exit 0 ok (HIBERNATED, or ACTIVE again), 1 failure; usage errors are thrown by the caller's parser.
import type { Deployment } from '../../preload/contract'
import type { AppServices } from '../core/app-services'
import { inline } from './terminal-text'

export interface HibernateCliIo {
  stdout(text: string): void
  stderr(text: string): void
}

type Flags = Record<string, string | boolean | undefined>
type Parse = (argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, maxPositionals: number) => { flags: Flags; positionals: string[] }

export const HIBERNATE_USAGE = `  hibernate ID [--wait] [--json]   snapshot the desktop, then delete its droplet (exit 0 when HIBERNATED)
  resume ID [--wait] [--json]      a new droplet from the snapshot, same secrets (exit 0 when ACTIVE again)
`

/** Hibernation work a waiting CLI must still drive: a hibernation, a resume's clean-up, a destroy's leftovers. */
export function hibernationUnsettled(d: Deployment): boolean {
  if (d.status === 'HIBERNATING') return true
  if (d.status === 'DESTROYED') return d.hibernation !== null || d.snapshotId !== null
  return d.hibernation?.op === 'resume'
}

/** For `status --watch` and `deploy --wait`: 0 ACTIVE or HIBERNATED and settled, 1 ERROR or DESTROYED, null while moving. */
export function watchOutcome(d: Deployment): number | null {
  if (hibernationUnsettled(d)) return null
  if (d.status === 'ACTIVE' || d.status === 'HIBERNATED') return 0
  if (d.status === 'ERROR' || d.status === 'DESTROYED') return 1
  return null
}

function hibernateOutcome(d: Deployment): number | null {
  if (d.status === 'HIBERNATING') return null
  return d.status === 'HIBERNATED' ? 0 : 1
}

function resumeOutcome(d: Deployment): number | null {
  if (hibernationUnsettled(d)) return null
  if (d.status === 'ACTIVE') return 0
  return d.status === 'PROVISIONING' || d.status === 'CONFIGURING' ? null : 1
}

/** Drives the engine (and so hibernation) until `outcome` settles, printing the record on every change. */
function follow(s: AppServices, id: string, outcome: (d: Deployment) => number | null, json: boolean, io: HibernateCliIo, line: (d: Deployment) => string): Promise<number> {
  let last = ''
  const print = (d: Deployment): void => {
    const text = JSON.stringify(d)
    if (text === last) return
    last = text
    io.stdout(json ? `${text}\n` : `${line(d)}\n`)
  }
  return new Promise<number>((resolve) => {
    let done = false
    const consider = (d: Deployment | undefined): void => {
      if (!d || done) return
      print(d)
      const code = outcome(d)
      if (code !== null) {
        done = true
        off()
        resolve(code)
      }
    }
    const off = s.store.onChange((data) => consider(data.deployments.find((x) => x.id === id)))
    consider(s.store.read().deployments.find((x) => x.id === id))
    if (!done) s.engine.start()
  })
}

export async function hibernateCommand(
  kind: 'hibernate' | 'resume',
  argv: string[],
  io: HibernateCliIo,
  s: AppServices,
  tools: { parse: Parse; usage: (message: string) => never; humanLine: (d: Deployment) => string },
): Promise<number> {
  const { flags, positionals } = tools.parse(argv, { wait: { type: 'boolean' }, json: { type: 'boolean' } }, 1)
  const [id] = positionals
  if (!id) tools.usage(`${kind} needs a deployment ID.`)
  const json = flags.json === true
  const record = kind === 'hibernate' ? await s.hibernation.hibernate(id) : await s.hibernation.resume(id)
  if (!flags.wait) {
    if (json) io.stdout(`${JSON.stringify(record)}\n`)
    else {
      const doing = kind === 'hibernate' ? 'Hibernating' : 'Resuming'
      io.stdout(`${tools.humanLine(record)}\n${doing}; follow it with: dictumal status ${inline(record.id.slice(0, 8))} --watch\n`)
    }
    // Like deploy without --wait: the steps are stored, and whichever Dictumal runs next (the app,
    // `status ID --watch`, `reconcile`) takes them over from here.
    return 0
  }
  const code = await follow(s, record.id, kind === 'hibernate' ? hibernateOutcome : resumeOutcome, json, io, tools.humanLine)
  if (!json) {
    const d = s.store.read().deployments.find((x) => x.id === record.id)
    if (code === 0 && d) io.stdout(kind === 'hibernate' ? `Hibernated "${inline(d.name)}": its droplet is deleted and only the snapshot is billed.\n` : `"${inline(d.name)}" is running again.\n`)
    else if (d?.error) io.stderr(`${inline(d.error)}\n`)
  }
  return code
}
