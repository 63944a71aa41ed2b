// The `dictumal` command (SPEC §7): the same engine and data as the app, for scripts and servers.
// Exit codes: 0 ok, 1 failure, 2 usage error. Errors are one sentence on stderr; --json prints one
// JSON object per line. Secrets and launch tokens are never printed except the launch URL asked for.
import { homedir } from 'node:os'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import type { Deployment } from '../../preload/contract'
import { createAppServices, type AppServices } from '../core/app-services'
import { resolveDataDir } from '../core/data-dir'
import { resolveTokenSource } from '../core/digitalocean'
import { constitutionFitError } from '../core/recipe'
import { log, setLogSink } from '../core/log'
import { KeytarSecrets, type Secrets } from '../core/secrets'
import { createConstitution, findConstitution } from '../core/store'
import { AppError, isExpected, toUserError } from '../core/user-error'
import { explainDropletLimit } from '../core/droplet-usage'
import { IMAGE_USAGE, imageCommand, reconcileImages } from './image-commands'
import { readBodyFile } from './body-file'
import { inline, terminalSafeWriters } from './terminal-text'
import { HIBERNATE_USAGE, hibernateCommand, hibernationUnsettled, watchOutcome } from './hibernate-commands'
import { LOG_USAGE, logCommand } from './log-command'

export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: NodeJS.ProcessEnv
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean }
  /** Tests pass an in-memory keychain; the real command always uses the OS keychain. */
  secrets?: Secrets
}

export const VERSION = '0.1.0'

const USAGE = `Usage: dictumal <command> [options]

Commands:
  login [--token-stdin]            validate a DigitalOcean token and store it in the keychain
  logout                           remove the stored token
  constitution add --name NAME [--body-file FILE]
  constitution list [--json]
  deploy --constitution ID|NAME [--region R] [--size S] [--ssh-keys K1,K2 | --no-ssh-keys] [--wait] [--json] [--fresh]
                                   from the newest desktop image in R, or --fresh: a full install
  list [--json]                    all deployments
  status ID [--watch] [--json]     one deployment (ID may be any unique prefix)
  launch-url ID [--target ip]      print a fresh launch URL (valid 5 minutes; treat it as a secret)
  destroy ID [--yes]               delete the droplet and its secrets; keep the record as DESTROYED
${LOG_USAGE.trimEnd()}
  reconcile [--json]               compare local records with droplets tagged dictumal
  doctor                           check the keychain, token, API and data folder
${IMAGE_USAGE.trimEnd()}
${HIBERNATE_USAGE.trimEnd()}
  help | --version
`

class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message)
}

type Flags = Record<string, string | boolean | undefined>

function parse(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, maxPositionals: number): { flags: Flags; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    if (positionals.length > maxPositionals) usage(`Unexpected argument "${positionals[maxPositionals]}".`)
    return { flags: values as Flags, positionals }
  } catch (error) {
    if (error instanceof UsageError) throw error
    usage(error instanceof Error ? error.message.replace(/\. To specify.*$/, '.') : 'Invalid arguments.')
  }
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name]
  return typeof v === 'string' ? v : undefined
}

function percent(n: number): string {
  return `${String(n).padStart(3)}%`
}

export function humanLine(d: Deployment): string {
  const parts = [d.id.slice(0, 8), d.name, d.status, d.stage, percent(d.percent), d.ip ?? '-', d.region, d.size]
  const line = parts.map(inline).join('  ')
  return d.error ? `${line}\n  ${inline(d.error)}` : line
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
  return text
}

/** Asks on the terminal; with `hidden`, typed characters are not echoed (for the token). */
function ask(io: CliIo, question: string, hidden = false): Promise<string> {
  const input = io.stdin ?? process.stdin
  return new Promise((resolve) => {
    const rl = createInterface({ input, output: process.stderr, terminal: true })
    const writer = rl as unknown as { _writeToOutput?: (s: string) => void }
    if (hidden) writer._writeToOutput = (s: string) => process.stderr.write(s.includes(question) ? question : '')
    rl.question(question, (answer) => {
      rl.close()
      if (hidden) process.stderr.write('\n')
      resolve(answer)
    })
  })
}

