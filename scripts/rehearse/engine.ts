// The real engine's side of the rehearsal: the built `dictumal` CLI, a private Secret Service (so the
// rehearsal never touches anyone's keyring), and the fake DigitalOcean, whose droplet address is the
// machine's 192.0.2.2 and whose "create" hands the user data to the harness.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { CLI_PATH, REPO_ROOT, runCli, startCli, type CliHandle, type CliResult } from '../../test/cli-helpers'
import { startFakeDigitalOcean, type FakeDigitalOcean, type FakeDroplet } from '../../test/fakes/fake-digitalocean'
import { run } from './host'
import { MACHINE_ADDRESS } from './machine'

/** Builds out/main/cli.js from the current sources (a stale build would rehearse old recipe code). */
export async function buildCli(): Promise<void> {
  if (process.env.DICTUMAL_REHEARSAL_SKIP_BUILD === '1' && existsSync(CLI_PATH)) return
  await run('npx', ['electron-vite', 'build', '--logLevel', 'warn'], { cwd: REPO_ROOT, timeoutMs: 5 * 60_000 })
  if (!existsSync(CLI_PATH)) throw new Error(`electron-vite build did not produce ${CLI_PATH}.`)
}

/**
 * The rehearsal's own unlocked gnome-keyring: run.sh starts it on a private session bus
 * (dbus-run-session) with its files in a temporary folder, so it never sees anyone's real keyring and
 * ends with that bus.
 */
export class PrivateKeyring {
  private constructor(readonly env: NodeJS.ProcessEnv) {}

  static async start(): Promise<PrivateKeyring> {
    if (process.env.DICTUMAL_REHEARSAL_PRIVATE_BUS !== '1' || !process.env.DBUS_SESSION_BUS_ADDRESS) {
      throw new Error('The rehearsal needs the private session bus and keyring that npm run rehearse starts.')
    }
    const env = { ...process.env }
    const r = await run('secret-tool', ['lookup', 'service', 'dictumal-rehearsal-probe', 'account', 'x'], { env, allowFailure: true, timeoutMs: 10_000 })
    if (r.stderr.trim() !== '') throw new Error(`The rehearsal's keyring does not answer: ${r.stderr.trim()}`)
    return new PrivateKeyring(env)
  }

  async lookup(service: string, account: string): Promise<string | null> {
    const r = await run('secret-tool', ['lookup', 'service', service, 'account', account], { env: this.env, allowFailure: true })
    return r.code === 0 && r.stdout !== '' ? r.stdout : null
  }

  close(): void {
    // The keyring ends with run.sh's session bus.
  }
}

export interface CreatedDroplet {
  droplet: FakeDroplet
  userData: string
}

/** The fake DigitalOcean for the rehearsal: every droplet gets the machine's address; creates go to `onCreate`. */
export async function startRehearsalCloud(onCreate: (created: CreatedDroplet) => void): Promise<FakeDigitalOcean> {
  return startFakeDigitalOcean({
    token: `dop_v1_${randomBytes(32).toString('hex')}`,
    activeAfterMs: 2_000,
    allocateIp: () => MACHINE_ADDRESS,
    allowRehearsalNetwork: true,
    // The fake waits for this before answering the create; booting happens in the background.
    onDropletCreated: (droplet, userData) => {
      onCreate({ droplet, userData })
    },
  })
}

/** Runs the CLI with a data folder, the private keyring and the fake API; nothing from the caller's shell leaks in. */
export class Cli {
  readonly service = `Dictumal-rehearsal-${process.pid}-${randomBytes(4).toString('hex')}`
  constructor(
    private readonly keyring: PrivateKeyring,
    private readonly apiUrl: string,
    readonly dataDir: string,
  ) {}

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const k = this.keyring.env
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: 'C.UTF-8',
      DBUS_SESSION_BUS_ADDRESS: k.DBUS_SESSION_BUS_ADDRESS,
      XDG_RUNTIME_DIR: k.XDG_RUNTIME_DIR,
      DICTUMAL_DATA_DIR: this.dataDir,
      DIGITALOCEAN_API_URL: this.apiUrl,
      DICTUMAL_KEYCHAIN_SERVICE: this.service,
      ...extra,
    }
  }

  run(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
    return runCli(args, { env: this.env(), input: options.input, timeoutMs: options.timeoutMs ?? 60_000 })
  }

  start(args: string[], timeoutMs: number): CliHandle {
    return startCli(args, { env: this.env(), timeoutMs })
  }

  async secrets(deploymentId: string): Promise<{ vncPassword: string; guacamoleKey: string; userPassword: string; logKey?: string }> {
    const raw = await this.keyring.lookup(this.service, `deployment:${deploymentId}`)
    if (raw === null) throw new Error(`The keychain has no entry deployment:${deploymentId}.`)
    return JSON.parse(raw) as { vncPassword: string; guacamoleKey: string; userPassword: string; logKey?: string }
  }
}

export function describeCli(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-4000)}`
}
