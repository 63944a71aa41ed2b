// Small host helpers for the boot rehearsal: bounded commands, prerequisites, the apt mirror this
// machine already uses. Everything here runs as root on Linux; nothing touches the host network.
import { execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface CommandOptions {
  timeoutMs?: number
  input?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean
}

/** Runs a command with a hard time limit (SIGKILL after it), and throws one clear sentence when it fails. */
export function run(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 60_000
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`${command} could not be started: ${e.message}`))
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      const result = { code, stdout, stderr }
      if (timedOut) reject(new Error(`${command} ${args.slice(0, 3).join(' ')} did not finish within ${timeoutMs / 1000} s.\n${tail(stderr || stdout)}`))
      else if (code !== 0 && options.allowFailure !== true)
        reject(new Error(`${command} ${args.slice(0, 3).join(' ')} failed with exit code ${code}.\n${tail(stderr || stdout)}`))
      else resolve(result)
    })
  })
}

export function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

export function which(tool: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])
  return dirs.some((dir) => dir !== '' && existsSync(join(dir, tool)))
}

/** The tools the rehearsal needs, and the Debian package that brings each (CI installs them). */
export const REQUIRED_TOOLS: Record<string, string> = {
  debootstrap: 'debootstrap',
  'systemd-nspawn': 'systemd-container',
  'dpkg-scanpackages': 'dpkg-dev',
  'dpkg-deb': 'dpkg',
  ip: 'iproute2',
  nsenter: 'util-linux',
  openssl: 'openssl',
  python3: 'python3',
  'dbus-daemon': 'dbus',
  'gnome-keyring-daemon': 'gnome-keyring',
  'secret-tool': 'libsecret-tools',
}

/** Null when the rehearsal can run here, else one sentence saying why not. */
export function missingPrerequisite(): string | null {
  if (process.platform !== 'linux') return `the boot rehearsal needs Linux (this is ${process.platform}).`
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the boot rehearsal needs root (it makes a network namespace and boots a container): run it with sudo or as root.'
  }
  const missing = Object.entries(REQUIRED_TOOLS).filter(([tool]) => !which(tool))
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ')
    return `the boot rehearsal needs ${missing.map(([tool]) => tool).join(', ')}: apt-get install ${packages}.`
  }
  if (!existsSync('/sys/fs/cgroup')) return 'the boot rehearsal needs /sys/fs/cgroup to boot systemd in a container.'
  return null
}

export interface Mirrors {
  /** The Debian archive (for bookworm and bookworm-updates). */
  debian: string
  /** The security archive, when this machine uses one. */
  security: string | null
}

/** The Debian mirrors this machine's apt already uses (deb822 .sources and one-line .list files). */
export function hostMirrors(): Mirrors {
  const files: string[] = []
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list')
  const dir = '/etc/apt/sources.list.d'
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name))
  }
  const entries: Array<{ uri: string; suites: string[] }> = []
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string): string => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim() ?? ''
        if (!/\bdeb\b/.test(field('Types')) || /^no$/i.test(field('Enabled'))) continue
        const suites = field('Suites').split(/\s+/)
        for (const uri of field('URIs').split(/\s+/)) if (uri !== '') entries.push({ uri, suites })
      }
    } else {
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line)
        if (m) entries.push({ uri: m[1]!, suites: [m[2]!] })
      }
    }
  }
  const debian = entries.find((e) => e.suites.includes('bookworm'))?.uri
  if (debian === undefined) throw new Error('No Debian 12 (bookworm) apt source is configured on this machine, so the rehearsal image cannot be built.')
  const security = entries.find((e) => e.suites.includes('bookworm-security'))?.uri ?? null
  return { debian: debian.replace(/\/$/, ''), security: security?.replace(/\/$/, '') ?? null }
}

export function execFileText(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(stdout)))
  })
}