export async function runCli(argv: string[], rawIo: CliIo): Promise<number> {
  // Everything printed passes here: no text from the data file or DigitalOcean can drive the terminal.
  const io = terminalSafeWriters(rawIo)
  // Logs go to stderr only on request, so stdout stays clean for --json.
  setLogSink((line) => {
    if (io.env.DICTUMAL_LOG_LEVEL === 'debug') io.stderr(`${line}\n`)
  })
  const [command, ...rest] = argv
  let services: AppServices | null = null
  const open = async (): Promise<AppServices> => {
    const dataDir = resolveDataDir({ env: io.env, platform: process.platform, homedir: homedir(), cwd: process.cwd() })
    const service = io.env.DICTUMAL_KEYCHAIN_SERVICE
    services = await createAppServices({
      dataDir,
      env: io.env,
      info: { name: 'Dictumal', version: VERSION, platform: process.platform, dataDir },
      secrets: io.secrets ?? new KeytarSecrets(service ? { service } : {}),
    })
    if (services.store.recovered) io.stderr(`${services.store.recovered.userMessage}\n`)
    return services
  }
  try {
    switch (command) {
      case undefined:
        io.stderr(USAGE)
        return 2
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE)
        return 0
      case '--version':
        io.stdout(`dictumal ${VERSION}\n`)
        return 0
      case 'login':
        return await login(rest, io, await open())
      case 'logout': {
        parse(rest, {}, 0)
        const s = await open()
        const removed = await s.secrets.deleteToken()
        io.stdout(removed ? 'Removed the DigitalOcean token from the keychain.\n' : 'No DigitalOcean token was stored.\n')
        if (io.env.DIGITALOCEAN_API_TOKEN) io.stdout('DIGITALOCEAN_API_TOKEN is still set in this environment and will still be used.\n')
        return 0
      }
      case 'constitution':
        return await constitution(rest, io, open)
      case 'deploy':
        return await deploy(rest, io, await open())
      case 'list': {
        const { flags } = parse(rest, { json: { type: 'boolean' } }, 0)
        const s = await open()
        for (const d of s.engine.list()) io.stdout(flags.json ? `${JSON.stringify(d)}\n` : `${humanLine(d)}\n`)
        return 0
      }
      case 'status':
        return await status(rest, io, await open())
      case 'launch-url': {
        const { flags, positionals } = parse(rest, { target: { type: 'string' } }, 1)
        const target = str(flags, 'target')
        if (target !== undefined && target !== 'ip') usage('--target takes only "ip".')
        const [id] = positionals
        if (!id) usage('launch-url needs a deployment ID.')
        const s = await open()
        io.stdout(`${await s.engine.launchUrl(id, target === 'ip' ? { target: 'ip' } : {})}\n`)
        return 0
      }
      case 'destroy':
        return await destroy(rest, io, await open())
      case 'log':
        return await logCommand(rest, io, open, parse, usage)
      case 'reconcile': {
        const { flags } = parse(rest, { json: { type: 'boolean' } }, 0)
        const s = await open()
        const findings = await s.engine.reconcile()
        for (const f of findings) {
          io.stdout(flags.json ? `${JSON.stringify(f)}\n` : `${f.kind.padEnd(20)} ${inline(f.name)}  ${inline(f.deploymentId?.slice(0, 8) ?? '-')}  droplet ${f.dropletId ?? '-'}\n`)
        }
        if (!flags.json && findings.length === 0) io.stdout('Everything matches: no deployment in progress, nothing deleted elsewhere, no unmanaged droplets.\n')
        // Like the app, reconcile keeps driving what it resumed until each one settles.
        await settleAll(s, flags.json === true, io)
        // Image builds: resumed or cleaned up, so no builder droplet or half-made snapshot is left (SPEC §10).
        await reconcileImages(s, flags.json === true, io)
        return 0
      }
      case 'image':
        return await imageCommand(rest, io, open, parse, usage)
      case 'hibernate':
      case 'resume':
        return await hibernateCommand(command, rest, io, await open(), { parse, usage, humanLine })
      case 'doctor':
        parse(rest, {}, 0)
        return await doctor(io, await open())
      default:
        return usage(`Unknown command "${command}".`)
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message} Run "dictumal help" for usage.\n`)
      return 2
    }
    const problem = toUserError(error)
    if (!isExpected(error)) {
      log.error('cli', `${command ?? ''} failed unexpectedly`, error)
      problem.hint = problem.hint ?? 'Run the command again with DICTUMAL_LOG_LEVEL=debug to see the details.'
    }
    io.stderr(`${inline(problem.message)}\n${problem.hint ? `${inline(problem.hint)}\n` : ''}`)
    return 1
  } finally {
    const s = services as AppServices | null
    if (s) await s.close()
  }
}

async function login(argv: string[], io: CliIo, s: AppServices): Promise<number> {
  const { flags } = parse(argv, { 'token-stdin': { type: 'boolean' } }, 0)
  const stdin = io.stdin ?? process.stdin
  const raw = flags['token-stdin'] || !stdin.isTTY ? await readAll(stdin) : await ask(io, 'DigitalOcean token: ', true)
  const token = raw.trim()
  if (token === '') throw new AppError('token-empty', 'No token was given: paste a DigitalOcean personal access token.')
  const account = await s.validateToken(token)
  await s.secrets.setToken(token)
  io.stdout(`Logged in as ${account?.email === undefined ? 'your DigitalOcean account' : inline(account.email)}; the token is in the system keychain.\n`)
  if (io.env.DIGITALOCEAN_API_TOKEN) io.stdout('Note: DIGITALOCEAN_API_TOKEN is set and wins over the stored token while it is.\n')
  return 0
}

async function constitution(argv: string[], io: CliIo, open: () => Promise<AppServices>): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'list') {
    const { flags } = parse(rest, { json: { type: 'boolean' } }, 0)
    const s = await open()
    for (const c of s.store.read().constitutions) {
      io.stdout(flags.json ? `${JSON.stringify(c)}\n` : `${inline(c.id.slice(0, 8))}  ${inline(c.name)}\n`)
    }
    return 0
  }
  if (sub === 'add') {
    const { flags } = parse(rest, { name: { type: 'string' }, 'body-file': { type: 'string' }, json: { type: 'boolean' } }, 0)
    const name = str(flags, 'name')
    if (name === undefined) usage('constitution add needs --name NAME.')
    const file = str(flags, 'body-file')
    const body = file === undefined ? '' : await readBodyFile(file)
    // The same check and sentence as the app's editor: would it fit in the droplet's user data?
    const misfit = constitutionFitError({ name, body })
    if (misfit !== null) throw new AppError(misfit.code, misfit.message, misfit.hint)
    const s = await open()
    const result = await createConstitution(s.store, { name, body })
    if (!result.ok) throw new AppError(result.error.code, result.error.message, result.error.hint)
    io.stdout(flags.json ? `${JSON.stringify(result.value)}\n` : `Added constitution "${inline(result.value.name)}" (${result.value.id}).\n`)
    return 0
  }
  usage(sub === undefined ? 'constitution needs "add" or "list".' : `Unknown constitution command "${sub}".`)
}

/** Drives the engine until the deployment ends up ACTIVE (0) or ERROR/DESTROYED (1), printing each change. */
async function follow(s: AppServices, id: string, json: boolean, io: CliIo): Promise<number> {
  let last = ''
  const print = (d: Deployment): void => {
    const line = JSON.stringify(d)
    if (line === last) return
    last = line
    io.stdout(json ? `${line}\n` : `${humanLine(d)}\n`)
  }
  const outcome = watchOutcome
  const current = s.engine.find(id)
  print(current)
  const settled = outcome(current)
  if (settled !== null) return settled
  return new Promise<number>((resolve) => {
    const consider = (d: Deployment | undefined): void => {
      if (!d) return
      print(d)
      const code = outcome(d)
      if (code !== null) {
        off()
        resolve(code)
      }
    }
    const off = s.store.onChange((data) => consider(data.deployments.find((x) => x.id === id)))
    // Another process may have finished it between the first read and the subscription.
    consider(s.store.read().deployments.find((x) => x.id === id))
    s.engine.start()
  })
}

/** Runs the engine until no deployment is in progress, printing each settled one (humans only). */
async function settleAll(s: AppServices, json: boolean, io: CliIo): Promise<void> {
  const unsettled = (d: Deployment): boolean => d.status === 'PROVISIONING' || d.status === 'CONFIGURING' || hibernationUnsettled(d)
  const inProgress = (): Deployment[] => s.store.read().deployments.filter(unsettled)
  const waiting = new Set(inProgress().map((d) => d.id))
  if (waiting.size === 0) return
  if (!json) io.stdout(`Watching ${waiting.size} deployment(s) in progress until they settle…\n`)
  await new Promise<void>((resolve) => {
    const check = (): void => {
      for (const d of s.store.read().deployments) {
        if (waiting.has(d.id) && !unsettled(d)) {
          waiting.delete(d.id)
          if (!json) io.stdout(`${humanLine(d)}\n`)
        }
      }
      if (waiting.size === 0) {
        off()
        resolve()
      }
    }
    const off = s.store.onChange(check)
    check()
    s.engine.start()
  })
}

async function deploy(argv: string[], io: CliIo, s: AppServices): Promise<number> {
  const { flags } = parse(
    argv,
    {
      constitution: { type: 'string' },
      region: { type: 'string' },
      size: { type: 'string' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
      fresh: { type: 'boolean' },
      'ssh-keys': { type: 'string' },
      'no-ssh-keys': { type: 'boolean' },
    },
    0,
  )
  const ref = str(flags, 'constitution')
  if (ref === undefined) usage('deploy needs --constitution ID|NAME.')
  // This deploy's keys, as the app's deploy dialog chooses them; without either flag, Settings' keys
  // (or DIGITALOCEAN_SSH_KEYS). The engine checks each one and says which it would refuse.
  const keyList = str(flags, 'ssh-keys')
  if (keyList !== undefined && flags['no-ssh-keys'] === true) usage('Use either --ssh-keys or --no-ssh-keys, not both.')
  const sshKeys =
    flags['no-ssh-keys'] === true
      ? []
      : keyList === undefined
        ? undefined
        : keyList
            .split(',')
            .map((k) => k.trim())
            .filter((k) => k !== '')
  if (sshKeys !== undefined && keyList !== undefined && sshKeys.length === 0) usage('--ssh-keys needs key ids or fingerprints, comma-separated; --no-ssh-keys deploys without any.')
  const found = findConstitution(s.store.read(), ref)
  if (!found.ok) throw new AppError(found.error.code, found.error.message, found.error.hint)
  const settings = s.settings()
  const created = await s.engine.create({
    constitutionId: found.value.id,
    region: str(flags, 'region') ?? settings.defaultRegion,
    size: str(flags, 'size') ?? settings.defaultSize,
    fresh: flags.fresh === true,
    ...(sshKeys === undefined ? {} : { sshKeys }),
  }).catch(async (e: unknown) => Promise.reject(await explainDropletLimit(e, s.client)))
  if (!flags.wait) {
    io.stdout(flags.json ? `${JSON.stringify(created)}\n` : `${humanLine(created)}\nDeploying; follow it with: dictumal status ${created.id.slice(0, 8)} --watch\n`)
    return 0
  }
  return follow(s, created.id, flags.json === true, io)
}

async function status(argv: string[], io: CliIo, s: AppServices): Promise<number> {
  const { flags, positionals } = parse(argv, { watch: { type: 'boolean' }, json: { type: 'boolean' } }, 1)
  const [id] = positionals
  if (!id) usage('status needs a deployment ID.')
  const d = s.engine.find(id)
  if (flags.watch) return follow(s, d.id, flags.json === true, io)
  io.stdout(flags.json ? `${JSON.stringify(d)}\n` : `${humanLine(d)}\n`)
  return 0
}

async function destroy(argv: string[], io: CliIo, s: AppServices): Promise<number> {
  const { flags, positionals } = parse(argv, { yes: { type: 'boolean' } }, 1)
  const [id] = positionals
  if (!id) usage('destroy needs a deployment ID.')
  const d = s.engine.find(id)
  if (!flags.yes) {
    const stdin = io.stdin ?? process.stdin
    if (!stdin.isTTY) usage('destroy asks for confirmation; pass --yes when not running in a terminal.')
    const answer = await ask(io, `Destroy "${inline(d.name)}" (${inline(d.id.slice(0, 8))}) and delete its droplet? [y/N] `)
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stdout('Nothing was destroyed.\n')
      return 1
    }
  }
  const destroyed = await s.engine.destroy(d.id)
  io.stdout(`Destroyed "${inline(destroyed.name)}"; its droplet is deleted and its secrets removed from the keychain.\n`)
  return 0
}

async function doctor(io: CliIo, s: AppServices): Promise<number> {
  let failures = 0
  const line = (ok: boolean, text: string): void => {
    if (!ok) failures += 1
    io.stdout(`${ok ? 'ok  ' : 'FAIL'}  ${inline(text)}\n`)
  }
  line(true, `data folder ${s.info.dataDir} (${s.store.read().deployments.length} deployments, ${s.store.read().constitutions.length} constitutions)`)
  const keychain = await s.secrets.check()
  line(keychain.ok, keychain.ok ? 'system keychain is available' : keychain.error.message)
  const source = await resolveTokenSource({ env: io.env, readKeychainToken: async () => (keychain.ok ? s.secrets.getToken() : null) })
  if (source.token === null) {
    line(false, 'no DigitalOcean token: run "dictumal login" or set DIGITALOCEAN_API_TOKEN')
  } else {
    line(true, `DigitalOcean token from ${source.source === 'env' ? 'DIGITALOCEAN_API_TOKEN' : 'the keychain'}`)
    const auth = await s.authStatus({ refresh: true })
    line(auth.account !== null, auth.account ? `DigitalOcean API reachable; account ${auth.account.email} (droplet limit ${auth.account.dropletLimit})` : (auth.problem?.message ?? 'DigitalOcean API not reachable'))
  }
  return failures === 0 ? 0 : 1
}
